package models

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// YOLOX constants, from Megvii's YOLOX (github.com/Megvii-BaseDetection/YOLOX): its
// preprocessing (yolox/data/data_augment.py, preproc), its head (yolox/models/yolo_head.py) and
// its demo post-processing (yolox/utils/boxes.py, postprocess).
const (
	// YOLOXOutputName is the name of the model's output tensor, as Megvii's export_onnx.py names
	// it.
	YOLOXOutputName = "output"
	// YOLOXPadValue is the grey level (all three channels, 0..255) of the letterbox padding.
	YOLOXPadValue = 114
	// YOLOXRowLength is the length of one output row: x, y, w, h, objectness and the 80 COCO class
	// scores.
	YOLOXRowLength = 85
	// YOLOXPersonClass is the index of COCO's "person" among the 80 class scores.
	YOLOXPersonClass = 0
	// DefaultYOLOXThreshold is the default minimum person score (objectness x class score).
	DefaultYOLOXThreshold = 0.3
	// DefaultNMSIoU is the IoU above which non-maximum suppression drops the weaker of two boxes
	// (YOLOX's demo uses 0.45).
	DefaultNMSIoU = 0.45
)

// yoloxStrides are the strides, in input pixels, of YOLOX's three output grids (P3, P4, P5), in
// the order in which their cells appear in the output.
var yoloxStrides = [3]int{8, 16, 32}

// YOLOX is a person Detector over a YOLOX-style ONNX model (such as yolox_nano.onnx, see
// docs/design.md).
//
// Input: tensor "images", float32 [1,3,H,W] (416x416 for yolox_nano.onnx), channels in B, G, R
// order, values 0..255 with no normalisation. H and W are fixed by the model or, when it leaves
// them free (-1), chosen per frame size by InputSizeFor. A w x h frame is scaled by
// r = min(W/w, H/h) (bilinear) to int(w*r) x int(h*r) pixels, placed at the top-left corner,
// and the rest is padded with YOLOXPadValue.
//
// Output: tensor "output", float32 [1,N,85] with N = (W/8)(H/8) + (W/16)(H/16) + (W/32)(H/32)
// (3549 for 416x416): the cells of the stride-8 grid row-major, then those of stride 16, then
// stride 32.
// A row is (x, y, w, h, objectness, 80 class scores); the box centre is ((x+gx)*stride,
// (y+gy)*stride) and its size (exp(w)*stride, exp(h)*stride), in letterboxed input pixels, for
// the cell (gx, gy). Objectness and class scores are probabilities: Megvii's export applies the
// sigmoid inside the model (yolox_nano.onnx's scores lie in [0, 1]). The person score is
// objectness x class-0 score.
//
// A YOLOX reuses its buffers between calls: it is not safe for concurrent use. Detect may be
// called in any frame order.
type YOLOX struct {
	// Threshold is the minimum person score kept, in [0, 1]; DefaultYOLOXThreshold by default.
	Threshold float32
	// NMSIoU is the IoU above which non-maximum suppression drops the lower-scored of two
	// boxes; DefaultNMSIoU by default.
	NMSIoU float32

	runner Runner
	fixed  InputSize // the model's own input size; zero when free

	input []float32
	shape []int64 // the input shape, [1,3,H,W]
	cands []human.Detection

	// The input size and resize tables for the last frame size seen.
	size           InputSize
	frameW, frameH int
	ratio          float64
	resizedW       int
	resizedH       int
	xs             []resizeTap
	ys             []resizeTap
}

// resizeTap is one output coordinate's two source samples: indices i0, i1 (pixels) and the
// weight w of i1 (1-w for i0).
type resizeTap struct {
	i0, i1 int
	w      float32
}

// NewYOLOX returns a YOLOX detector that runs r, whose input size is size (416x416 for
// yolox_nano.onnx; the zero InputSize for a model that leaves it free; YOLOXInputSize reads it
// from the model's input spec). A fixed size must be a positive multiple of 32 (the coarsest
// stride) on each side and r must not be nil; Detect reports a bad value.
func NewYOLOX(r Runner, size InputSize) *YOLOX {
	return &YOLOX{Threshold: DefaultYOLOXThreshold, NMSIoU: DefaultNMSIoU, runner: r, fixed: size}
}

// YOLOXInputSize returns the input size of a YOLOX model from its input spec, which must be
// float32 [1,3,H,W] (or [-1,3,H,W]) with H and W positive multiples of 32, or both free (-1: the
// zero InputSize). The error names the tensor and the expected shape.
func YOLOXInputSize(in TensorSpec) (InputSize, error) {
	size, err := inputSizeOf(in)
	if err != nil {
		return InputSize{}, fmt.Errorf("YOLOX %w", err)
	}
	return size, nil
}

// CheckYOLOXContract checks a YOLOX-style detector's input and outputs, as ONNX Runtime
// describes them, before any frame is run, and returns the input size (zero when free). The
// input must be [1,3,H,W] (YOLOXInputSize); it is fed by position, so its name is not checked.
// The output called YOLOXOutputName, or the model's only output, must have rank 3 and the sizes
// [1,N,85] with N = (W/8)(H/8) + (W/16)(H/16) + (W/32)(H/32) where the model fixes them (a size
// it leaves dynamic, -1, is checked on every frame by Detect). The error names the model file
// (model), the tensor and what was expected.
func CheckYOLOXContract(model string, input TensorSpec, outputs []TensorSpec) (InputSize, error) {
	size, err := YOLOXInputSize(input)
	if err != nil {
		return InputSize{}, fmt.Errorf("detector %s: %w", model, err)
	}
	var out *TensorSpec
	names := make([]string, len(outputs))
	for i := range outputs {
		names[i] = outputs[i].Name
		if outputs[i].Name == YOLOXOutputName {
			out = &outputs[i]
		}
	}
	if out == nil && len(outputs) == 1 {
		out = &outputs[0]
	}
	if out == nil {
		return InputSize{}, fmt.Errorf("detector %s: no output %q among the model's outputs %v; a YOLOX-style detector has one, [1,N,%d]",
			model, YOLOXOutputName, names, YOLOXRowLength)
	}
	want := []int64{1, -1, YOLOXRowLength}
	if !size.Free() {
		want[1] = int64(yoloxCells(size))
	}
	ok := len(out.Shape) == 3
	for i := 0; ok && i < 3; i++ {
		ok = out.Shape[i] < 0 || want[i] < 0 || out.Shape[i] == want[i]
	}
	if !ok {
		return InputSize{}, fmt.Errorf("detector %s: output %v, want %s%v for a %s input (rows of x, y, w, h, objectness and 80 class scores on the stride 8, 16 and 32 grids)",
			model, *out, out.Name, want, size)
	}
	return size, nil
}

// InputSize returns the input size of the last frame run (the model's own when it fixes one);
// zero before the first frame of a model that leaves it free.
func (d *YOLOX) InputSize() InputSize {
	if !d.fixed.Free() {
		return d.fixed
	}
	return d.size
}

// yoloxCells returns N, the number of output rows for an input size: (W/8)(H/8) + (W/16)(H/16)
// + (W/32)(H/32); 3549 for 416x416.
func yoloxCells(size InputSize) int {
	n := 0
	for _, s := range yoloxStrides {
		n += size.cells(s)
	}
	return n
}

// Detect returns the people in f (rgb24), best first, with boxes in frame pixels clipped to the
// frame and TrackID 0. The returned slice belongs to the caller. Errors: a nil or malformed
// frame, a bad size or nil runner given to NewYOLOX, a failed run, or an output that is missing
// or not [1,N,85] (the error names the tensor and the shape expected).
func (d *YOLOX) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if err := checkDetectorFrame(f); err != nil {
		return nil, fmt.Errorf("YOLOX: %w", err)
	}
	d.letterbox(f)
	outs, err := d.runner.Run(Tensor{Shape: d.shape, Data: d.input})
	if err != nil {
		return nil, fmt.Errorf("YOLOX: %w", err)
	}
	out, err := d.output(outs)
	if err != nil {
		return nil, err
	}
	d.cands = d.decode(d.cands[:0], out.Data, float32(d.ratio))
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

func (d *YOLOX) check() error {
	if d.runner == nil {
		return errors.New("YOLOX: no model runner")
	}
	if !d.fixed.Free() {
		if err := d.fixed.check(); err != nil {
			return fmt.Errorf("YOLOX: %w", err)
		}
	}
	return nil
}

// output picks the model's output tensor (by name, or the only one) and checks its shape.
func (d *YOLOX) output(outs map[string]Tensor) (Tensor, error) {
	out, ok := outs[YOLOXOutputName]
	name := YOLOXOutputName
	if !ok && len(outs) == 1 {
		for n, t := range outs {
			name, out, ok = n, t, true
		}
	}
	if !ok {
		names := make([]string, 0, len(outs))
		for n := range outs {
			names = append(names, n)
		}
		slices.Sort(names)
		return Tensor{}, fmt.Errorf("YOLOX: no output tensor %q among the model's outputs %v", YOLOXOutputName, names)
	}
	n := yoloxCells(d.size)
	s := out.Shape
	if len(s) != 3 || s[0] != 1 || s[1] != int64(n) || s[2] != YOLOXRowLength || len(out.Data) != n*YOLOXRowLength {
		return Tensor{}, fmt.Errorf("YOLOX: output %s has shape %v (%d values); want [1,%d,%d] for a %s input",
			name, s, len(out.Data), n, YOLOXRowLength, d.size)
	}
	return out, nil
}

// letterbox fills d.input from f: bilinear resize by d.ratio to the top-left corner, BGR planes,
// padding with YOLOXPadValue. It picks the input size and resize taps when the frame size
// changes.
func (d *YOLOX) letterbox(f *rawvideo.Frame) {
	if f.Width != d.frameW || f.Height != d.frameH || len(d.xs) == 0 {
		d.frameW, d.frameH = f.Width, f.Height
		d.size = d.fixed
		if d.size.Free() {
			d.size = InputSizeFor(f.Width, f.Height)
		}
		w, h := d.size.Width, d.size.Height
		d.ratio = min(float64(w)/float64(f.Width), float64(h)/float64(f.Height))
		d.resizedW = min(w, max(1, int(float64(f.Width)*d.ratio)))
		d.resizedH = min(h, max(1, int(float64(f.Height)*d.ratio)))
		d.xs = resizeTaps(d.xs[:0], d.resizedW, f.Width, d.ratio)
		d.ys = resizeTaps(d.ys[:0], d.resizedH, f.Height, d.ratio)
		d.shape = []int64{1, 3, int64(h), int64(w)}
		if len(d.input) != 3*w*h {
			d.input = make([]float32, 3*w*h)
		}
	}
	w, h := d.size.Width, d.size.Height
	plane := w * h
	b, g, r := d.input[:plane], d.input[plane:2*plane], d.input[2*plane:]
	for y := 0; y < h; y++ {
		row := y * w
		x0 := 0
		if y < d.resizedH {
			ty := d.ys[y]
			r0 := f.Pix[ty.i0*f.Stride:]
			r1 := f.Pix[ty.i1*f.Stride:]
			wy := ty.w
			for x, tx := range d.xs {
				a0, a1 := 3*tx.i0, 3*tx.i1
				wx := tx.w
				r[row+x] = lerp2(r0[a0], r0[a1], r1[a0], r1[a1], wx, wy)
				g[row+x] = lerp2(r0[a0+1], r0[a1+1], r1[a0+1], r1[a1+1], wx, wy)
				b[row+x] = lerp2(r0[a0+2], r0[a1+2], r1[a0+2], r1[a1+2], wx, wy)
			}
			x0 = d.resizedW
		}
		for _, p := range [3][]float32{b, g, r} {
			pad := p[row+x0 : row+w]
			for i := range pad {
				pad[i] = YOLOXPadValue
			}
		}
	}
}

// lerp2 interpolates the corners p00 (top-left), p01 (top-right), p10, p11 with weights wx
// (towards the right) and wy (towards the bottom).
func lerp2(p00, p01, p10, p11 byte, wx, wy float32) float32 {
	top := float32(p00) + wx*(float32(p01)-float32(p00))
	bot := float32(p10) + wx*(float32(p11)-float32(p10))
	return top + wy*(bot-top)
}

// resizeTaps appends, for each of n output coordinates, the two source samples and weight of a
// bilinear resize by ratio (half-pixel centres, as OpenCV's INTER_LINEAR), clamped to
// [0, src-1].
func resizeTaps(taps []resizeTap, n, src int, ratio float64) []resizeTap {
	for i := 0; i < n; i++ {
		p := (float64(i)+0.5)/ratio - 0.5
		if p < 0 {
			p = 0
		}
		i0 := int(p)
		if i0 > src-1 {
			i0 = src - 1
		}
		i1 := min(i0+1, src-1)
		taps = append(taps, resizeTap{i0: i0, i1: i1, w: float32(p - float64(i0))})
	}
	return taps
}

// decode appends to dst the rows of out (N x 85, already shape-checked) whose person score is at
// least d.Threshold, with boxes converted from letterboxed input pixels to frame pixels (divided
// by ratio) but not clipped. Rows whose score or box is not finite are left out.
func (d *YOLOX) decode(dst []human.Detection, out []float32, ratio float32) []human.Detection {
	row := 0
	for _, stride := range yoloxStrides {
		cols, rows := d.size.Width/stride, d.size.Height/stride
		st := float32(stride)
		for gy := 0; gy < rows; gy++ {
			for gx := 0; gx < cols; gx++ {
				p := out[row*YOLOXRowLength : (row+1)*YOLOXRowLength]
				row++
				score := p[4] * p[5+YOLOXPersonClass]
				if !(score >= d.Threshold) || math.IsInf(float64(score), 1) {
					continue // NaN and +Inf scores (a broken model) are dropped too
				}
				cx := (p[0] + float32(gx)) * st
				cy := (p[1] + float32(gy)) * st
				w := float32(math.Exp(float64(p[2]))) * st
				h := float32(math.Exp(float64(p[3]))) * st
				b := human.Box{X1: (cx - w/2) / ratio, Y1: (cy - h/2) / ratio, X2: (cx + w/2) / ratio, Y2: (cy + h/2) / ratio}
				if !finiteBox(b) {
					continue
				}
				dst = append(dst, human.Detection{Box: b, Score: score})
			}
		}
	}
	return dst
}

// NMS is greedy non-maximum suppression: it sorts dets by score, best first (stable for equal
// scores), then drops every box whose IoU with a better kept box is above iou, in [0, 1]. It works
// in place and returns the kept prefix of dets; dets is reordered and its tail is garbage.
func NMS(dets []human.Detection, iou float32) []human.Detection {
	slices.SortStableFunc(dets, func(a, b human.Detection) int { return cmp.Compare(b.Score, a.Score) })
	k := 0
	for i := range dets {
		keep := true
		for j := 0; j < k; j++ {
			if human.IoU(dets[i].Box, dets[j].Box) > iou {
				keep = false
				break
			}
		}
		if keep {
			dets[k] = dets[i]
			k++
		}
	}
	return dets[:k]
}

// clipToFrame clips b to the frame [0,w] x [0,h].
func clipToFrame(b human.Box, w, h int) human.Box {
	fw, fh := float32(w), float32(h)
	return human.Box{
		X1: min(max(b.X1, 0), fw), Y1: min(max(b.Y1, 0), fh),
		X2: min(max(b.X2, 0), fw), Y2: min(max(b.Y2, 0), fh),
	}
}

func finiteBox(b human.Box) bool {
	for _, v := range [4]float32{b.X1, b.Y1, b.X2, b.Y2} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// checkDetectorFrame reports a nil frame or one whose sizes and pixel buffer do not fit rgb24.
func checkDetectorFrame(f *rawvideo.Frame) error {
	if f == nil {
		return errors.New("nil frame")
	}
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("frame %d: size %dx%d is not positive", f.Seq, f.Width, f.Height)
	}
	if f.Stride < f.Width*rawvideo.BytesPerPixel {
		return fmt.Errorf("frame %d: stride %d is below 3*width (%d)", f.Seq, f.Stride, f.Width*rawvideo.BytesPerPixel)
	}
	if need := (f.Height-1)*f.Stride + f.Width*rawvideo.BytesPerPixel; len(f.Pix) < need {
		return fmt.Errorf("frame %d: %d pixel bytes for %dx%d rgb24 with stride %d; need %d",
			f.Seq, len(f.Pix), f.Width, f.Height, f.Stride, need)
	}
	return nil
}
