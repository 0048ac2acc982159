package rawvideo

import (
	"errors"
	"fmt"
	"io"
)

// Reader reads fixed-size rgb24 frames from a byte stream, such as ffmpeg's
// `-f rawvideo -pix_fmt rgb24 -` output.
type Reader struct {
	r      io.Reader
	width  int
	height int
	size   int
	next   int64
}

// NewReader returns a Reader of w x h rgb24 frames from r. It returns an error for a size that
// FrameSize rejects.
func NewReader(r io.Reader, w, h int) (*Reader, error) {
	n, err := FrameSize(w, h)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, width: w, height: h, size: n}, nil
}

// TruncatedError reports a stream that ended inside a frame: Got of Want bytes of frame
// Frame arrived. All frames before it were whole.
type TruncatedError struct {
	Frame     int64
	Got, Want int
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("frame %d is truncated: the input ended after %d of its %d bytes", e.Frame, e.Got, e.Want)
}

// Read fills f with the next frame, reusing f.Pix when it is large enough, and sets f.Seq to
// the frame's index (0 for the first). It returns io.EOF when the stream ends cleanly between
// frames, a *TruncatedError when it ends inside a frame, and any other read error wrapped with
// the frame index.
func (r *Reader) Read(f *Frame) error {
	if cap(f.Pix) < r.size {
		f.Pix = make([]byte, r.size)
	}
	f.Pix = f.Pix[:r.size]
	f.Width, f.Height, f.Stride, f.Seq = r.width, r.height, r.width*BytesPerPixel, r.next
	n, err := io.ReadFull(r.r, f.Pix)
	switch {
	case err == nil:
		r.next++
		return nil
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &TruncatedError{Frame: r.next, Got: n, Want: r.size}
	default:
		return fmt.Errorf("reading frame %d: %w", r.next, err)
	}
}

// Writer writes rgb24 frames to a byte stream, such as ffmpeg's `-f rawvideo -pix_fmt rgb24 -i -`.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes the Height rows of f, Width*3 bytes each, without padding. Errors are wrapped
// with the frame's Seq.
func (w *Writer) Write(f *Frame) error {
	row := f.Width * BytesPerPixel
	var err error
	if f.Stride == row {
		_, err = w.w.Write(f.Pix[:row*f.Height])
	} else {
		for y := 0; y < f.Height && err == nil; y++ {
			_, err = w.w.Write(f.Pix[y*f.Stride : y*f.Stride+row])
		}
	}
	if err != nil {
		return fmt.Errorf("writing frame %d: %w", f.Seq, err)
	}
	return nil
}
