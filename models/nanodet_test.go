package models_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

func TestInputSizeFor(t *testing.T) {
	for _, c := range []struct {
		w, h int
		want models.InputSize
	}{
		{1280, 720, models.InputSize{Width: 512, Height: 288}},  // 16:9
		{1920, 1080, models.InputSize{Width: 512, Height: 288}}, // 16:9
		{768, 576, models.InputSize{Width: 416, Height: 320}},   // 4:3, vtest.avi
		{640, 480, models.InputSize{Width: 416, Height: 320}},   // 4:3
		{1024, 1024, models.InputSize{Width: 384, Height: 384}}, // square
		{720, 1280, models.InputSize{Width: 288, Height: 512}},  // portrait 9:16
		{500, 333, models.InputSize{Width: 448, Height: 288}},   // 3:2
		{400, 300, models.InputSize{Width: 416, Height: 320}},   // g1.avi
		{0, 0, models.InputSize{Width: 416, Height: 320}},       // no frame: as 4:3
		{100000, 10, models.InputSize{Width: 4608, Height: 32}}, // a strip, capped
		{10, 100000, models.InputSize{Width: 32, Height: 4608}},
	} {
		got := models.InputSizeFor(c.w, c.h)
		if got != c.want {
			t.Errorf("InputSizeFor(%d, %d) = %v, want %v", c.w, c.h, got, c.want)
		}
	}
	// Every size: multiples of 32, within the area, the frame's shape within a cell's rounding.
	for w := 16; w <= 4096; w += 37 {
		for _, h := range []int{w * 9 / 16, w * 3 / 4, w, w * 4 / 3, w * 16 / 9} {
			s := models.InputSizeFor(w, h)
			if s.Width%32 != 0 || s.Height%32 != 0 || s.Width <= 0 || s.Height <= 0 || s.Width*s.Height > models.InputArea {
				t.Fatalf("InputSizeFor(%d, %d) = %v: not multiples of 32 within %d pixels", w, h, s, models.InputArea)
			}
			if got, want := float64(s.Width), float64(s.Height)*float64(w)/float64(h); math.Abs(got-want) > 16 {
				t.Fatalf("InputSizeFor(%d, %d) = %v: width %v, %v keeps the frame's shape", w, h, s, got, want)
			}
		}
	}
}

// nanoDetOutputs returns zeroed NanoDet-g style outputs for an input of w x h pixels: for the
// strides 8, 16 and 32, class scores [1,N,80] and box distributions [1,N,44], named as the
// converted model names them.
func nanoDetOutputs(w, h int) map[string]models.Tensor {
	outs := map[string]models.Tensor{}
	for i, s := range []int{8, 16, 32} {
		n := (w / s) * (h / s)
		outs[[]string{"Identity:0", "Identity_1:0", "Identity_2:0"}[i]] = models.Tensor{Shape: []int64{1, int64(n), 80}, Data: make([]float32, n*80)}
		outs[[]string{"Identity_3:0", "Identity_4:0", "Identity_5:0"}[i]] = models.Tensor{Shape: []int64{1, int64(n), 44}, Data: make([]float32, n*44)}
	}
	return outs
}

// nanoDetCell sets cell (i, j) of the stride-s level of outs (for a w-wide input): the person
// score, another class's score, and a box whose sides lie left, top, right and bottom bins
// from the cell's centre (one-hot distributions: logit 40 on that bin, 0 elsewhere).
func nanoDetCell(outs map[string]models.Tensor, w, s, i, j int, person, other float32, left, top, right, bottom int) {
	level := map[int]int{8: 0, 16: 1, 32: 2}[s]
	scores := outs[[]string{"Identity:0", "Identity_1:0", "Identity_2:0"}[level]].Data
	boxes := outs[[]string{"Identity_3:0", "Identity_4:0", "Identity_5:0"}[level]].Data
	cell := j*(w/s) + i
	scores[cell*80] = person
	scores[cell*80+1] = other
	for side, bin := range []int{left, top, right, bottom} {
		boxes[cell*44+side*11+bin] = 40
	}
}

// On a 128x64 input (strides 8, 16, 32: 16x8, 8x4 and 4x2 cells) for a 256x256 frame (stretched
// by 2 across and 4 down), the cells above the threshold become boxes in frame pixels.
func TestNanoDetDecode(t *testing.T) {
	const w, h = 128, 64
	outs := nanoDetOutputs(w, h)
	// Stride 16, cell (2, 1): centre (40, 24); sides 1, 1, 2, 3 bins (16, 16, 32, 48 px) →
	// input box (24, 8)-(72, 72) → frame (48, 32)-(144, 288), clipped to 256 down.
	nanoDetCell(outs, w, 16, 2, 1, 0.9, 0.1, 1, 1, 2, 3)
	// The same person seen from the next cell, a little weaker: NMS drops it.
	nanoDetCell(outs, w, 16, 3, 1, 0.8, 0.1, 2, 1, 1, 3)
	// Stride 8, cell (12, 5): centre (100, 44), sides 1 bin (8 px) → (92, 36)-(108, 52) → frame
	// (184, 144)-(216, 208).
	nanoDetCell(outs, w, 8, 12, 5, 0.5, 0, 1, 1, 1, 1)
	// Stride 32, cell (0, 0): below the threshold, then confident but not a person, then NaN.
	nanoDetCell(outs, w, 32, 0, 0, 0.3, 0, 1, 1, 1, 1)
	nanoDetCell(outs, w, 32, 1, 0, 0.01, 0.99, 1, 1, 1, 1)
	nanoDetCell(outs, w, 32, 2, 1, float32(math.NaN()), 0, 1, 1, 1, 1)

	r := &recordingRunner{outs: outs}
	d := models.NewNanoDet(r, models.InputSize{Width: w, Height: h})
	f, _ := rawvideo.NewFrame(256, 256)
	got, err := d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []human.Detection{
		{Box: human.Box{X1: 48, Y1: 32, X2: 144, Y2: 256}, Score: 0.9},
		{Box: human.Box{X1: 184, Y1: 144, X2: 216, Y2: 208}, Score: 0.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d detections %v, want %v", len(got), got, want)
	}
	for i := range want {
		if !approxEqual(got[i].Score, want[i].Score) || !approxBox(got[i].Box, want[i].Box) {
			t.Errorf("detection %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := r.input.Shape; len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] != h || s[3] != w {
		t.Errorf("input shape %v, want [1 3 %d %d]", s, h, w)
	}
	d.Threshold = 0.25
	if got, _ := d.Detect(f); len(got) != 3 {
		t.Errorf("threshold 0.25: %d detections %v, want the 0.3 cell too", len(got), got)
	}
}

// A spread distribution decodes to its expected bin: logits log(1), log(3) on bins 2 and 3 give
// 2*0.25 + 3*0.75 = 2.75 bins.
func TestNanoDetExpectedBin(t *testing.T) {
	const w, h = 64, 32
	outs := nanoDetOutputs(w, h)
	scores, boxes := outs["Identity_1:0"].Data, outs["Identity_4:0"].Data // stride 16: 4x2 cells
	scores[0] = 0.9
	for side := range 4 {
		for k := range 11 {
			boxes[side*11+k] = -1e4 // a probability of 0
		}
		boxes[side*11+2], boxes[side*11+3] = 0, float32(math.Log(3))
	}
	d := models.NewNanoDet(&recordingRunner{outs: outs}, models.InputSize{Width: w, Height: h})
	f, _ := rawvideo.NewFrame(640, 320) // 10x the input each way
	got, err := d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	// Centre (8, 8), sides 2.75*16 = 44 px: (-36, -36)-(52, 52), clipped → (0, 0)-(520, 520) in
	// the frame, clipped to 320 down.
	if want := (human.Box{X1: 0, Y1: 0, X2: 520, Y2: 320}); len(got) != 1 || !approxBox(got[0].Box, want) {
		t.Errorf("got %v, want one box %v", got, want)
	}
}

// The frame is stretched (not letterboxed) to the input, in B, G, R planes, normalised with
// NanoDet's mean and std; a model that leaves its size free runs at InputSizeFor the frame.
func TestNanoDetInput(t *testing.T) {
	f, _ := rawvideo.NewFrame(1280, 720)
	for i := 0; i < len(f.Pix); i += 3 {
		f.Pix[i], f.Pix[i+1], f.Pix[i+2] = 200, 100, 50
	}
	r := &recordingRunner{outs: nanoDetOutputs(512, 288)}
	d := models.NewNanoDet(r, models.InputSize{})
	if _, err := d.Detect(f); err != nil {
		t.Fatal(err)
	}
	if s := r.input.Shape; len(s) != 4 || s[2] != 288 || s[3] != 512 {
		t.Fatalf("input shape %v, want [1 3 288 512] for a 1280x720 frame", s)
	}
	if got := d.InputSize(); got != (models.InputSize{Width: 512, Height: 288}) {
		t.Errorf("InputSize() = %v after a 1280x720 frame", got)
	}
	want := [3]float32{(50 - 103.53) / 57.375, (100 - 116.28) / 57.12, (200 - 123.675) / 58.395}
	const plane = 512 * 288
	for c := range 3 {
		for _, i := range []int{0, plane / 2, plane - 1} {
			if got := r.input.Data[c*plane+i]; math.Abs(float64(got-want[c])) > 1e-5 {
				t.Fatalf("input[%d][%d] = %v, want %v", c, i, got, want[c])
			}
		}
	}
	// A vertical edge at x = 640 of 1280 lands at x = 256 of 512: stretched, not padded.
	for y := 0; y < 720; y++ {
		for x := 0; x < 640; x++ {
			f.Pix[y*f.Stride+3*x+2] = 0
		}
	}
	if _, err := d.Detect(f); err != nil {
		t.Fatal(err)
	}
	row := r.input.Data[100*512 : 101*512] // the B plane, row 100
	if row[250] > -1.7 || row[262] < -1 {
		t.Errorf("B plane row 100: x 250 = %v (want dark), x 262 = %v (want bright): the frame is not stretched across", row[250], row[262])
	}
	// Another frame size picks another input size.
	g, _ := rawvideo.NewFrame(640, 480)
	r.outs = nanoDetOutputs(416, 320)
	if _, err := d.Detect(g); err != nil {
		t.Fatal(err)
	}
	if s := r.input.Shape; s[2] != 320 || s[3] != 416 {
		t.Errorf("input shape %v for a 640x480 frame, want [1 3 320 416]", s)
	}
}

func TestNanoDetErrors(t *testing.T) {
	f, _ := rawvideo.NewFrame(64, 48)
	size := models.InputSize{Width: 64, Height: 32}
	good := nanoDetOutputs(64, 32)
	without := func(name string) map[string]models.Tensor {
		o := nanoDetOutputs(64, 32)
		delete(o, name)
		return o
	}
	twice := nanoDetOutputs(64, 32)
	twice["extra"] = twice["Identity:0"]
	cases := []struct {
		name string
		d    *models.NanoDet
		f    *rawvideo.Frame
		want string
	}{
		{"nil runner", models.NewNanoDet(nil, size), f, "no model runner"},
		{"bad size", models.NewNanoDet(&recordingRunner{outs: good}, models.InputSize{Width: 60, Height: 32}), f, "multiple of 32"},
		{"nil frame", models.NewNanoDet(&recordingRunner{outs: good}, size), nil, "nil frame"},
		{"short frame", models.NewNanoDet(&recordingRunner{outs: good}, size), &rawvideo.Frame{Width: 64, Height: 48, Stride: 192, Pix: make([]byte, 100)}, "pixel bytes"},
		{"run error", models.NewNanoDet(&recordingRunner{err: errors.New("boom")}, size), f, "boom"},
		{"no outputs", models.NewNanoDet(&recordingRunner{outs: map[string]models.Tensor{}}, size), f, "no outputs"},
		{"no boxes", models.NewNanoDet(&recordingRunner{outs: without("Identity_4:0")}, size), f, "stride 16 has class scores"},
		{"two score outputs", models.NewNanoDet(&recordingRunner{outs: twice}, size), f, "not the one"},
		{"wrong cells", models.NewNanoDet(&recordingRunner{outs: nanoDetOutputs(64, 64)}, size), f, "no stride's grid"},
		{"short data", models.NewNanoDet(&recordingRunner{outs: map[string]models.Tensor{
			"s": {Shape: []int64{1, 32, 80}, Data: make([]float32, 10)}}}, size), f, "(10 values)"},
	}
	for _, c := range cases {
		_, err := c.d.Detect(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "NanoDet: ") {
			t.Errorf("%s: error %v, want one starting NanoDet: and containing %q", c.name, err, c.want)
		}
	}
}

// A detector whose tensors do not fit NanoDet is refused before any frame, naming the model,
// the tensor and what was expected.
func TestCheckNanoDetContract(t *testing.T) {
	in := models.TensorSpec{Name: "input_1:0", Shape: []int64{1, 3, 416, 416}}
	free := models.TensorSpec{Name: "input_1:0", Shape: []int64{1, 3, -1, -1}}
	o := func(name string, shape ...int64) models.TensorSpec {
		return models.TensorSpec{Name: name, Shape: shape}
	}
	g := []models.TensorSpec{o("a", 1, 2704, 80), o("b", 1, 676, 80), o("c", 1, 169, 80), o("d", 1, 2704, 44), o("e", 1, 676, 44), o("f", 1, 169, 44)}
	dyn := []models.TensorSpec{o("a", 1, -1, 80), o("b", 1, -1, 44)}
	for _, c := range []struct {
		in   models.TensorSpec
		outs []models.TensorSpec
		want string // "" for accepted
	}{
		{in, g, ""},
		{free, dyn, ""},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, 320, 416}}, []models.TensorSpec{o("a", 1, 2080, 80), o("b", 1, 2080, 32)}, ""}, // 52x40, 8 bins
		{in, g[:5], "3 class-score outputs [1,N,80] and 2 box outputs"},
		{in, []models.TensorSpec{o("a", 1, 2704, 80), o("b", 1, 676, 44)}, "has no box output [1,2704,4*bins] beside it"},
		{in, []models.TensorSpec{o("a", 1, 2705, 80), o("b", 1, 2705, 44)}, "2705 cells is no distinct stride's grid"},
		{in, []models.TensorSpec{o("a", 1, 2704, 80), o("b", 1, 2704, 80), o("c", 1, 2704, 44), o("d", 1, 2704, 44)}, "no distinct stride's grid"},
		{in, []models.TensorSpec{o("a", 1, 2704, 80), o("b", 1, 2704, 45)}, "want [1,N,80] class scores or [1,N,4*bins]"},
		{in, []models.TensorSpec{o("a", 2704, 80)}, "a NanoDet-style detector's outputs are"},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 416, 416, 3}}, g, "input x[1 416 416 3]: want shape [1,3,H,W]"},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, 400, 416}}, g, "H and W positive multiples of 32"},
	} {
		size, err := models.CheckNanoDetContract("det.onnx", c.in, c.outs)
		want := models.InputSize{}
		if h, w := c.in.Shape[2], c.in.Shape[3]; h > 0 {
			want = models.InputSize{Width: int(w), Height: int(h)}
		}
		switch {
		case c.want == "" && (err != nil || size != want):
			t.Errorf("%v %v: %v, %v; want it accepted as %v", c.in, c.outs, size, err, want)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "det.onnx")):
			t.Errorf("%v %v: %v; want an error naming det.onnx and saying %q", c.in, c.outs, err, c.want)
		}
	}
}

// DetectorForModel tells the two styles apart by their outputs; what is neither gets YOLOX's
// contract error.
func TestDetectorForModel(t *testing.T) {
	o := func(name string, shape ...int64) models.TensorSpec {
		return models.TensorSpec{Name: name, Shape: shape}
	}
	free := models.TensorSpec{Name: "x", Shape: []int64{1, 3, -1, -1}}
	d, style, err := models.DetectorForModel("n.onnx", &recordingRunner{}, free, []models.TensorSpec{o("a", 1, -1, 80), o("b", 1, -1, 44)})
	if _, ok := d.(*models.NanoDet); !ok || style != models.StyleNanoDet || err != nil {
		t.Errorf("NanoDet-style outputs: %T, %q, %v", d, style, err)
	}
	d, style, err = models.DetectorForModel("y.onnx", &recordingRunner{}, free, []models.TensorSpec{o("output", 1, -1, 85)})
	if _, ok := d.(*models.YOLOX); !ok || style != models.StyleYOLOX || err != nil {
		t.Errorf("YOLOX-style output: %T, %q, %v", d, style, err)
	}
	_, _, err = models.DetectorForModel("p.onnx", &recordingRunner{}, free, []models.TensorSpec{o("pred_cam", -1, 3), o("betas", -1, 10)})
	if err == nil || !strings.Contains(err.Error(), `p.onnx: no output "output"`) {
		t.Errorf("a pose model as a detector: %v", err)
	}
}

func TestNanoDetAllocs(t *testing.T) {
	outs := nanoDetOutputs(416, 320)
	nanoDetCell(outs, 416, 16, 5, 5, 0.9, 0, 1, 2, 1, 2)
	d := models.NewNanoDet(&fixedRunner{outs: outs}, models.InputSize{})
	f, _ := rawvideo.NewFrame(640, 480)
	// One allocation: the returned slice.
	if n := testing.AllocsPerRun(10, func() {
		if _, err := d.Detect(f); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Detect allocates %v times a frame, want at most 1", n)
	}
}
