package models

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Defaults of BackgroundSubtractor, tuned on vtest.avi (OpenCV's sample: 768x576, 10 fps, a
// fixed camera over a square where people walk, 40-110 px tall) against yolox_nano's person
// boxes; see bgsub_test.go for the figures.
const (
	// DefaultBackgroundScale is the default downscale factor, each side.
	DefaultBackgroundScale = 4
	// DefaultBackgroundThreshold is the default foreground threshold, in grey levels (0..255) of
	// the largest per-channel difference from the background. On vtest.avi 24 let compression
	// noise join neighbours into one blob; 32 and 40 did equally well.
	DefaultBackgroundThreshold = 32
	// DefaultBackgroundWarmup is the default number of frames of fast learning (6 s at 10 fps).
	// With 30 frames and a first step of 16, people standing in the first frames left ghosts
	// (precision against YOLOX 0.84 on frames 50-99, 0.97 with these defaults).
	DefaultBackgroundWarmup = 60
	// DefaultBackgroundWarmupStep is the default largest background change per frame, in grey
	// levels, on the first frame; it falls linearly to DefaultBackgroundStep over the warm-up.
	DefaultBackgroundWarmupStep = 8
	// DefaultBackgroundStep is the default largest background change per frame after the warm-up,
	// in grey levels: at 10 fps something still for ten seconds changes the background by up to
	// 50 levels.
	DefaultBackgroundStep = 0.5
	// DefaultBackgroundCloseX is the default half-width of the morphological close, in
	// downscaled pixels. It is 0 because any horizontal closing merged people walking near each
	// other on vtest.avi (recall of YOLOX's people fell from 0.96 to 0.82 with 1).
	DefaultBackgroundCloseX = 0
	// DefaultBackgroundCloseY is the default half-height of the morphological close, in
	// downscaled pixels: a vertical close (3x1 blocks) joins a head to its body and legs.
	DefaultBackgroundCloseY = 1
	// DefaultBackgroundMinHeight is the default smallest box height, as a fraction of the frame
	// height (0.05 of 576 rows is about 29 px).
	DefaultBackgroundMinHeight = 0.05
	// DefaultBackgroundMinArea is the default smallest box area, as a fraction of the frame area
	// (0.002 of 768x576 is about 885 square px, a 20x44 box).
	DefaultBackgroundMinArea = 0.002
	// DefaultBackgroundMaxAspect is the default largest width/height ratio of a box: people are
	// taller than wide, with slack for two walking side by side.
	DefaultBackgroundMaxAspect = 1.2
)

// BackgroundSubtractor is a weight-free person Detector for fixed cameras. It keeps a background
// image, downscaled by Scale and per RGB channel, that steps towards each new frame by at most a
// few grey levels (an approximate running median, quick during the warm-up, slow after). Pixels
// where some channel differs from the background by more than Threshold are foreground; the
// mask is closed (dilated, then eroded, by a (2*CloseX+1) x (2*CloseY+1) rectangle), split into
// 8-connected blobs, and each blob whose box is tall, large and narrow enough becomes
// a Detection. Its score is the fill ratio (foreground pixels / box pixels, in (0, 1]).
//
// The model is built from the frames it sees, so Detect must be called on every frame in frame
// order from one goroutine; it finds nothing in the first frame, and little before the warm-up
// is over. A frame of another size, or a change of Scale, resets the model. The other fields may
// be changed between frames. The zero value is not usable: use NewBackgroundSubtractor.
type BackgroundSubtractor struct {
	// Scale is the downscale factor each side, 1..255: the model works on blocks of Scale x Scale
	// frame pixels.
	Scale int
	// Threshold is the foreground threshold, in grey levels (0..255): the largest per-channel
	// absolute difference from the background must exceed it.
	Threshold float32
	// Warmup is the number of frames over which the background step falls from WarmupStep to
	// Step, in grey levels a frame.
	Warmup int
	// WarmupStep is the largest background change per frame on the first frames, in grey levels.
	WarmupStep float32
	// Step is the largest background change per frame after the warm-up, in grey levels.
	Step float32
	// CloseX and CloseY are the half-width and half-height of the morphological close's
	// rectangle ((2*CloseX+1) x (2*CloseY+1)), in downscaled pixels; 0, 0 skips the close.
	CloseX, CloseY int
	// MinHeight is the smallest box height kept, as a fraction of the frame height.
	MinHeight float32
	// MinArea is the smallest box area kept, as a fraction of the frame area.
	MinArea float32
	// MaxAspect is the largest width/height ratio of a box kept.
	MaxAspect float32

	frames        int // frames seen since the last reset
	width, height int // frame size the model is for
	scale         int // Scale the model was built with
	cols, rows    int // downscaled size
	background    []float32
	current       []float32
	sums          []uint32
	mask, scratch []uint8
	stack         []int32
	blobs         []blob
	colPixels     []uint8 // frame pixels in each downscaled column (Scale, or fewer at the edge)
	rowPixels     []uint8 // the same for rows
}

// blob is one connected foreground region, in downscaled pixels (max inclusive).
type blob struct {
	minX, minY, maxX, maxY int
	pixels                 int
}

// NewBackgroundSubtractor returns a BackgroundSubtractor with the Default* settings.
func NewBackgroundSubtractor() *BackgroundSubtractor {
	return &BackgroundSubtractor{
		Scale:      DefaultBackgroundScale,
		Threshold:  DefaultBackgroundThreshold,
		Warmup:     DefaultBackgroundWarmup,
		WarmupStep: DefaultBackgroundWarmupStep,
		Step:       DefaultBackgroundStep,
		CloseX:     DefaultBackgroundCloseX,
		CloseY:     DefaultBackgroundCloseY,
		MinHeight:  DefaultBackgroundMinHeight,
		MinArea:    DefaultBackgroundMinArea,
		MaxAspect:  DefaultBackgroundMaxAspect,
	}
}

// Reset forgets the background: the next frame starts a new model and warm-up.
func (b *BackgroundSubtractor) Reset() { b.frames = 0 }

// LearnsEveryFrame reports true: the background model learns from every frame (Learner).
func (b *BackgroundSubtractor) LearnsEveryFrame() bool { return true }

// Detect updates the background with f (rgb24) and returns the people in it, best first, with
// boxes in frame pixels and TrackID 0. The returned slice belongs to the caller. Errors: a nil or
// malformed frame, or settings out of range (Scale outside 1..255; Warmup, CloseX, CloseY or a
// step negative; MaxAspect not positive).
func (b *BackgroundSubtractor) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if err := checkDetectorFrame(f); err != nil {
		return nil, fmt.Errorf("background subtractor: %w", err)
	}
	if b.frames == 0 || f.Width != b.width || f.Height != b.height || b.Scale != b.scale {
		b.resize(f.Width, f.Height)
	}
	b.downscale(f)
	if b.frames == 0 {
		copy(b.background, b.current)
		b.frames++
		return nil, nil
	}
	b.subtract()
	b.frames++
	if b.CloseX > 0 || b.CloseY > 0 {
		morph(b.mask, b.scratch, b.cols, b.rows, b.CloseX, b.CloseY, false)
		morph(b.mask, b.scratch, b.cols, b.rows, b.CloseX, b.CloseY, true)
	}
	b.label()
	return b.boxes(), nil
}

func (b *BackgroundSubtractor) check() error {
	switch {
	case b.Scale < 1 || b.Scale > 255:
		return fmt.Errorf("background subtractor: Scale %d is outside 1..255", b.Scale)
	case b.Warmup < 0:
		return fmt.Errorf("background subtractor: Warmup %d is negative", b.Warmup)
	case b.WarmupStep < 0 || b.Step < 0:
		return fmt.Errorf("background subtractor: steps %v, %v must not be negative", b.WarmupStep, b.Step)
	case b.CloseX < 0 || b.CloseY < 0:
		return fmt.Errorf("background subtractor: close size %d, %d must not be negative", b.CloseX, b.CloseY)
	case !(b.MaxAspect > 0):
		return errors.New("background subtractor: MaxAspect must be positive")
	}
	return nil
}

// resize (re)allocates the model for w x h frames and restarts it.
func (b *BackgroundSubtractor) resize(w, h int) {
	b.width, b.height, b.scale, b.frames = w, h, b.Scale, 0
	s := b.Scale
	b.cols, b.rows = (w+s-1)/s, (h+s-1)/s
	n := b.cols * b.rows
	b.background = slices.Grow(b.background[:0], 3*n)[:3*n]
	b.current = slices.Grow(b.current[:0], 3*n)[:3*n]
	b.sums = slices.Grow(b.sums[:0], 3*b.cols)[:3*b.cols]
	b.mask = slices.Grow(b.mask[:0], n)[:n]
	b.scratch = slices.Grow(b.scratch[:0], n)[:n]
	b.colPixels = blockSizes(b.colPixels[:0], w, s)
	b.rowPixels = blockSizes(b.rowPixels[:0], h, s)
}

// blockSizes appends how many of n pixels fall in each block of s: s, ..., s, then the rest.
func blockSizes(dst []uint8, n, s int) []uint8 {
	for i := 0; i < n; i += s {
		dst = append(dst, uint8(min(s, n-i)))
	}
	return dst
}

// downscale averages f over Scale x Scale blocks into b.current (R, G, B per downscaled pixel).
func (b *BackgroundSubtractor) downscale(f *rawvideo.Frame) {
	s := b.scale
	for sy := 0; sy < b.rows; sy++ {
		clear(b.sums)
		y0 := sy * s
		for y := y0; y < y0+int(b.rowPixels[sy]); y++ {
			row := f.Pix[y*f.Stride : y*f.Stride+3*f.Width]
			for x, i := 0, 0; x < f.Width; x, i = x+1, i+3 {
				j := 3 * (x / s)
				b.sums[j] += uint32(row[i])
				b.sums[j+1] += uint32(row[i+1])
				b.sums[j+2] += uint32(row[i+2])
			}
		}
		cur := b.current[3*sy*b.cols : 3*(sy+1)*b.cols]
		for sx := 0; sx < b.cols; sx++ {
			inv := 1 / float32(int(b.colPixels[sx])*int(b.rowPixels[sy]))
			j := 3 * sx
			cur[j] = float32(b.sums[j]) * inv
			cur[j+1] = float32(b.sums[j+1]) * inv
			cur[j+2] = float32(b.sums[j+2]) * inv
		}
	}
}

// subtract sets b.mask (1 = foreground) from b.current against the background, then steps the
// background towards b.current.
func (b *BackgroundSubtractor) subtract() {
	step := b.Step
	if n := b.frames - 1; n < b.Warmup {
		t := float32(n) / float32(b.Warmup)
		step = b.WarmupStep + t*(b.Step-b.WarmupStep)
	}
	th := b.Threshold
	for i := range b.mask {
		var fg uint8
		for c := 3 * i; c < 3*i+3; c++ {
			d := b.current[c] - b.background[c]
			if d > th || -d > th {
				fg = 1
			}
			b.background[c] += min(max(d, -step), step)
		}
		b.mask[i] = fg
	}
}

// morph dilates (erode false) or erodes (erode true) the cols x rows 0/1 mask in place with a
// (2r+1)-square structuring element, through scratch (same size). Outside the image counts as
// neither: the window is clipped, so an erosion does not eat objects touching the border.
func morph(mask, scratch []uint8, cols, rows, rx, ry int, erode bool) {
	// Horizontal pass: mask → scratch.
	for y := 0; y < rows; y++ {
		src := mask[y*cols : (y+1)*cols]
		dst := scratch[y*cols : (y+1)*cols]
		window1D(dst, src, 1, cols, rx, erode)
	}
	// Vertical pass: scratch → mask.
	for x := 0; x < cols; x++ {
		window1D(mask[x:], scratch[x:], cols, rows, ry, erode)
	}
}

// window1D sets dst[i*stride] for i in [0, n) to the max (or, when all, the min) of
// src[j*stride] over j in [i-r, i+r] clipped to [0, n), with a running count.
func window1D(dst, src []uint8, stride, n, r int, all bool) {
	count := 0
	for j := 0; j < min(r, n); j++ {
		count += int(src[j*stride])
	}
	for i := 0; i < n; i++ {
		if j := i + r; j < n {
			count += int(src[j*stride])
		}
		if j := i - r - 1; j >= 0 {
			count -= int(src[j*stride])
		}
		lo, hi := max(0, i-r), min(n-1, i+r)
		var v uint8
		if all {
			if count == hi-lo+1 {
				v = 1
			}
		} else if count > 0 {
			v = 1
		}
		dst[i*stride] = v
	}
}

// label finds the 8-connected blobs of b.mask into b.blobs, clearing the mask.
func (b *BackgroundSubtractor) label() {
	b.blobs = b.blobs[:0]
	cols, rows := b.cols, b.rows
	for start, v := range b.mask {
		if v == 0 {
			continue
		}
		c := blob{minX: start % cols, minY: start / cols, maxX: start % cols, maxY: start / cols}
		b.mask[start] = 0
		b.stack = append(b.stack[:0], int32(start))
		for len(b.stack) > 0 {
			p := int(b.stack[len(b.stack)-1])
			b.stack = b.stack[:len(b.stack)-1]
			x, y := p%cols, p/cols
			c.pixels++
			c.minX, c.maxX = min(c.minX, x), max(c.maxX, x)
			c.minY, c.maxY = min(c.minY, y), max(c.maxY, y)
			for dy := -1; dy <= 1; dy++ {
				ny := y + dy
				if ny < 0 || ny >= rows {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					nx := x + dx
					if nx < 0 || nx >= cols {
						continue
					}
					if q := ny*cols + nx; b.mask[q] != 0 {
						b.mask[q] = 0
						b.stack = append(b.stack, int32(q))
					}
				}
			}
		}
		b.blobs = append(b.blobs, c)
	}
}

// boxes turns the blobs that pass the size and shape filters into detections in frame
// pixels, best first.
func (b *BackgroundSubtractor) boxes() []human.Detection {
	s := float32(b.scale)
	fw, fh := float32(b.width), float32(b.height)
	var res []human.Detection
	for _, c := range b.blobs {
		box := human.Box{
			X1: float32(c.minX) * s, Y1: float32(c.minY) * s,
			X2: min(float32(c.maxX+1)*s, fw), Y2: min(float32(c.maxY+1)*s, fh),
		}
		if box.Height() < b.MinHeight*fh || box.Area() < b.MinArea*fw*fh || box.Width() > b.MaxAspect*box.Height() {
			continue
		}
		fill := float32(c.pixels) / float32((c.maxX-c.minX+1)*(c.maxY-c.minY+1))
		res = append(res, human.Detection{Box: box, Score: fill})
	}
	slices.SortStableFunc(res, func(p, q human.Detection) int { return cmp.Compare(q.Score, p.Score) })
	return res
}
