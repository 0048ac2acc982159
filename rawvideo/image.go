package rawvideo

import (
	"errors"
	"fmt"
	"image"
)

// FromImage converts img, as a camera driver hands it over, into f as rgb24: f becomes
// img.Bounds().Dx() x Dy() pixels, pixel (0, 0) being img's Bounds().Min, and f.Pix is reused
// when it is large enough, so that converting frames of one size allocates nothing. f.Seq and
// f.Captured are left as they are; what a Reader kept of a frame read before is dropped.
//
// img may be:
//   - *image.YCbCr of any subsample ratio (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, 4:1:0), BT.601
//     (the matrix of convert.go), limited range (Y' 16..235, Cb and Cr 16..240, as V4L2's
//     YUYV, UYVY, NV12 and I420 cameras deliver) or, when full is set, full range (0..255,
//     as JPEG and so MJPEG cameras). Each pixel takes the Cb and Cr samples of its block, as
//     image.YCbCr.COffset locates them, without interpolation: the yuv420p -> rgb24 decoding
//     above, which matches ffmpeg's, extended to the other ratios.
//   - *image.Gray: R = G = B = the gray byte (full range, as the gray pix_fmt).
//
// It returns an error, naming the size, for an empty image, one over MaxFrameBytes, planes
// shorter than the image's bounds and strides need, or another image type.
func (f *Frame) FromImage(img image.Image, full bool) error {
	switch m := img.(type) {
	case *image.YCbCr:
		if m == nil {
			return errors.New("nil *image.YCbCr")
		}
		return f.fromYCbCr(m, full)
	case *image.Gray:
		if m == nil {
			return errors.New("nil *image.Gray")
		}
		return f.fromGray(m)
	case nil:
		return errors.New("no image")
	}
	return fmt.Errorf("%T images are not converted (want *image.YCbCr or *image.Gray)", img)
}

// setSize makes f an rgb24 frame of w x h, reusing f.Pix, and forgets what a Reader kept.
func (f *Frame) setSize(w, h int) error {
	n, err := FrameSize(w, h)
	if err != nil {
		return err
	}
	f.Width, f.Height, f.Stride = w, h, w*BytesPerPixel
	f.Pix = resize(f.Pix, n)
	f.src.fmt, f.src.w, f.src.h = 0, 0, 0
	f.src.rgb = f.src.rgb[:0]
	return nil
}

// chromaWidth returns how many pixels of a row share one chroma sample for a subsample
// ratio, as image.YCbCr defines them (which rows share one, COffset says).
func chromaWidth(r image.YCbCrSubsampleRatio) (hdiv int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
		return 1, true
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		return 2, true
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		return 4, true
	}
	return 0, false
}

func (f *Frame) fromYCbCr(m *image.YCbCr, full bool) error {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	hdiv, ok := chromaWidth(m.SubsampleRatio)
	if !ok {
		return fmt.Errorf("Y'CbCr frame %dx%d: unknown subsample ratio %v", w, h, m.SubsampleRatio)
	}
	if w <= 0 || h <= 0 {
		return fmt.Errorf("Y'CbCr frame %dx%d: empty", w, h)
	}
	// The last bytes the conversion reads, by image.YCbCr's YOffset and COffset.
	yEnd := m.YOffset(b.Max.X-1, b.Max.Y-1) + 1
	cEnd := m.COffset(b.Max.X-1, b.Max.Y-1) + 1
	switch {
	case m.YStride < w || yEnd > len(m.Y):
		return fmt.Errorf("Y'CbCr frame %dx%d: the Y plane has %d bytes with stride %d; the frame needs %d with stride %d or more",
			w, h, len(m.Y), m.YStride, yEnd, w)
	case m.CStride <= m.COffset(b.Max.X-1, b.Min.Y)-m.COffset(b.Min.X, b.Min.Y) || cEnd > len(m.Cb) || cEnd > len(m.Cr):
		return fmt.Errorf("Y'CbCr frame %dx%d (%v): the Cb and Cr planes have %d and %d bytes with stride %d; the frame needs %d each",
			w, h, m.SubsampleRatio, len(m.Cb), len(m.Cr), m.CStride, cEnd)
	}
	if err := f.setSize(w, h); err != nil {
		return err
	}
	t := matrix(full)
	for y := 0; y < h; y++ {
		yo := m.YOffset(b.Min.X, b.Min.Y+y)
		co := m.COffset(b.Min.X, b.Min.Y+y)
		yr := m.Y[yo : yo+w]
		d := f.Pix[y*f.Stride : y*f.Stride+w*BytesPerPixel]
		if b.Min.X < 0 {
			// x/hdiv rounds towards zero, so blocks around 0 are uneven: locate each pixel's
			// sample as COffset does.
			for x := range w {
				c := co + (b.Min.X+x)/hdiv - b.Min.X/hdiv
				ycc(t, d[3*x:3*x+3:3*x+3], yr[x], m.Cb[c], m.Cr[c])
			}
			continue
		}
		// Blocks start at multiples of hdiv; the first may be cut by Min.X.
		x, end := 0, min(w, hdiv-b.Min.X%hdiv)
		for c := co; x < w; c, end = c+1, min(w, end+hdiv) {
			u, v := m.Cb[c], m.Cr[c]
			rc, gc, bc := t.rv[v], t.gu[u]+t.gv[v], t.bu[u]
			for ; x < end; x++ {
				l := t.y[yr[x]]
				p := d[3*x : 3*x+3 : 3*x+3]
				p[0], p[1], p[2] = clamp8(l+rc), clamp8(l+gc), clamp8(l+bc)
			}
		}
	}
	return nil
}

// ycc converts one Y'CbCr pixel into p (R, G, B) with t.
func ycc(t *yuvMatrix, p []byte, y, u, v byte) {
	l := t.y[y]
	p[0], p[1], p[2] = clamp8(l+t.rv[v]), clamp8(l+t.gu[u]+t.gv[v]), clamp8(l+t.bu[u])
}

func (f *Frame) fromGray(m *image.Gray) error {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("gray frame %dx%d: empty", w, h)
	}
	if end := m.PixOffset(b.Max.X-1, b.Max.Y-1) + 1; m.Stride < w || end > len(m.Pix) {
		return fmt.Errorf("gray frame %dx%d: %d bytes with stride %d; the frame needs %d with stride %d or more",
			w, h, len(m.Pix), m.Stride, end, w)
	}
	if err := f.setSize(w, h); err != nil {
		return err
	}
	for y := 0; y < h; y++ {
		o := m.PixOffset(b.Min.X, b.Min.Y+y)
		d := f.Pix[y*f.Stride : (y+1)*f.Stride]
		for x, g := range m.Pix[o : o+w] {
			p := d[3*x : 3*x+3 : 3*x+3]
			p[0], p[1], p[2] = g, g, g
		}
	}
	return nil
}
