package filter

import (
	"fmt"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// RGBABytesPerPixel is the size of one RGBA8888 pixel: R, G, B and A, one byte each, in that
// order in memory (frei0r's F0R_COLOR_MODEL_RGBA8888 on little-endian machines; ffmpeg's
// AV_PIX_FMT_RGBA).
const RGBABytesPerPixel = 4

// FromRGBA makes dst an rgb24 copy of the w x h RGBA8888 image src (rows top to bottom, 4*w
// bytes each, no padding), dropping alpha and reusing dst.Pix when it is large enough. dst.Seq
// is left as it is. It returns an error when the size is invalid or src is too short.
func FromRGBA(dst *rawvideo.Frame, src []byte, w, h int) error {
	n, err := rawvideo.FrameSize(w, h)
	if err != nil {
		return err
	}
	if len(src) < RGBABytesPerPixel*w*h {
		return fmt.Errorf("RGBA image %dx%d: %d bytes, want %d", w, h, len(src), RGBABytesPerPixel*w*h)
	}
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	dst.Width, dst.Height, dst.Stride = w, h, w*rawvideo.BytesPerPixel
	d, s := dst.Pix, src[:RGBABytesPerPixel*w*h]
	for i, j := 0, 0; j < len(s); i, j = i+3, j+4 {
		d[i], d[i+1], d[i+2] = s[j], s[j+1], s[j+2]
	}
	return nil
}

// ToRGBA writes the rgb24 frame f into the RGBA8888 image dst (4*f.Width bytes a row, no
// padding), taking each pixel's alpha byte from the same pixel of alpha, an RGBA8888 image of
// the same size (usually the frame that came in; dst itself keeps its own alpha). It returns an
// error when dst or alpha is too short or f is malformed.
func ToRGBA(dst []byte, f *rawvideo.Frame, alpha []byte) error {
	n := RGBABytesPerPixel * f.Width * f.Height
	if f.Width <= 0 || f.Height <= 0 || f.Stride < 3*f.Width || len(f.Pix) < (f.Height-1)*f.Stride+3*f.Width {
		return fmt.Errorf("frame %d: malformed rgb24 frame %dx%d (stride %d, %d bytes)", f.Seq, f.Width, f.Height, f.Stride, len(f.Pix))
	}
	if len(dst) < n || len(alpha) < n {
		return fmt.Errorf("RGBA image %dx%d: %d and %d bytes, want %d", f.Width, f.Height, len(dst), len(alpha), n)
	}
	for y := 0; y < f.Height; y++ {
		row := f.Pix[y*f.Stride : y*f.Stride+3*f.Width]
		d := dst[y*4*f.Width : (y+1)*4*f.Width]
		a := alpha[y*4*f.Width : (y+1)*4*f.Width]
		for i, j := 0, 0; i < len(row); i, j = i+3, j+4 {
			d[j], d[j+1], d[j+2], d[j+3] = row[i], row[i+1], row[i+2], a[j+3]
		}
	}
	return nil
}
