package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Sink takes the output frames in order. rawvideo.Writer is a Sink.
type Sink interface {
	Write(f *rawvideo.Frame) error
}

// PoseWriter records the people of each frame (the -poses JSONL of package poses). It is
// called from one goroutine, in frame order, just after each frame is written, so that it
// records exactly the frames written, whatever fails.
type PoseWriter interface {
	WritePoses(f *rawvideo.Frame, people []human.Person) error
}

// writer is the graph's last stage: it takes the jobs in sequence order from reorder.
type writer struct {
	g     *graph
	dst   Sink
	poses PoseWriter // may be nil
	free  chan<- *job
	stats *Stats
}

// write writes j's frame to dst, counts it, records its people (poses) and gives the job back
// to the reader. A job that failed earlier returns its error instead: every frame before it
// has been written by then.
func (w *writer) write(j *job) error {
	if j.err != nil {
		return j.err
	}
	t0 := w.g.rec.now()
	if err := w.dst.Write(j.frame); err != nil {
		return &StageError{Stage: "write", Frame: j.frame.Seq, Err: err}
	}
	w.g.rec.record(StageWrite, t0)
	w.g.rec.wrote(j.readAt, len(j.people))
	w.stats.Frames++
	w.stats.People += int64(len(j.people))
	if err := writePoses(w.poses, j); err != nil {
		return err
	}
	w.free <- j
	return nil
}

// writePoses records j's people with p, when p is not nil; its failure comes back as a
// *StageError of the stage "poses".
func writePoses(p PoseWriter, j *job) error {
	if p == nil {
		return nil
	}
	if err := p.WritePoses(j.frame, j.people); err != nil {
		return &StageError{Stage: "poses", Frame: j.frame.Seq, Err: err}
	}
	return nil
}
