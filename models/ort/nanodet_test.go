package ort_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// openNanoDet opens the converted NanoDet-g (.deps/models/nanodet.onnx) on one thread and
// returns a detector over it with the default settings, its input size left to the frame.
func openNanoDet(t testing.TB) *models.NanoDet {
	t.Helper()
	s, err := ort.Open(testenv.Deps(t, "models/"+models.NanoDetFile), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, style, err := models.DetectorForModel(models.NanoDetFile, s, s.Input(), s.Outputs())
	if err != nil {
		t.Fatal(err)
	}
	if style != models.StyleNanoDet {
		t.Fatalf("%s is taken as %s", models.NanoDetFile, style)
	}
	nd := d.(*models.NanoDet)
	if !nd.InputSize().Free() {
		t.Fatalf("%s has a fixed input size %v; setup converts it with its size free", models.NanoDetFile, nd.InputSize())
	}
	return nd
}

// openYOLOXNano opens ../shared/models/yolox_nano.onnx on one thread with the default settings.
func openYOLOXNano(t testing.TB) *models.YOLOX {
	t.Helper()
	s, err := ort.Open(testenv.Shared(t, "models/yolox_nano.onnx"), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	size, err := models.YOLOXInputSize(s.Input())
	if err != nil {
		t.Fatal(err)
	}
	return models.NewYOLOX(s, size)
}

// vtestFrame0 returns the first frame of vtest.avi.
func vtestFrame0(t testing.TB) *rawvideo.Frame {
	t.Helper()
	var f0 *rawvideo.Frame
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), 1, func(f *rawvideo.Frame) {
		g := *f
		g.Pix = append([]byte(nil), f.Pix...)
		f0 = &g
	})
	return f0
}

// recordingRunner runs a model and keeps a copy of the last input.
type recordingRunner struct {
	models.Runner
	input models.Tensor
}

func (r *recordingRunner) Run(in models.Tensor) (map[string]models.Tensor, error) {
	r.input = models.Tensor{Shape: append([]int64(nil), in.Shape...), Data: append([]float32(nil), in.Data...)}
	return r.Runner.Run(in)
}

// The converted NanoDet-g gives what the TF.js graph model gives under TF.js itself, on the
// same input (000000005001.jpg as NanoDet feeds it, at the graph's own 416x416): every class
// score and box logit within 1e-4.
func TestNanoDetConverterMatchesTFJS(t *testing.T) {
	initORT(t)
	s, err := ort.Open(testenv.Deps(t, "models/"+models.NanoDetFile), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &recordingRunner{Runner: s}
	f := testenv.LoadImage(t, testenv.Shared(t, "images/000000005001.jpg"))
	if _, err := models.NewNanoDet(rec, models.InputSize{Width: 416, Height: 416}).Detect(f); err != nil {
		t.Fatal(err)
	}
	want := runTFJS(t, testenv.Deps(t, "nanodet-"+blazePoseVersion+"/nanodet.json"), rec.input)
	got, err := s.Run(rec.input)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || len(want) != 6 {
		t.Fatalf("%d ONNX outputs, %d TF.js outputs; want 6 of each", len(got), len(want))
	}
	for name, g := range got {
		w, ok := want[name]
		if !ok {
			t.Fatalf("ONNX output %s is not a TF.js output (%v)", name, keys(want))
		}
		if len(g.Data) != len(w) {
			t.Fatalf("%s: %d values, TF.js gives %d", name, len(g.Data), len(w))
		}
		what := "class scores"
		if g.Shape[2] != models.NanoDetClasses {
			what = "box logits"
		}
		d, at := worst(g.Data, w, func(int) bool { return true })
		t.Logf("%s %v (%s): largest difference %.2g (tolerance 1e-4)", name, g.Shape, what, d)
		if d > 1e-4 {
			t.Errorf("%s (%s): value %d is %v, TF.js says %v (difference %.3g > 1e-4)", name, what, at, g.Data[at], w[at], d)
		}
	}
}

// head is where a person's head is in an image, in pixels, as read by eye off a 50-pixel grid
// drawn over it (to about 5 px).
type head struct{ X, Y float32 }

// peopleIn holds, for ../shared/images and frame 0 of vtest.avi, the heads of the people whose
// head and shoulders are in view, and the regions where people are cut off by the border
// (a detection centred there neither finds anyone nor counts against the detector).
var peopleIn = []struct {
	name    string
	heads   []head
	partial []human.Box
}{
	{"000000006471.jpg", []head{ // the batter, catcher and umpire; seven in the dugout
		{318, 82}, {175, 200}, {108, 155},
		{50, 105}, {57, 87}, {105, 80}, {195, 80}, {235, 78}, {287, 82}, {428, 65}},
		[]human.Box{{X1: 0, Y1: 0, X2: 220, Y2: 20}, {X1: 0, Y1: 85, X2: 25, Y2: 150}}}, // the stand; the dugout's left edge
	{"000000005001.jpg", []head{ // a ribbon cutting: two children in helmets, sixteen adults
		{125, 280}, {300, 290},
		{50, 50}, {75, 75}, {100, 150}, {160, 120}, {195, 65}, {255, 95}, {280, 125}, {310, 75},
		{340, 65}, {370, 75}, {450, 45}, {470, 65}, {430, 135}, {550, 70}, {578, 80}, {615, 70}}, nil},
	{"000000001000.jpg", []head{ // twelve young tennis players
		{78, 195}, {160, 165}, {240, 135}, {245, 185}, {310, 110}, {375, 135}, {420, 130}, {455, 125},
		{375, 170}, {435, 175}, {475, 235}, {565, 215}}, nil},
	{"000000002299.jpg", []head{ // a school photograph: four rows, 38 children
		{85, 45}, {140, 45}, {190, 45}, {235, 42}, {288, 45}, {330, 45}, {370, 42}, {415, 45},
		{32, 110}, {68, 105}, {120, 105}, {168, 105}, {210, 100}, {255, 88}, {300, 95}, {340, 95}, {388, 100}, {430, 95}, {470, 105},
		{25, 142}, {60, 142}, {92, 150}, {130, 140}, {165, 140}, {205, 140}, {238, 135}, {272, 140}, {310, 132}, {345, 138}, {375, 140}, {415, 142}, {450, 145},
		{110, 210}, {178, 210}, {240, 205}, {295, 210}, {355, 210}, {418, 205}}, nil},
	{"pexels-stretch.jpg", []head{{560, 260}}, nil},
	// Three walkers; the fourth box YOLOX-Nano finds there is a sign.
	{"vtest.avi frame 0", []head{{268, 228}, {515, 163}, {658, 248}}, nil},
}

// matchHeads pairs detections with heads, best score first: a detection takes the free head
// inside its box's upper half nearest to the point a fifth of the way down its middle. It
// returns how many heads were found and how many detections found none (strays), leaving out
// those centred in a partial region.
func matchHeads(dets []human.Detection, heads []head, partial []human.Box) (found, strays int) {
	dets = slices.Clone(dets)
	slices.SortStableFunc(dets, func(a, b human.Detection) int { return cmp.Compare(b.Score, a.Score) })
	taken := make([]bool, len(heads))
	for _, d := range dets {
		b := d.Box
		best, bestD := -1, float32(0)
		for i, h := range heads {
			if taken[i] || h.X < b.X1 || h.X > b.X2 || h.Y < b.Y1 || h.Y > b.Y1+b.Height()/2 {
				continue
			}
			dx, dy := h.X-(b.X1+b.X2)/2, h.Y-(b.Y1+b.Height()/5)
			if dd := dx*dx + dy*dy; best < 0 || dd < bestD {
				best, bestD = i, dd
			}
		}
		if best >= 0 {
			taken[best] = true
			found++
			continue
		}
		cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
		if !slices.ContainsFunc(partial, func(p human.Box) bool { return cx >= p.X1 && cx <= p.X2 && cy >= p.Y1 && cy <= p.Y2 }) {
			strays++
		}
	}
	return found, strays
}

// NanoDet-g finds the people of ../shared/images and of vtest.avi's first frame at least as
// well as YOLOX-Nano: as many of them or more, with at most a tenth of its detections finding
// no one; on vtest.avi's first frame, all three walkers (the sign both detectors take for a
// person is a stray).
func TestNanoDetFindsPeople(t *testing.T) {
	initORT(t)
	nano, yolox := openNanoDet(t), openYOLOXNano(t)
	var total, nanoFound, nanoStrays, nanoDets, yoloxFound, yoloxStrays int
	for _, c := range peopleIn {
		var f *rawvideo.Frame
		if c.name == "vtest.avi frame 0" {
			f = vtestFrame0(t)
		} else {
			f = testenv.LoadImage(t, testenv.Shared(t, "images/"+c.name))
		}
		nd, err := nano.Detect(f)
		if err != nil {
			t.Fatal(err)
		}
		yd, err := yolox.Detect(f)
		if err != nil {
			t.Fatal(err)
		}
		nf, ns := matchHeads(nd, c.heads, c.partial)
		yf, ys := matchHeads(yd, c.heads, c.partial)
		t.Logf("%-18s (%4dx%-4d) %2d people: NanoDet at %v finds %2d (%d strays of %2d), YOLOX-Nano %2d (%d strays of %2d)",
			c.name, f.Width, f.Height, len(c.heads), nano.InputSize(), nf, ns, len(nd), yf, ys, len(yd))
		total += len(c.heads)
		nanoFound, nanoStrays, nanoDets = nanoFound+nf, nanoStrays+ns, nanoDets+len(nd)
		yoloxFound, yoloxStrays = yoloxFound+yf, yoloxStrays+ys
		if c.name == "vtest.avi frame 0" && nf != len(c.heads) {
			t.Errorf("%s: NanoDet found %d of the %d walkers", c.name, nf, len(c.heads))
		}
	}
	t.Logf("all: %d people; NanoDet finds %d (%.0f%%, %d strays), YOLOX-Nano %d (%.0f%%, %d strays)", total,
		nanoFound, 100*float64(nanoFound)/float64(total), nanoStrays, yoloxFound, 100*float64(yoloxFound)/float64(total), yoloxStrays)
	if nanoFound < yoloxFound {
		t.Errorf("NanoDet finds %d people, YOLOX-Nano %d", nanoFound, yoloxFound)
	}
	if 10*nanoStrays > nanoDets {
		t.Errorf("%d of NanoDet's %d detections find no one: more than a tenth", nanoStrays, nanoDets)
	}
}

// The converted model runs at the sizes InputSizeFor picks and at others (its size is free):
// at each, the three walkers of vtest.avi's first frame are found.
func TestNanoDetInputSizes(t *testing.T) {
	initORT(t)
	f := vtestFrame0(t)
	s, err := ort.Open(testenv.Deps(t, "models/"+models.NanoDetFile), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	walkers := peopleIn[len(peopleIn)-1].heads
	for _, size := range []models.InputSize{{Width: 416, Height: 416}, {Width: 320, Height: 320}, {Width: 512, Height: 288}, {Width: 416, Height: 320}, {Width: 640, Height: 480}} {
		dets, err := models.NewNanoDet(s, size).Detect(f)
		if err != nil {
			t.Fatalf("%v: %v", size, err)
		}
		found, strays := matchHeads(dets, walkers, nil)
		t.Logf("%v: %d walkers found, %d strays", size, found, strays)
		if found != len(walkers) {
			t.Errorf("%v: %d of the %d walkers found", size, found, len(walkers))
		}
	}
}

// BenchmarkDetectors prints what finding the people of vtest.avi's first frame costs on one
// ONNX Runtime thread (preprocessing, model and decoding): NanoDet-g at 416x416 (the graph's
// own size), 320x320, 512x288 (16:9) and 416x320 (what InputSizeFor gives 4:3 video such as
// vtest.avi), beside YOLOX-Nano at its 416x416. Each iteration runs every detector once, in
// turn, so that the figures, side by side, share the machine's load; each is reported as
// ms/frame of its own, with the people it found.
func BenchmarkDetectors(b *testing.B) {
	if err := ort.Init(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	f := vtestFrame0(b)
	type detector struct {
		name   string
		det    models.Detector
		took   time.Duration
		people int
	}
	dets := []*detector{{name: "yolox-nano-416x416", det: openYOLOXNano(b)}}
	for _, size := range []models.InputSize{{Width: 416, Height: 416}, {Width: 320, Height: 320}, {Width: 512, Height: 288}, models.InputSizeFor(f.Width, f.Height)} {
		dets = append(dets, &detector{name: fmt.Sprintf("nanodet-%v", size), det: models.NewNanoDet(nanoRunner(b), size)})
	}
	for _, d := range dets { // warm up
		found, err := d.det.Detect(f)
		if err != nil {
			b.Fatal(err)
		}
		d.people = len(found)
	}
	for b.Loop() {
		for _, d := range dets {
			start := time.Now()
			if _, err := d.det.Detect(f); err != nil {
				b.Fatal(err)
			}
			d.took += time.Since(start)
		}
	}
	for _, d := range dets {
		b.ReportMetric(float64(d.took.Microseconds())/1000/float64(b.N), d.name+"-ms/frame")
		b.ReportMetric(float64(d.people), d.name+"-people")
	}
}

// nanoRunner opens the converted NanoDet-g as a runner of its own on one thread.
func nanoRunner(b *testing.B) models.Runner {
	s, err := ort.Open(testenv.Deps(b, "models/"+models.NanoDetFile), ort.Options{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
