package models

import (
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// intoRunner is a RunnerInto that gives out[b], made beforehand, for a batch of b: RunInto
// copies it into the caller's buffers, as models/ort.Session does.
type intoRunner struct {
	out map[int64]map[string]Tensor
}

func (r *intoRunner) Run(in Tensor) (map[string]Tensor, error) { return r.out[in.Shape[0]], nil }

func (r *intoRunner) RunInto(in Tensor, out map[string]Tensor) error {
	for name, t := range r.out[in.Shape[0]] {
		old := out[name]
		out[name] = Tensor{Shape: append(old.Shape[:0], t.Shape...), Data: append(old.Data[:0], t.Data...)}
	}
	return nil
}

// repeated returns one item's outputs repeated for a batch of b.
func repeated(one map[string]Tensor, b int) map[string]Tensor {
	out := map[string]Tensor{}
	for name, t := range one {
		shape := append([]int64{int64(b)}, t.Shape[1:]...)
		var data []float32
		for range b {
			data = append(data, t.Data...)
		}
		out[name] = Tensor{Shape: shape, Data: data}
	}
	return out
}

// fourPeople returns a 1280x720 frame with four tall person boxes (their crop windows over
// 563 pixels, so that the HMR2 crop blurs first).
func fourPeople() (*rawvideo.Frame, []human.Detection) {
	f, _ := rawvideo.NewFrame(1280, 720)
	for i := range f.Pix {
		f.Pix[i] = byte(i * 7)
	}
	var dets []human.Detection
	for i := range 4 {
		x := float32(100 + 280*i)
		dets = append(dets, human.Detection{Box: human.Box{X1: x, Y1: 40, X2: x + 200, Y2: 700}, Score: 0.9, TrackID: i + 1})
	}
	return f, dets
}

// With a RunnerInto and the people buffers kept from frame to frame, posing a frame allocates
// nothing: the HMR2 path (crops with the blur, pred_vertices, skinning) and the BlazePose path
// (its detector, landmarks, IK with the torso fit, translation fit and skinning).
func TestEstimateIntoAllocatesNothing(t *testing.T) {
	f, dets := fourPeople()
	frames, batch := []*rawvideo.Frame{f}, [][]human.Detection{dets}

	hmr := standingOutputs(4, 1)
	body := Mannequin()
	v := body.VertexCount()
	hmr[PoseVertices.Name] = Tensor{Shape: []int64{4, int64(v), 3}, Data: make([]float32, 4*v*3)}
	hmr2 := NewPoseEstimator("hmr2", &intoRunner{out: map[int64]map[string]Tensor{4: hmr}}, body)

	cam := NewCamera(f.Width, f.Height)
	bend := IKPose{GlobalOrient: quatMatrix(expRot([3]float64{0.1, 3.0, 0.1}))}
	for j := range 23 {
		copy(bend.BodyPose[9*j:], identity[:])
	}
	knee := quatMatrix(expRot([3]float64{1, 0, 0}))
	copy(bend.BodyPose[(4-1)*9:], knee[:])
	landmarks := repeated(modelOutputs(body, bend, [3]float32{0, 0, 8}, cam, ROIOfBox(dets[0].Box), 0.9), 4)
	// The detector finds, in every window, a person whose keypoints put the body's centre in the
	// window's middle (inside the box) and the scale point above it.
	anchors := poseAnchors()
	person := make([]float32, poseAnchorCount*13)
	for a := range poseAnchorCount {
		person[13*a] = -100
	}
	person[0] = 10
	person[5], person[6] = (0.5-anchors[0][0])*PoseDetectorSize, (0.5-anchors[0][1])*PoseDetectorSize
	person[7], person[8] = (0.5-anchors[0][0])*PoseDetectorSize, (0.3-anchors[0][1])*PoseDetectorSize
	detector := repeated(map[string]Tensor{PoseDetectorOutput.Name: {Shape: []int64{1, poseAnchorCount, 13}, Data: person}}, 4)
	bp := NewBlazePose("blazepose", &intoRunner{out: map[int64]map[string]Tensor{4: landmarks}}, body,
		BlazePoseOptions{Detector: &intoRunner{out: map[int64]map[string]Tensor{4: detector}}})

	for _, c := range []struct {
		name string
		est  interface {
			EstimateInto([]*rawvideo.Frame, [][]human.Detection, [][]human.Person) error
		}
	}{{"hmr2", hmr2}, {"blazepose", bp}} {
		people := make([][]human.Person, 1)
		run := func() {
			people[0] = people[0][:0]
			if err := c.est.EstimateInto(frames, batch, people); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		run()
		if n := testing.AllocsPerRun(10, run); n != 0 {
			t.Errorf("%s: %v allocations a frame, want 0", c.name, n)
		}
		if len(people[0]) != 4 || len(people[0][3].Vertices) != 3*v || people[0][3].TrackID != 4 {
			t.Errorf("%s: %d people, the last with %d coordinates and track %d", c.name, len(people[0]), len(people[0][3].Vertices), people[0][3].TrackID)
		}
	}
	res, err := bp.EstimateDetailed(frames, batch)
	if err != nil {
		t.Fatal(err)
	}
	if p := res[0][0]; !p.Found || !p.Solved[4] {
		t.Errorf("BlazePose: found %v, knee solved %v: the IK did not run", p.Found, p.Solved[4])
	}
}
