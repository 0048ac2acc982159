package stages

import (
	"errors"
	"io"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Source gives frames in stream order. Read fills f (reusing f.Pix) and sets f.Seq; it returns
// io.EOF at a clean end of the stream. rawvideo.Reader is a Source.
type Source interface {
	Read(f *rawvideo.Frame) error
}

// read is the graph's first stage: it takes a free job, reads the next frame of src into it and
// sends it to out, in order, until src ends, a stage fails or the graph is cancelled; then it
// closes out. io.EOF is a clean end (nil); any other read error comes back as a *StageError
// naming the frame (for a truncated frame, the frame whose bytes ran out).
func (g *graph) read(src Source, free <-chan *job, out chan<- *job) error {
	defer close(out)
	for {
		var j *job
		select {
		case j = <-free:
		case <-g.ctx.Done():
			return nil
		}
		if g.failed() {
			return nil
		}
		t0 := g.rec.now()
		err := guard(func() error { return src.Read(j.frame) })
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			seq := j.frame.Seq
			var te *rawvideo.TruncatedError
			if errors.As(err, &te) {
				seq = te.Frame
			}
			return &StageError{Stage: "read", Frame: seq, Err: err}
		}
		g.rec.record(StageRead, t0)
		j.readAt, j.dets, j.people, j.err = t0, j.dets[:0], j.people[:0], nil
		if !g.send(out, j) {
			return nil
		}
	}
}
