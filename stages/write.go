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
// called from one goroutine, in frame order, just before each frame is written.
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

// write records j's people (poses), writes its frame to dst, counts it and gives the job back
// to the reader. A job that failed earlier returns its error instead: every frame before it
// has been written by then.
func (w *writer) write(j *job) error {
	if j.err != nil {
		return j.err
	}
	if w.poses != nil {
		if err := w.poses.WritePoses(j.frame, j.people); err != nil {
			return &StageError{Stage: "poses", Frame: j.frame.Seq, Err: err}
		}
	}
	t0 := w.g.rec.now()
	if err := w.dst.Write(j.frame); err != nil {
		return &StageError{Stage: "write", Frame: j.frame.Seq, Err: err}
	}
	w.g.rec.record(StageWrite, t0)
	w.g.rec.wrote(j.readAt, len(j.people))
	w.stats.Frames++
	w.stats.People += int64(len(j.people))
	w.free <- j
	return nil
}
