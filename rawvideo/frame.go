// Package rawvideo reads and writes uncompressed video frames: the rgb24 byte streams that
// `ffmpeg -f rawvideo -pix_fmt rgb24` produces and consumes. It is pure Go, with no cgo.
package rawvideo

import "fmt"

// BytesPerPixel is the size of one rgb24 pixel: R, G and B, one byte each (ffmpeg's rgb24
// pix_fmt, AV_PIX_FMT_RGB24).
const BytesPerPixel = 3

// MaxFrameBytes caps the size of one frame (W*H*3 bytes) at 256 MiB, which is far above 8K
// (7680x4320 rgb24 is 99.5 MB); larger sizes are almost surely a mistyped -s flag.
const MaxFrameBytes = 256 << 20

// Frame is one rgb24 video frame. Pixel (x, y), with x right and y down from the top-left
// corner, has its red, green and blue bytes at Pix[y*Stride+3*x+0..2]. Rows are stored top
// to bottom, as ffmpeg writes them, with Stride = 3*Width and no padding.
type Frame struct {
	// Seq is the frame's index in the stream, counted from 0 in input order.
	Seq int64
	// Width and Height are the frame size in pixels.
	Width, Height int
	// Stride is the distance in bytes between the starts of two consecutive rows.
	Stride int
	// Pix holds Height*Stride bytes.
	Pix []byte
}

// NewFrame allocates a black frame of w x h pixels. It returns an error when either side is
// not positive or the frame would be larger than MaxFrameBytes.
func NewFrame(w, h int) (*Frame, error) {
	n, err := FrameSize(w, h)
	if err != nil {
		return nil, err
	}
	return &Frame{Width: w, Height: h, Stride: w * BytesPerPixel, Pix: make([]byte, n)}, nil
}

// FrameSize returns the number of bytes of one rgb24 frame of w x h pixels (w*h*3). It
// returns an error when either side is not positive or the size exceeds MaxFrameBytes.
func FrameSize(w, h int) (int, error) {
	if w <= 0 || h <= 0 {
		return 0, fmt.Errorf("frame size %dx%d: width and height must be positive", w, h)
	}
	if int64(w)*int64(h)*BytesPerPixel > MaxFrameBytes {
		return 0, fmt.Errorf("frame size %dx%d: %d bytes a frame is over the %d-byte limit",
			w, h, int64(w)*int64(h)*BytesPerPixel, MaxFrameBytes)
	}
	return w * h * BytesPerPixel, nil
}

// At returns the red, green and blue bytes of pixel (x, y). It panics when (x, y) is outside
// the frame, like a slice index.
func (f *Frame) At(x, y int) (r, g, b byte) {
	i := y*f.Stride + x*BytesPerPixel
	return f.Pix[i], f.Pix[i+1], f.Pix[i+2]
}

// CopyFrom makes f a copy of src, reusing f's pixel buffer when it is large enough.
func (f *Frame) CopyFrom(src *Frame) {
	f.Seq, f.Width, f.Height, f.Stride = src.Seq, src.Width, src.Height, src.Stride
	if cap(f.Pix) < len(src.Pix) {
		f.Pix = make([]byte, len(src.Pix))
	}
	f.Pix = f.Pix[:len(src.Pix)]
	copy(f.Pix, src.Pix)
}
