package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// The pose-model contract (docs/design.md): the names and shapes of HMR2's ONNX input and outputs.
// -1 stands for the dynamic batch B.
var (
	PoseInput   = TensorSpec{"img", []int64{-1, 3, CropSize, CropSize}}
	PoseOutputs = []TensorSpec{
		{"pred_cam", []int64{-1, 3}},
		{"global_orient", []int64{-1, 1, 3, 3}},
		{"body_pose", []int64{-1, 23, 3, 3}},
		{"betas", []int64{-1, 10}},
	}
	// PoseVertices is the optional output of posed vertices, in the body frame after
	// global_orient, metres; when a model has it, meshpipe draws it as it is.
	PoseVertices = TensorSpec{"pred_vertices", []int64{-1, 6890, 3}}
)

// CheckPoseContract returns an error unless input and outputs keep the pose-model contract:
// the input and every required output present with the contract's rank and fixed sizes (any
// size is accepted where the model leaves one dynamic). model names the file in the error.
func CheckPoseContract(model string, input TensorSpec, outputs []TensorSpec) error {
	if err := fits(model, "input", PoseInput, input); err != nil {
		return err
	}
	have := map[string]TensorSpec{}
	for _, o := range outputs {
		have[o.Name] = o
	}
	for _, want := range PoseOutputs {
		got, ok := have[want.Name]
		if !ok {
			return fmt.Errorf("model %s: no output %q; the pose-model contract needs %v", model, want.Name, PoseOutputs)
		}
		if err := fits(model, "output", want, got); err != nil {
			return err
		}
	}
	if got, ok := have[PoseVertices.Name]; ok {
		if len(got.Shape) != 3 || got.Shape[2] > 0 && got.Shape[2] != 3 {
			return fmt.Errorf("model %s: output %v, want %v", model, got, PoseVertices)
		}
	}
	return nil
}

// CheckPoseVertices returns an error when the model's optional pred_vertices output (among
// outputs) fixes a vertex count V that is not the body model's: meshpipe draws those vertices
// with the body model's faces, so the two must agree. model and bodyName name the files (or
// "mannequin") in the error. A model without pred_vertices, or with V dynamic, passes; a
// dynamic V is checked on every batch by EstimateBatch.
func CheckPoseVertices(model string, outputs []TensorSpec, body *Body, bodyName string) error {
	for _, o := range outputs {
		if o.Name != PoseVertices.Name || len(o.Shape) != 3 || o.Shape[1] <= 0 {
			continue
		}
		if v := body.VertexCount(); o.Shape[1] != int64(v) {
			return fmt.Errorf("model %s: output %v gives %d vertices a body, but the body model (%s) has %d; "+
				"give the SMPL file the model was made with (-body PATH.npz)", model, o, o.Shape[1], bodyName, v)
		}
	}
	return nil
}

func fits(model, kind string, want, got TensorSpec) error {
	if want.Name != got.Name {
		return fmt.Errorf("model %s: %s is %v, want %v", model, kind, got, want)
	}
	if len(got.Shape) != len(want.Shape) {
		return fmt.Errorf("model %s: %s %v has rank %d, want %v", model, kind, got, len(got.Shape), want)
	}
	for i, d := range want.Shape {
		if d > 0 && got.Shape[i] > 0 && got.Shape[i] != d {
			return fmt.Errorf("model %s: %s %v, want %v", model, kind, got, want)
		}
	}
	return nil
}

// PoseEstimator recovers the bodies of the people in a frame with a model that keeps the
// pose-model contract: crop each person, run the crops as one batch, place each body with the
// contract's camera maths and pose it by linear blend skinning. It is safe for concurrent use
// when its Runner is. With a RunnerInto (models/ort.Session) and people buffers kept from
// frame to frame (EstimateInto), a steady stream of frames allocates nothing.
type PoseEstimator struct {
	runner  Runner
	body    *Body
	name    string
	scratch freeList[poseScratch] // one per call in progress, reused across frames
}

// poseScratch is what one EstimateInto call works in.
type poseScratch struct {
	crops   []float32 // the batch's crops, [B,3,256,256]
	shape   [4]int64  // the batch's input shape
	windows []Window  // each crop's window
	out     map[string]Tensor
}

// NewPoseEstimator returns a PoseEstimator over r, drawing body (the mannequin, or a body
// model file) for each person. name names the model in errors.
func NewPoseEstimator(name string, r Runner, body *Body) *PoseEstimator {
	return &PoseEstimator{runner: r, body: body, name: name}
}

// Body returns the body model the estimator poses.
func (p *PoseEstimator) Body() *Body { return p.body }

// Estimate returns one Person per detection of f, in the same order: EstimateBatch for one
// frame.
func (p *PoseEstimator) Estimate(f *rawvideo.Frame, dets []human.Detection) ([]human.Person, error) {
	people, err := p.EstimateBatch([]*rawvideo.Frame{f}, [][]human.Detection{dets})
	if err != nil {
		return nil, err
	}
	return people[0], nil
}

// EstimateBatch returns, for each frame frames[i], one Person per detection of dets[i], in the
// same order: EstimateInto into new buffers (nil for a frame without people).
func (p *PoseEstimator) EstimateBatch(frames []*rawvideo.Frame, dets [][]human.Detection) ([][]human.Person, error) {
	people := make([][]human.Person, len(frames))
	if err := p.EstimateInto(frames, dets, people); err != nil {
		return nil, err
	}
	return people, nil
}

// EstimateInto sets people[i], for each frame frames[i], to one Person per detection of
// dets[i], in the same order, reusing the array and vertex buffers people[i] holds
// (human.Reuse: also those beyond its length). The crops of every person of every frame go to
// the model as one batch (B = the number of people; frames without people add nothing).
// Errors name the model and the output tensor at fault (missing, wrong size, or a
// non-positive scale s), and the frame (its Seq) when one person's output is at fault; after
// an error people holds partial results.
func (p *PoseEstimator) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	if len(frames) != len(dets) || len(people) != len(frames) {
		return fmt.Errorf("pose: %d frames but %d detection lists and %d people lists", len(frames), len(dets), len(people))
	}
	total := 0
	for i, d := range dets {
		total += len(d)
		people[i] = human.Reuse(people[i], len(d))
	}
	if total == 0 {
		return nil
	}
	s := p.scratch.get()
	defer p.scratch.put(s)
	if s.out == nil {
		s.out = map[string]Tensor{}
	}
	const per = 3 * CropSize * CropSize
	s.crops = resize(s.crops, total*per)
	s.windows = slices.Grow(s.windows[:0], total)[:total]
	k := 0
	for fi, f := range frames {
		for _, d := range dets[fi] {
			s.windows[k] = WindowOf(d.Box)
			CropInto(s.crops[k*per:(k+1)*per], f, s.windows[k])
			k++
		}
	}
	s.shape = [4]int64{int64(total), 3, CropSize, CropSize}
	if err := runInto(p.runner, Tensor{Shape: s.shape[:], Data: s.crops}, s.out); err != nil {
		return err
	}
	// get returns output name, checked to hold per values for each of the batch's people.
	get := func(name string, per int, shape func() []int64) ([]float32, error) {
		t, ok := s.out[name]
		if want := total * per; !ok || len(t.Data) != want {
			return nil, fmt.Errorf("model %s: output %s has %d values for a batch of %d, want %d (shape %v)",
				p.name, name, len(t.Data), total, want, shape())
		}
		return t.Data, nil
	}
	var vals [4][]float32
	for i, spec := range PoseOutputs {
		var err error
		if vals[i], err = get(spec.Name, Tensor{Shape: spec.Shape[1:]}.Len(), func() []int64 { return spec.Shape }); err != nil {
			return err
		}
	}
	v := p.body.VertexCount()
	var verts []float32
	if _, ok := s.out[PoseVertices.Name]; ok {
		var err error
		if verts, err = get(PoseVertices.Name, 3*v, func() []int64 { return []int64{-1, int64(v), 3} }); err != nil {
			return fmt.Errorf("%w; the body model has %d vertices (give the SMPL file the model was made with, -body PATH.npz)", err, v)
		}
	}
	k = 0
	for fi, f := range frames {
		if len(dets[fi]) == 0 {
			continue
		}
		cam := NewCamera(f.Width, f.Height)
		for di := range dets[fi] {
			pp := &people[fi][di]
			pp.Detection = dets[fi][di]
			copy(pp.Pose.PredCam[:], vals[0][k*3:])
			copy(pp.Pose.GlobalOrient[:], vals[1][k*9:])
			copy(pp.Pose.BodyPose[:], vals[2][k*23*9:])
			copy(pp.Pose.Betas[:], vals[3][k*10:])
			if sc := pp.Pose.PredCam[0]; !(sc > 0) || math.IsInf(float64(sc), 0) {
				return fmt.Errorf("model %s: output pred_cam gives scale s = %v for person %d of frame %d; s must be positive and finite", p.name, sc, di, f.Seq)
			}
			pp.CamT = cam.Translation(pp.Pose.PredCam, s.windows[k])
			vs := pp.VertexBuffer(3 * v)
			pp.Joints = p.body.Pose(&pp.Pose, vs)
			if verts != nil {
				copy(vs, verts[k*3*v:(k+1)*3*v])
			}
			for q := 0; q < v; q++ {
				vs[3*q] += pp.CamT[0]
				vs[3*q+1] += pp.CamT[1]
				vs[3*q+2] += pp.CamT[2]
			}
			for q := range pp.Joints {
				pp.Joints[q] = add3(pp.Joints[q], pp.CamT)
			}
			k++
		}
	}
	return nil
}
