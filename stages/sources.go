package stages

import (
	"io"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Limit returns a Source that ends (io.EOF) after the first n frames of src: ffmpeg's -t on a
// constant-rate stream, with n from rawvideo.Ratio.FramesBelow. n <= 0 ends at once.
func Limit(src Source, n int64) Source { return &limitSource{src: src, left: n} }

type limitSource struct {
	src  Source
	left int64
}

func (l *limitSource) Read(f *rawvideo.Frame) error {
	if l.left <= 0 {
		return io.EOF
	}
	err := l.src.Read(f)
	if err == nil {
		l.left--
	}
	return err
}

// Until returns a Source that ends the stream (io.EOF) once done is closed: before the next
// read, or when a read in progress fails because whatever closed done interrupted it (meshpipe
// closes its input on a signal). Reads before that are src's.
func Until(src Source, done <-chan struct{}) Source { return &untilSource{src: src, done: done} }

type untilSource struct {
	src  Source
	done <-chan struct{}
}

func (s *untilSource) Read(f *rawvideo.Frame) error {
	select {
	case <-s.done:
		return io.EOF
	default:
	}
	err := s.src.Read(f)
	if err != nil {
		select {
		case <-s.done:
			return io.EOF
		default:
		}
	}
	return err
}
