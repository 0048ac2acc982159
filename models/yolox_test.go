package models_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// openYOLOX loads ../shared/models/yolox_nano.onnx with ONNX Runtime and returns a detector over
// it with the default settings. The session is closed when the test ends.
func openYOLOX(t testing.TB) *models.YOLOX {
	t.Helper()
	if err := ort.Init(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	s, err := ort.Open(testenv.Shared(t, "models/yolox_nano.onnx"), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	size, err := models.YOLOXInputSize(s.Input())
	if err != nil {
		t.Fatal(err)
	}
	if size != square(416) {
		t.Fatalf("yolox_nano input size %d, want 416", size)
	}
	return models.NewYOLOX(s, size)
}

func TestYOLOXImages(t *testing.T) {
	d := openYOLOX(t)
	// Minimum person counts: roughly two thirds of the people the README and a look at each
	// image give (yolox_nano found 9, 14, 12, 13 and 1 when this test was written).
	cases := []struct {
		name string
		min  int
		// want, when set, is a person box (frame pixels, by eye) that one detection must
		// overlap with IoU >= 0.7.
		want *human.Box
	}{
		{"000000006471.jpg", 3, &human.Box{X1: 258, Y1: 72, X2: 352, Y2: 298}}, // the batter
		{"000000005001.jpg", 8, nil},
		{"000000001000.jpg", 7, nil},
		{"000000002299.jpg", 6, nil},
		{"pexels-stretch.jpg", 1, &human.Box{X1: 50, Y1: 50, X2: 1020, Y2: 1000}},
	}
	var total time.Duration
	for _, c := range cases {
		f := testenv.LoadImage(t, testenv.Shared(t, "images/"+c.name))
		start := time.Now()
		dets, err := d.Detect(f)
		el := time.Since(start)
		total += el
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s (%dx%d): %d people in %.1f ms", c.name, f.Width, f.Height, len(dets), millis(el))
		if len(dets) < c.min {
			t.Errorf("%s: %d people, want at least %d", c.name, len(dets), c.min)
		}
		for i, p := range dets {
			b := p.Box
			if b.X1 < 0 || b.Y1 < 0 || b.X2 > float32(f.Width) || b.Y2 > float32(f.Height) || b.Area() <= 0 {
				t.Errorf("%s: box %v is empty or outside the %dx%d frame", c.name, b, f.Width, f.Height)
			}
			if p.Score < d.Threshold || p.Score > 1 {
				t.Errorf("%s: score %v outside [%v, 1]", c.name, p.Score, d.Threshold)
			}
			if i > 0 && p.Score > dets[i-1].Score {
				t.Errorf("%s: detections not sorted by score: %v after %v", c.name, p.Score, dets[i-1].Score)
			}
			if p.TrackID != 0 {
				t.Errorf("%s: TrackID %d, want 0", c.name, p.TrackID)
			}
		}
		if c.want != nil {
			best := float32(0)
			for _, p := range dets {
				best = max(best, human.IoU(p.Box, *c.want))
			}
			t.Logf("%s: best IoU with the reference box: %.2f", c.name, best)
			if best < 0.7 {
				t.Errorf("%s: no detection on %v (best IoU %.2f)", c.name, *c.want, best)
			}
		}
	}
	t.Logf("YOLOX (yolox_nano, 416x416, CPU): %.1f ms a frame on average", millis(total)/float64(len(cases)))
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recordingRunner returns fixed outputs and records the last input.
type recordingRunner struct {
	outs  map[string]models.Tensor
	err   error
	input models.Tensor
}

func (r *recordingRunner) Run(in models.Tensor) (map[string]models.Tensor, error) {
	r.input = models.Tensor{Shape: append([]int64(nil), in.Shape...), Data: append([]float32(nil), in.Data...)}
	return r.outs, r.err
}

// yoloxRow sets output row i of a [1,3549,85] tensor: the raw box (x, y, w, h), objectness and
// the scores of class 0 (person) and class 1.
func yoloxRow(data []float32, i int, x, y, w, h, obj, person, other float32) {
	row := data[i*85 : (i+1)*85]
	copy(row, []float32{x, y, w, h, obj, person, other})
}

// yoloxTestRow is one row of a [1,3549,85] output set by hand: the raw box (x, y, w, h),
// objectness and the scores of class 0 (person) and class 1.
type yoloxTestRow struct {
	row int
	v   [7]float32
}

func ln(v float64) float32 { return float32(math.Log(v)) }

// yoloxDecodeRows are the rows TestYOLOXDecode sets for a 416x416 input and an 832x624 frame
// (FuzzYOLOXDecode starts from them too). r = min(416/832, 416/624) = 0.5, so the frame
// fills 416x312 of the input and frame pixels are letterboxed pixels times 2.
var yoloxDecodeRows = []yoloxTestRow{
	// Stride 8, cell (gx, gy) = (10, 5), row 5*52+10: centre (84, 44), size 32x64 → frame box
	// (136, 24)-(200, 152), score 0.9*0.8.
	{5*52 + 10, [7]float32{0.5, 0.5, ln(4), ln(8), 0.9, 0.8, 0.1}},
	// The same person one cell to the right, a little weaker: NMS drops it (IoU 0.83).
	{5*52 + 11, [7]float32{-0.3, 0.5, ln(4), ln(8), 0.9, 0.7, 0.1}},
	// Stride 32, cell (3, 2), row 2704+676+2*13+3: centre (96, 64), size 64x128 → (128, 0)-(256,
	// 256), score 0.5*0.9.
	{2704 + 676 + 2*13 + 3, [7]float32{0, 0, ln(2), ln(4), 0.5, 0.9, 0}},
	// Stride 16, cell (25, 3), row 2704+3*26+25: centre (408, 56), size 32x32, reaching past the
	// frame's right edge (x 392..424 letterboxed, 784..848 in the frame): clipped to 832.
	{2704 + 3*26 + 25, [7]float32{0.5, 0.5, ln(2), ln(2), 1, 0.6, 0}},
	// Below the threshold: 0.5*0.5 = 0.25.
	{100, [7]float32{0.5, 0.5, 0, 0, 0.5, 0.5, 0}},
	// Confident, but not a person.
	{200, [7]float32{0.5, 0.5, 0, 0, 0.99, 0.01, 0.99}},
	// Entirely in the padding (letterboxed y 340..356, below the frame's 312): clipped away.
	{43*52 + 20, [7]float32{0.5, 0.5, ln(2), ln(2), 1, 0.9, 0}},
}

func TestYOLOXDecode(t *testing.T) {
	out := make([]float32, 3549*85)
	for _, r := range yoloxDecodeRows {
		v := r.v
		yoloxRow(out, r.row, v[0], v[1], v[2], v[3], v[4], v[5], v[6])
	}

	r := &recordingRunner{outs: map[string]models.Tensor{"output": {Shape: []int64{1, 3549, 85}, Data: out}}}
	d := models.NewYOLOX(r, square(416))
	f, err := rawvideo.NewFrame(832, 624)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []human.Detection{
		{Box: human.Box{X1: 136, Y1: 24, X2: 200, Y2: 152}, Score: 0.72},
		{Box: human.Box{X1: 784, Y1: 80, X2: 832, Y2: 144}, Score: 0.6},
		{Box: human.Box{X1: 128, Y1: 0, X2: 256, Y2: 256}, Score: 0.45},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d detections %v, want %v", len(got), got, want)
	}
	for i := range want {
		if !approxEqual(got[i].Score, want[i].Score) || !approxBox(got[i].Box, want[i].Box) {
			t.Errorf("detection %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// A lower threshold lets the 0.25 row through: row 100 is stride 8, cell (48, 1), centre
	// (388, 12), size 8x8 → frame box (768, 16)-(784, 32).
	d.Threshold = 0.2
	got, err = d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !approxBox(got[3].Box, human.Box{X1: 768, Y1: 16, X2: 784, Y2: 32}) {
		t.Errorf("threshold 0.2: got %v, want a fourth box (768,16)-(784,32)", got)
	}
}

// A model of a non-square input (416 wide, 320 high: 52x40, 26x20 and 13x10 cells) decodes
// its last row, stride 32 cell (12, 9), where a square grid has none; a model that leaves its
// size free runs at InputSizeFor the frame.
func TestYOLOXNonSquare(t *testing.T) {
	const n = 52*40 + 26*20 + 13*10
	out := make([]float32, n*85)
	// Centre ((12+0.5)*32, (9+0.5)*32) = (400, 304), size 64x64 → (368, 272)-(432, 336); the
	// 832x640 frame is letterboxed by 0.5 → (736, 544)-(864, 672), clipped to the frame.
	yoloxRow(out, n-1, 0.5, 0.5, ln(2), ln(2), 1, 0.9, 0)
	r := &recordingRunner{outs: map[string]models.Tensor{"output": {Shape: []int64{1, n, 85}, Data: out}}}
	f, _ := rawvideo.NewFrame(832, 640)
	got, err := models.NewYOLOX(r, models.InputSize{Width: 416, Height: 320}).Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := (human.Box{X1: 736, Y1: 544, X2: 832, Y2: 640}); len(got) != 1 || !approxBox(got[0].Box, want) {
		t.Errorf("got %v, want one box %v", got, want)
	}
	if s := r.input.Shape; len(s) != 4 || s[2] != 320 || s[3] != 416 {
		t.Errorf("input shape %v, want [1 3 320 416]", s)
	}
	free := models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{"output": {Shape: []int64{1, 3024, 85}, Data: make([]float32, 3024*85)}}}, models.InputSize{})
	hd, _ := rawvideo.NewFrame(1280, 720)
	if _, err := free.Detect(hd); err != nil { // 64x36 + 32x18 + 16x9 = 3024 cells at 512x288
		t.Fatal(err)
	}
	if got := free.InputSize(); got != (models.InputSize{Width: 512, Height: 288}) {
		t.Errorf("free input size %v for a 1280x720 frame, want 512x288", got)
	}
}

func TestYOLOXLetterbox(t *testing.T) {
	empty := map[string]models.Tensor{"output": {Shape: []int64{1, 3549, 85}, Data: make([]float32, 3549*85)}}
	const plane = 416 * 416
	t.Run("scale 1", func(t *testing.T) {
		// 416x208: r = 1, the frame is copied as is into rows 0..207, BGR planes.
		f, _ := rawvideo.NewFrame(416, 208)
		for i := range f.Pix {
			f.Pix[i] = byte(i * 7)
		}
		r := &recordingRunner{outs: empty}
		if _, err := models.NewYOLOX(r, square(416)).Detect(f); err != nil {
			t.Fatal(err)
		}
		if got := r.input.Shape; len(got) != 4 || got[0] != 1 || got[1] != 3 || got[2] != 416 || got[3] != 416 {
			t.Fatalf("input shape %v, want [1 3 416 416]", got)
		}
		in := r.input.Data
		for y := 0; y < 416; y++ {
			for x := 0; x < 416; x++ {
				var want [3]float32
				if y < 208 {
					cr, cg, cb := f.At(x, y)
					want = [3]float32{float32(cb), float32(cg), float32(cr)}
				} else {
					want = [3]float32{114, 114, 114}
				}
				for c := 0; c < 3; c++ {
					if got := in[c*plane+y*416+x]; got != want[c] {
						t.Fatalf("input[%d,%d,%d] = %v, want %v", c, y, x, got, want[c])
					}
				}
			}
		}
	})
	t.Run("scale 0.5", func(t *testing.T) {
		// 600x832 uniform (R, G, B) = (10, 20, 30): r = 0.5, resized to 300x416.
		f, _ := rawvideo.NewFrame(600, 832)
		for i := 0; i < len(f.Pix); i += 3 {
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = 10, 20, 30
		}
		r := &recordingRunner{outs: empty}
		if _, err := models.NewYOLOX(r, square(416)).Detect(f); err != nil {
			t.Fatal(err)
		}
		for y := 0; y < 416; y++ {
			for x := 0; x < 416; x++ {
				want := [3]float32{30, 20, 10}
				if x >= 300 {
					want = [3]float32{114, 114, 114}
				}
				for c := 0; c < 3; c++ {
					if got := r.input.Data[c*plane+y*416+x]; got != want[c] {
						t.Fatalf("input[%d,%d,%d] = %v, want %v", c, y, x, got, want[c])
					}
				}
			}
		}
	})
}

func TestYOLOXErrors(t *testing.T) {
	f, _ := rawvideo.NewFrame(64, 48)
	good := models.Tensor{Shape: []int64{1, 3549, 85}, Data: make([]float32, 3549*85)}
	cases := []struct {
		name string
		d    *models.YOLOX
		f    *rawvideo.Frame
		want string
	}{
		{"nil runner", models.NewYOLOX(nil, square(416)), f, "no model runner"},
		{"bad size", models.NewYOLOX(&recordingRunner{}, square(400)), f, "multiple of 32"},
		{"nil frame", models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{"output": good}}, square(416)), nil, "nil frame"},
		{"short frame", models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{"output": good}}, square(416)),
			&rawvideo.Frame{Width: 64, Height: 48, Stride: 192, Pix: make([]byte, 100)}, "need 9216"},
		{"run error", models.NewYOLOX(&recordingRunner{err: errors.New("boom")}, square(416)), f, "boom"},
		{"wrong shape", models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{
			"output": {Shape: []int64{1, 8400, 85}, Data: make([]float32, 8400*85)}}}, square(416)), f,
			"output output has shape [1 8400 85] (714000 values); want [1,3549,85] for a 416x416 input"},
		{"short data", models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{
			"output": {Shape: []int64{1, 3549, 85}, Data: make([]float32, 10)}}}, square(416)), f, "want [1,3549,85]"},
		{"missing output", models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{
			"a": good, "b": good}}, square(416)), f, `no output tensor "output" among the model's outputs [a b]`},
	}
	for _, c := range cases {
		_, err := c.d.Detect(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// A single output under another name is accepted.
	d := models.NewYOLOX(&recordingRunner{outs: map[string]models.Tensor{"dets": good}}, square(416))
	if _, err := d.Detect(f); err != nil {
		t.Errorf("single output named dets: %v", err)
	}
}

func TestYOLOXInputSize(t *testing.T) {
	for _, c := range []struct {
		shape []int64
		want  models.InputSize
		ok    bool
	}{
		{[]int64{1, 3, 416, 416}, square(416), true},
		{[]int64{-1, 3, 640, 640}, square(640), true},
		{[]int64{1, 3, 320, 416}, models.InputSize{Width: 416, Height: 320}, true}, // not square
		{[]int64{1, 3, -1, -1}, models.InputSize{}, true},                          // free
		{[]int64{1, 3, -1, 416}, models.InputSize{}, false},
		{[]int64{1, 3, 100, 100}, models.InputSize{}, false},
		{[]int64{1, 416, 416, 3}, models.InputSize{}, false},
		{[]int64{3, 416, 416}, models.InputSize{}, false},
	} {
		got, err := models.YOLOXInputSize(models.TensorSpec{Name: "images", Shape: c.shape})
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("%v: got %v, %v; want %v (accepted: %v)", c.shape, got, err, c.want, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "images") {
			t.Errorf("%v: error %q does not name the tensor", c.shape, err)
		}
	}
}

// square returns the InputSize of a model whose input is side x side pixels.
func square(side int) models.InputSize { return models.InputSize{Width: side, Height: side} }

func TestNMS(t *testing.T) {
	dets := []human.Detection{
		{Box: human.Box{X1: 0, Y1: 0, X2: 10, Y2: 20}, Score: 0.5},
		{Box: human.Box{X1: 100, Y1: 0, X2: 110, Y2: 20}, Score: 0.4},
		{Box: human.Box{X1: 1, Y1: 0, X2: 11, Y2: 20}, Score: 0.9},    // IoU 0.82 with the first
		{Box: human.Box{X1: 5, Y1: 0, X2: 15, Y2: 20}, Score: 0.6},    // IoU 0.43 with the best: kept
		{Box: human.Box{X1: 101, Y1: 1, X2: 111, Y2: 21}, Score: 0.3}, // IoU 0.75 with 0.4
		{Box: human.Box{X1: 50, Y1: 50, X2: 50, Y2: 60}, Score: 0.2},  // empty: IoU 0 with all
	}
	got := models.NMS(dets, 0.45)
	want := []float32{0.9, 0.6, 0.4, 0.2}
	if len(got) != len(want) {
		t.Fatalf("kept %v, want scores %v", got, want)
	}
	for i := range want {
		if got[i].Score != want[i] {
			t.Errorf("kept[%d] score %v, want %v", i, got[i].Score, want[i])
		}
	}
	if n := len(models.NMS(nil, 0.45)); n != 0 {
		t.Errorf("NMS(nil) kept %d", n)
	}
	// IoU threshold 1 keeps everything (even identical boxes have IoU 1, not above 1).
	same := []human.Detection{{Box: human.Box{X2: 1, Y2: 1}, Score: 1}, {Box: human.Box{X2: 1, Y2: 1}, Score: 0.5}}
	if n := len(models.NMS(same, 1)); n != 2 {
		t.Errorf("NMS at IoU 1 kept %d of 2", n)
	}
}

func approxEqual(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func approxBox(a, b human.Box) bool {
	return approxEqual(a.X1, b.X1) && approxEqual(a.Y1, b.Y1) && approxEqual(a.X2, b.X2) && approxEqual(a.Y2, b.Y2)
}

func TestYOLOXAllocs(t *testing.T) {
	out := make([]float32, 3549*85)
	yoloxRow(out, 5*52+10, 0.5, 0.5, 1, 2, 0.9, 0.8, 0.1)
	r := &fixedRunner{outs: map[string]models.Tensor{"output": {Shape: []int64{1, 3549, 85}, Data: out}}}
	d := models.NewYOLOX(r, square(416))
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

// fixedRunner returns fixed outputs without copying anything.
type fixedRunner struct{ outs map[string]models.Tensor }

func (r *fixedRunner) Run(models.Tensor) (map[string]models.Tensor, error) { return r.outs, nil }

// A detector whose tensors do not fit YOLOX is refused before any frame, naming the model,
// the tensor and what was expected.
func TestCheckYOLOXContract(t *testing.T) {
	in := models.TensorSpec{Name: "images", Shape: []int64{1, 3, 416, 416}}
	out := func(name string, shape ...int64) models.TensorSpec {
		return models.TensorSpec{Name: name, Shape: shape}
	}
	for _, c := range []struct {
		in   models.TensorSpec
		outs []models.TensorSpec
		want string // "" for accepted
	}{
		{in, []models.TensorSpec{out("output", 1, 3549, 85)}, ""},
		{in, []models.TensorSpec{out("output", -1, -1, 85)}, ""},
		{in, []models.TensorSpec{out("dets", 1, 3549, 85)}, ""}, // the only output, under another name
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, 64, 64}}, []models.TensorSpec{out("output", 1, 84, 85)}, ""},
		{in, []models.TensorSpec{out("output", 1, 8400, 85)}, "output output[1 8400 85], want output[1 3549 85] for a 416x416 input"},
		{in, []models.TensorSpec{out("output", 1, 3549, 6)}, "want output[1 3549 85]"},
		{in, []models.TensorSpec{out("output", 3549, 85)}, "want output[1 3549 85]"},
		{in, []models.TensorSpec{out("a", 1, 3549, 85), out("b", 1, 3549, 85)}, `no output "output" among the model's outputs [a b]`},
		{in, nil, `no output "output"`},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, 320, 416}}, []models.TensorSpec{out("output", 1, 2730, 85)}, ""}, // 52x40 + 26x20 + 13x10
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, 320, 416}}, []models.TensorSpec{out("output", 1, 3549, 85)}, "want output[1 2730 85] for a 416x320 input"},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, -1, -1}}, []models.TensorSpec{out("output", 1, -1, 85)}, ""},
		{models.TensorSpec{Name: "x", Shape: []int64{1, 3, -1, -1}}, []models.TensorSpec{out("output", 1, -1, 84)}, "want output[1 -1 85]"},
		{models.TensorSpec{Name: "img", Shape: []int64{-1, 3, 256, 200}}, []models.TensorSpec{out("output", 1, 3549, 85)}, "want shape [1,3,H,W]"},
	} {
		size, err := models.CheckYOLOXContract("det.onnx", c.in, c.outs)
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
