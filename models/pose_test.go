package models

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// The crop of a window that sits exactly on 256x256 frame pixels is those pixels, normalised;
// samples outside the frame are black.
func TestCropIntoByHand(t *testing.T) {
	f, _ := rawvideo.NewFrame(300, 260)
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			i := y*f.Stride + 3*x
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = byte(x), byte(y), 200
		}
	}
	dst := make([]float32, 3*CropSize*CropSize)
	// Window centred at (128+10, 128+2), side 256: crop pixel (i, j) is frame pixel (i+10, j+2).
	CropInto(dst, f, Window{CX: 138, CY: 130, Side: 256})
	norm := func(v float32, c int) float32 { return (v/255 - imageMean[c]) / imageStd[c] }
	for _, p := range [][2]int{{0, 0}, {17, 99}, {255, 255}} {
		i, j := p[0], p[1]
		k := j*CropSize + i
		want := [3]float32{norm(float32(byte(i+10)), 0), norm(float32(byte(j+2)), 1), norm(200, 2)}
		got := [3]float32{dst[k], dst[CropSize*CropSize+k], dst[2*CropSize*CropSize+k]}
		for c := range want {
			if math.Abs(float64(got[c]-want[c])) > 1e-5 {
				t.Fatalf("crop (%d, %d) = %v, want %v", i, j, got, want)
			}
		}
	}
	// Half the window lies left of the frame: that half is black.
	CropInto(dst, f, Window{CX: 0, CY: 130, Side: 256})
	if got, want := dst[100*CropSize+10], norm(0, 0); math.Abs(float64(got-want)) > 1e-5 {
		t.Fatalf("outside the frame: %v, want black %v", got, want)
	}
}

type fakeRunner struct {
	out   map[string]Tensor
	batch int64
}

func (r *fakeRunner) Run(in Tensor) (map[string]Tensor, error) {
	r.batch = in.Shape[0]
	return r.out, nil
}

func standingOutputs(b int, s float32) map[string]Tensor {
	out := map[string]Tensor{}
	for _, spec := range PoseOutputs {
		shape := append([]int64{int64(b)}, spec.Shape[1:]...)
		out[spec.Name] = Tensor{Shape: shape, Data: make([]float32, Tensor{Shape: shape}.Len())}
	}
	for i := 0; i < b; i++ {
		copy(out["pred_cam"].Data[3*i:], []float32{s, 0, 0.12})
		copy(out["global_orient"].Data[9*i:], []float32{1, 0, 0, 0, -1, 0, 0, 0, -1})
		for j := 0; j < 23; j++ {
			copy(out["body_pose"].Data[(i*23+j)*9:], identity[:])
		}
	}
	return out
}

// Each person's body is placed by the camera maths inside its own crop window.
func TestEstimatePlacesBodies(t *testing.T) {
	f, _ := rawvideo.NewFrame(640, 360)
	dets := []human.Detection{{Box: human.Box{X1: 50, Y1: 40, X2: 130, Y2: 340}}, {Box: human.Box{X1: 400, Y1: 100, X2: 460, Y2: 250}}}
	r := &fakeRunner{out: standingOutputs(2, 1.0)}
	pe := NewPoseEstimator("fake", r, Mannequin())
	people, err := pe.Estimate(f, dets)
	if err != nil {
		t.Fatal(err)
	}
	if r.batch != 2 || len(people) != 2 {
		t.Fatalf("batch %d, %d people; want both people in one batch", r.batch, len(people))
	}
	cam := NewCamera(640, 360)
	for i, p := range people {
		w := WindowOf(dets[i].Box)
		lo, hi := [2]float32{1e9, 1e9}, [2]float32{-1e9, -1e9}
		for k := 0; k < len(p.Vertices); k += 3 {
			u, v := cam.Project([3]float32{p.Vertices[k], p.Vertices[k+1], p.Vertices[k+2]})
			lo = [2]float32{min(lo[0], u), min(lo[1], v)}
			hi = [2]float32{max(hi[0], u), max(hi[1], v)}
		}
		// With s = 1 the 1.70 m body spans 0.85 of the window side, centred on it.
		if h := hi[1] - lo[1]; math.Abs(float64(h/w.Side-0.85)) > 0.01 {
			t.Errorf("person %d: %.1f px tall in a %.1f px window, want 0.85 of it", i, h, w.Side)
		}
		if mid := (lo[1] + hi[1]) / 2; math.Abs(float64(mid-w.CY)) > 0.01*float64(w.Side) {
			t.Errorf("person %d: vertical middle at %.1f, window centre %.1f", i, mid, w.CY)
		}
		if lo[0] < w.CX-w.Side/2 || hi[0] > w.CX+w.Side/2 {
			t.Errorf("person %d: x span [%.1f, %.1f] leaves the window %+v", i, lo[0], hi[0], w)
		}
	}
}

func TestEstimateRejectsBadOutputs(t *testing.T) {
	f, _ := rawvideo.NewFrame(64, 64)
	dets := []human.Detection{{Box: human.Box{X1: 0, Y1: 0, X2: 30, Y2: 60}}}
	short := standingOutputs(1, 1)
	short["betas"] = Tensor{Shape: []int64{1, 9}, Data: make([]float32, 9)}
	missing := standingOutputs(1, 1)
	delete(missing, "body_pose")
	for _, c := range []struct {
		out  map[string]Tensor
		want string
	}{
		{short, "output betas has 9 values for a batch of 1, want 10"},
		{missing, "output body_pose has 0 values"},
		{standingOutputs(1, 0), "scale s = 0"},
		{standingOutputs(1, float32(math.NaN())), "scale s = NaN"},
	} {
		_, err := NewPoseEstimator("m.onnx", &fakeRunner{out: c.out}, Mannequin()).Estimate(f, dets)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "m.onnx") {
			t.Errorf("err = %v, want %q naming m.onnx", err, c.want)
		}
	}
}

func TestCheckPoseContract(t *testing.T) {
	good := append([]TensorSpec(nil), PoseOutputs...)
	if err := CheckPoseContract("m", PoseInput, good); err != nil {
		t.Fatal(err)
	}
	fixedBatch := TensorSpec{"img", []int64{4, 3, 256, 256}}
	if err := CheckPoseContract("m", fixedBatch, good); err != nil {
		t.Fatalf("a fixed batch fits the contract's dynamic one: %v", err)
	}
	for _, c := range []struct {
		in   TensorSpec
		outs []TensorSpec
		want string
	}{
		{TensorSpec{"image", PoseInput.Shape}, good, `input is image[-1 3 256 256], want img`},
		{TensorSpec{"img", []int64{-1, 3, 224, 224}}, good, "want img[-1 3 256 256]"},
		{TensorSpec{"img", []int64{-1, 3, 256}}, good, "rank 3"},
		{PoseInput, good[:3], `no output "betas"`},
		{PoseInput, []TensorSpec{good[0], good[1], {"body_pose", []int64{-1, 21, 3, 3}}, good[3]}, "body_pose[-1 21 3 3]"},
	} {
		err := CheckPoseContract("m", c.in, c.outs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

// pred_vertices that fix another vertex count than the body model's are refused before any
// frame; dynamic or matching counts pass.
func TestCheckPoseVertices(t *testing.T) {
	body := Mannequin()
	v := int64(body.VertexCount())
	outs := func(extra ...TensorSpec) []TensorSpec {
		return append(append([]TensorSpec(nil), PoseOutputs...), extra...)
	}
	for _, c := range []struct {
		outs []TensorSpec
		want string
	}{
		{outs(), ""},
		{outs(TensorSpec{"pred_vertices", []int64{-1, v, 3}}), ""},
		{outs(TensorSpec{"pred_vertices", []int64{-1, -1, 3}}), ""},
		{outs(TensorSpec{"pred_vertices", []int64{-1, 6890, 3}}), fmt.Sprintf("pred_vertices[-1 6890 3] gives 6890 vertices a body, but the body model (mannequin) has %d", v)},
	} {
		err := CheckPoseVertices("m.onnx", c.outs, body, "mannequin")
		if (c.want == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "m.onnx")) {
			t.Errorf("%v: %v, want %q", c.outs, err, c.want)
		}
	}
}
