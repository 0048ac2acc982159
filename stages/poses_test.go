package stages

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/meshpipe/meshpipe/internal/fakes"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// brokenSink takes frames until frame failAt, whose write fails.
type brokenSink struct{ failAt, written int64 }

func (s *brokenSink) Write(f *rawvideo.Frame) error {
	if f.Seq == s.failAt {
		return errors.New("broken pipe")
	}
	s.written++
	return nil
}

// The pose writer sees every frame once, in order, with its own people, just after it is
// written; its failure stops the graph after that frame, and a frame whose write fails gets
// no record: one record per frame written.
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
	if err == nil || err.Error() != "poses: frame 50: disk full" || len(sink.frames) != 51 || len(rec.Frames) != 50 {
		t.Fatalf("err = %v after %d frames and %d records, want poses: frame 50: disk full after 51 frames and 50 records", err, len(sink.frames), len(rec.Frames))
	}

	rec = fakes.NewPoses()
	fs := &brokenSink{failAt: 30}
	_, err = Run(context.Background(), Config{Detector: peopleDetector(), Pose: pose, Renderers: rs, Poses: rec},
		&stampedSource{n: 120, out: &out}, fs)
	if err == nil || err.Error() != "write: frame 30: broken pipe" || fs.written != 30 || len(rec.Frames) != 30 {
		t.Fatalf("err = %v after %d frames and %d records, want write: frame 30: broken pipe after 30 of each", err, fs.written, len(rec.Frames))
	}
}
