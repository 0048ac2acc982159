package stages

import (
	"errors"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

type countPoses struct {
	frames []int64
	err    error
}

func (c *countPoses) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	c.frames = append(c.frames, f.Seq)
	return c.err
}

// TeePoses gives every frame to each writer in order, stops at the first error, and leaves out
// nil writers.
func TestTeePoses(t *testing.T) {
	if TeePoses(nil, nil) != nil {
		t.Error("no writers: want nil")
	}
	a := &countPoses{}
	if w := TeePoses(nil, a); w != PoseWriter(a) {
		t.Error("one writer: want that writer")
	}
	b, c := &countPoses{err: errors.New("full")}, &countPoses{}
	w := TeePoses(a, b, c)
	err := w.WritePoses(&rawvideo.Frame{Seq: 4}, nil)
	if err == nil || err.Error() != "full" || len(a.frames) != 1 || len(b.frames) != 1 || len(c.frames) != 0 {
		t.Fatalf("error %v; frames %v %v %v", err, a.frames, b.frames, c.frames)
	}
}
