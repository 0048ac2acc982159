package stages

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/meshpipe/meshpipe/internal/fakes"
)

// The pose writer sees every frame once, in order, with its own people, before it is written;
// its failure stops the graph at that frame.
func TestRunPoseWriter(t *testing.T) {
	var out atomic.Int64
	rec := fakes.NewPoses()
	_, pose, rs := newFakes(4)
	sink := &checkSink{t: t, out: &out}
	if _, err := Run(context.Background(), Config{Detector: peopleDetector(), Pose: pose, Batch: 4, Renderers: rs, Poses: rec},
		&stampedSource{n: 120, out: &out}, sink); err != nil {
		t.Fatal(err)
	}
	for i, s := range rec.Frames {
		if s != int64(i) || rec.People[i] != i%4 {
			t.Fatalf("pose record %d: frame %d with %d people; want frame %d with %d", i, s, rec.People[i], i, i%4)
		}
	}
	if len(rec.Frames) != 120 {
		t.Fatalf("%d pose records, want 120", len(rec.Frames))
	}

	out.Store(0)
	rec = fakes.NewPoses()
	rec.Fail = 50
	sink = &checkSink{t: t, out: &out}
	_, err := Run(context.Background(), Config{Detector: peopleDetector(), Pose: pose, Renderers: rs, Poses: rec},
		&stampedSource{n: 120, out: &out}, sink)
	if err == nil || err.Error() != "poses: frame 50: disk full" || len(sink.frames) != 50 {
		t.Fatalf("err = %v after %d frames, want poses: frame 50: disk full after 50", err, len(sink.frames))
	}
}
