// Package rawvideo reads and writes uncompressed video: the byte streams that ffmpeg's
// rawvideo format carries in the pix_fmts rgb24, bgr24, rgba, bgra, gray and yuv420p, and
// YUV4MPEG2 streams (ffmpeg's yuv4mpegpipe) in 4:2:0 and mono. Every frame is handed to the
// rest of meshpipe as an rgb24 Frame. It is pure Go, with no cgo.
package rawvideo

import (
	"fmt"
	"time"
)

// BytesPerPixel is the size of one rgb24 pixel: R, G and B, one byte each (ffmpeg's rgb24
// pix_fmt, AV_PIX_FMT_RGB24).
const BytesPerPixel = 3

// MaxFrameBytes caps the size of one frame at 256 MiB, both in its stream's pix_fmt and as an
// rgb24 Frame (W*H*3 bytes). That is far above 8K (7680x4320 rgb24 is 99.5 MB); larger sizes
// are almost surely a mistyped -s flag or a corrupt header.
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
	// Captured is when a live source (stages.Live) captured the frame: the wall clock just
	// after the camera handed it over. It is the zero time for frames read from a stream.
	// Sinks use it to time a frame from capture to output.
	Captured time.Time

	// src is what a Reader kept of the frame as it came in another pix_fmt; a Writer uses it
	// to give back exactly the pixels no stage changed.
	src origin
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
	if w > MaxFrameBytes || h > MaxFrameBytes {
		// Either side alone is over the limit, and w*h*3 could overflow an int64.
		return 0, fmt.Errorf("frame size %dx%d: over the %d-byte limit of a frame", w, h, MaxFrameBytes)
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

// CopyFrom makes f a copy of src, including what a Reader kept of the frame as read,
// reusing f's buffers when they are large enough.
func (f *Frame) CopyFrom(src *Frame) {
	f.Seq, f.Width, f.Height, f.Stride, f.Captured = src.Seq, src.Width, src.Height, src.Stride, src.Captured
	f.Pix = resize(f.Pix, len(src.Pix))
	copy(f.Pix, src.Pix)
	f.src.fmt, f.src.w, f.src.h = src.src.fmt, src.src.w, src.src.h
	f.src.raw = resize(f.src.raw, len(src.src.raw))
	copy(f.src.raw, src.src.raw)
	if src.src.rgb == nil {
		f.src.rgb = f.src.rgb[:0]
	} else {
		f.src.rgb = resize(f.src.rgb, len(src.src.rgb))
		copy(f.src.rgb, src.src.rgb)
	}
}

// resize returns b with length n, reusing its array when it is large enough.
func resize(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
