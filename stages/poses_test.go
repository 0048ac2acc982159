package stages

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

type recordPoses struct {
	frames []int64
	people []int
	failAt int64
}

func (r *recordPoses) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	if f.Seq == r.failAt {
		return errors.New("disk full")
	}
	r.frames = append(r.frames, f.Seq)
	r.people = append(r.people, len(people))
	return nil
}

// The pose writer sees every frame once, in order, with its own people, before it is written;
// its failure stops the graph at that frame.
func TestRunPoseWriter(t *testing.T) {
	var out atomic.Int64
	rec := &recordPoses{failAt: -1}
	_, pose, rs := newFakes(4)
	sink := &checkSink{t: t, out: &out}
	if _, err := Run(context.Background(), Config{Detector: peopleDetector{}, Pose: pose, Batch: 4, Renderers: rs, Poses: rec},
		&stampedSource{n: 120, out: &out}, sink); err != nil {
		t.Fatal(err)
	}
	for i, s := range rec.frames {
		if s != int64(i) || rec.people[i] != i%4 {
			t.Fatalf("pose record %d: frame %d with %d people; want frame %d with %d", i, s, rec.people[i], i, i%4)
		}
	}
	if len(rec.frames) != 120 {
		t.Fatalf("%d pose records, want 120", len(rec.frames))
	}

	out.Store(0)
	rec = &recordPoses{failAt: 50}
	sink = &checkSink{t: t, out: &out}
	_, err := Run(context.Background(), Config{Detector: peopleDetector{}, Pose: pose, Renderers: rs, Poses: rec},
		&stampedSource{n: 120, out: &out}, sink)
	if err == nil || err.Error() != "poses: frame 50: disk full" || len(sink.frames) != 50 {
		t.Fatalf("err = %v after %d frames, want poses: frame 50: disk full after 50", err, len(sink.frames))
	}
}
