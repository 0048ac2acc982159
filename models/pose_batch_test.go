package models

import (
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// numberedRunner answers crop k of a batch with scale s = k+1 and, when verts > 0, vertices
// all equal to k.
type numberedRunner struct {
	verts int
	batch int64
}

func (r *numberedRunner) Run(in Tensor) (map[string]Tensor, error) {
	b := int(in.Shape[0])
	r.batch = in.Shape[0]
	out := standingOutputs(b, 1)
	for k := 0; k < b; k++ {
		out["pred_cam"].Data[3*k] = float32(k + 1)
	}
	if r.verts > 0 {
		v := Tensor{Shape: []int64{int64(b), int64(r.verts), 3}, Data: make([]float32, b*r.verts*3)}
		for k := 0; k < b; k++ {
			for i := 0; i < r.verts*3; i++ {
				v.Data[k*r.verts*3+i] = float32(k)
			}
		}
		out["pred_vertices"] = v
	}
	return out, nil
}

// The people of several frames go to the model as one batch and come back to their own frame,
// in order; frames without people add nothing.
func TestEstimateBatchAcrossFrames(t *testing.T) {
	f0, _ := rawvideo.NewFrame(64, 48)
	f1, _ := rawvideo.NewFrame(64, 48)
	f2, _ := rawvideo.NewFrame(640, 480)
	f1.Seq, f2.Seq = 1, 2
	dets := [][]human.Detection{
		{{Box: human.Box{X1: 1, Y1: 1, X2: 20, Y2: 40}}, {Box: human.Box{X1: 30, Y1: 2, X2: 50, Y2: 44}}},
		nil,
		{{Box: human.Box{X1: 100, Y1: 100, X2: 200, Y2: 400}, TrackID: 5}},
	}
	r := &numberedRunner{}
	people, err := NewPoseEstimator("m", r, Mannequin()).EstimateBatch([]*rawvideo.Frame{f0, f1, f2}, dets)
	if err != nil {
		t.Fatal(err)
	}
	if r.batch != 3 || len(people) != 3 || len(people[0]) != 2 || len(people[1]) != 0 || len(people[2]) != 1 {
		t.Fatalf("batch %d, people per frame %d %d %d; want one batch of 3 and 2, 0, 1", r.batch, len(people[0]), len(people[1]), len(people[2]))
	}
	for _, c := range []struct {
		p     human.Person
		s     float32
		frame *rawvideo.Frame
	}{{people[0][0], 1, f0}, {people[0][1], 2, f0}, {people[2][0], 3, f2}} {
		w := WindowOf(c.p.Box)
		if c.p.Pose.PredCam[0] != c.s || c.p.CamT != NewCamera(c.frame.Width, c.frame.Height).Translation(c.p.Pose.PredCam, w) {
			t.Errorf("person %+v: scale %v, want %v, placed with its own frame's camera", c.p.Box, c.p.Pose.PredCam[0], c.s)
		}
	}
	if people[2][0].TrackID != 5 {
		t.Errorf("track id %d, want 5", people[2][0].TrackID)
	}
}

// pred_vertices are drawn as they are (plus the camera translation); the joints still come
// from the body model. Vertices that do not fit the body model are an error that says so.
func TestEstimatePredVertices(t *testing.T) {
	f, _ := rawvideo.NewFrame(64, 48)
	body := Mannequin()
	dets := []human.Detection{{Box: human.Box{X1: 1, Y1: 1, X2: 20, Y2: 40}}, {Box: human.Box{X1: 30, Y1: 2, X2: 50, Y2: 44}}}
	people, err := NewPoseEstimator("m", &numberedRunner{verts: body.VertexCount()}, body).Estimate(f, dets)
	if err != nil {
		t.Fatal(err)
	}
	for k, p := range people {
		for i := 0; i < body.VertexCount(); i++ {
			for c := 0; c < 3; c++ {
				if got, want := p.Vertices[3*i+c], float32(k)+p.CamT[c]; got != want {
					t.Fatalf("person %d vertex %d: %v, want pred_vertices %d + cam_t = %v", k, i, got, k, want)
				}
			}
		}
		dst := make([]float32, len(body.Template))
		joints := body.Pose(&p.Pose, dst)
		if want := add3(joints[0], p.CamT); p.Joints[0] != want {
			t.Errorf("person %d: pelvis at %v, want the body model's %v", k, p.Joints[0], want)
		}
	}
	_, err = NewPoseEstimator("m.onnx", &numberedRunner{verts: 6890}, body).Estimate(f, dets)
	if err == nil || !strings.Contains(err.Error(), "output pred_vertices") || !strings.Contains(err.Error(), "-body") {
		t.Errorf("pred_vertices of 6890 vertices for a 4448-vertex body: err = %v", err)
	}
}
