package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// An upright region that sits on whole pixels crops those pixels, scaled to [0, 1]; a region
// turned a quarter clockwise reads the frame's columns as its rows.
func TestCropROI(t *testing.T) {
	f, _ := rawvideo.NewFrame(300, 280)
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			i := y*f.Stride + 3*x
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = byte(x), byte(y), 7
		}
	}
	dst := make([]float32, BlazePoseSize*BlazePoseSize*3)
	CropROI(dst, f, ROI{CX: 138, CY: 130, Side: 256}) // input (i, j) is frame (i+10, j+2)
	for _, p := range [][2]int{{0, 0}, {17, 99}, {255, 255}} {
		o := 3 * (p[1]*BlazePoseSize + p[0])
		want := [3]float32{float32(byte(p[0]+10)) / 255, float32(byte(p[1]+2)) / 255, 7.0 / 255}
		for c := range want {
			if math.Abs(float64(dst[o+c]-want[c])) > 1e-6 {
				t.Errorf("upright: input (%d, %d) channel %d = %v, want %v", p[0], p[1], c, dst[o+c], want[c])
			}
		}
	}
	// Turned by +90 degrees: input x runs down the frame, input y runs right to left.
	r := ROI{CX: 150, CY: 140, Side: 256, Rotation: math.Pi / 2}
	CropROI(dst, f, r)
	for _, p := range [][2]int{{0, 0}, {40, 200}, {255, 3}} {
		fx, fy := r.ToFrame(float32(p[0])+0.5, float32(p[1])+0.5)
		o := 3 * (p[1]*BlazePoseSize + p[0])
		// ToFrame gives continuous coordinates; pixel k's centre is at k + 0.5.
		wantR := float32(byte(math.Round(float64(fx-0.5)))) / 255
		wantG := float32(byte(math.Round(float64(fy-0.5)))) / 255
		if math.Abs(float64(dst[o]-wantR)) > 1e-3 || math.Abs(float64(dst[o+1]-wantG)) > 1e-3 {
			t.Errorf("turned: input (%d, %d) = (%v, %v), want (%v, %v)", p[0], p[1], dst[o]*255, dst[o+1]*255, wantR*255, wantG*255)
		}
	}
	// Outside the frame is black.
	CropROI(dst, f, ROI{CX: -500, CY: -500, Side: 100})
	for i, v := range dst {
		if v != 0 {
			t.Fatalf("value %d is %v outside the frame, want 0", i, v)
		}
	}
}

// The region that two keypoints give has the body's centre in its middle and the scale point
// straight above it, at 1/2.5 of the side.
func TestROIOfKeypoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100; i++ {
		c := [2]float32{rng.Float32() * 1000, rng.Float32() * 1000}
		s := [2]float32{c[0] + (rng.Float32()-0.5)*400, c[1] + (rng.Float32()-0.5)*400}
		r := ROIOfKeypoints(c, s)
		d := math.Hypot(float64(s[0]-c[0]), float64(s[1]-c[1]))
		if math.Abs(float64(r.Side)-2.5*d) > 1e-3*d {
			t.Fatalf("side %v for a distance %v, want 2.5 times it", r.Side, d)
		}
		if r.Rotation < -math.Pi || r.Rotation >= math.Pi {
			t.Fatalf("rotation %v outside [-pi, pi)", r.Rotation)
		}
		x, y := r.ToFrame(BlazePoseSize/2, BlazePoseSize/2)
		if math.Hypot(float64(x-c[0]), float64(y-c[1])) > 1e-3 {
			t.Fatalf("region centre at (%v, %v), want %v", x, y, c)
		}
		x, y = r.ToFrame(BlazePoseSize/2, BlazePoseSize/2-BlazePoseSize/2.5)
		if math.Hypot(float64(x-s[0]), float64(y-s[1])) > 1e-2 {
			t.Fatalf("the top-centre point at 1/2.5 of the side is (%v, %v), want the scale point %v", x, y, s)
		}
	}
	if r := ROIOfKeypoints([2]float32{100, 200}, [2]float32{100, 100}); r.Rotation != 0 {
		t.Errorf("a scale point straight above gives rotation %v, want 0", r.Rotation)
	}
}

// FitTranslation finds the translation that put the points where they project.
func TestFitTranslation(t *testing.T) {
	cam := NewCamera(640, 480)
	rng := rand.New(rand.NewPCG(7, 7))
	body := Mannequin()
	verts := make([]float32, 3*body.VertexCount())
	pose := NewIK(body).Neutral()
	joints := body.Pose(&human.Pose{GlobalOrient: pose.GlobalOrient, BodyPose: pose.BodyPose}, verts)
	for trial := 0; trial < 20; trial++ {
		want := [3]float32{rng.Float32()*2 - 1, rng.Float32()*2 - 1, 20 + rng.Float32()*60}
		targets := make([][2]float32, JointCount)
		weights := make([]float32, JointCount)
		for j := range joints {
			u, v := cam.Project(add3(joints[j], want))
			targets[j] = [2]float32{u, v}
			if j%3 != 0 {
				weights[j] = 1
			}
		}
		got, ok := FitTranslation(cam, joints[:], targets, weights)
		if !ok {
			t.Fatalf("trial %d: no fit", trial)
		}
		for c := range got {
			if d := math.Abs(float64(got[c] - want[c])); d > 1e-3*float64(want[2]) {
				t.Fatalf("trial %d: T = %v, want %v", trial, got, want)
			}
		}
	}
	one := make([]float32, JointCount)
	one[4] = 1
	if _, ok := FitTranslation(cam, joints[:], make([][2]float32, JointCount), one); ok {
		t.Error("a fit to one point succeeded")
	}
}

// fakeLandmarks returns fixed outputs, or an error, whatever the input; it records the batches.
type fakeLandmarks struct {
	out     map[string]Tensor
	err     error
	batches []int64
}

func (r *fakeLandmarks) Run(in Tensor) (map[string]Tensor, error) {
	r.batches = append(r.batches, in.Shape[0])
	if r.err != nil {
		return nil, r.err
	}
	out := map[string]Tensor{}
	for k, v := range r.out {
		// The fake gives the same person for every region of the batch.
		n := len(v.Data)
		data := make([]float32, 0, n*int(in.Shape[0]))
		for b := int64(0); b < in.Shape[0]; b++ {
			data = append(data, v.Data...)
		}
		out[k] = Tensor{Shape: append([]int64{in.Shape[0]}, v.Shape[1:]...), Data: data}
	}
	return out, nil
}

// modelOutputs makes the landmark model's outputs for a body posed by pose and placed at t, as
// seen through the upright region roi of a w x h frame: every landmark at a joint is the
// joint's projection, seen, and the world landmarks are the joints around the hips' middle.
func modelOutputs(body *Body, pose IKPose, t [3]float32, cam Camera, roi ROI, flag float32) map[string]Tensor {
	verts := make([]float32, 3*body.VertexCount())
	joints := body.Pose(&human.Pose{GlobalOrient: pose.GlobalOrient, BodyPose: pose.BodyPose}, verts)
	const n = LandmarkCount + blazePoseAux
	ld := make([]float32, 5*n)
	world := make([]float32, 3*n)
	hips := scale3(add3(joints[1], joints[2]), 0.5)
	put := func(m int, p [3]float32) {
		u, v := cam.Project(add3(p, t))
		ld[5*m] = (u-roi.CX)/roi.Side*BlazePoseSize + BlazePoseSize/2
		ld[5*m+1] = (v-roi.CY)/roi.Side*BlazePoseSize + BlazePoseSize/2
		ld[5*m+3], ld[5*m+4] = 10, 10 // logits: seen and present
		w := sub3(p, hips)
		copy(world[3*m:], w[:])
	}
	for j, m := range JointLandmark {
		if m >= 0 {
			put(m, joints[j])
		}
	}
	put(LmLeftFootIndex, joints[10])
	put(LmRightFootIndex, joints[11])
	for _, m := range []int{LmLeftIndex, LmLeftPinky} {
		put(m, joints[22])
	}
	for _, m := range []int{LmRightIndex, LmRightPinky} {
		put(m, joints[23])
	}
	return map[string]Tensor{
		"ld_3d":           {Shape: []int64{1, 5 * n}, Data: ld},
		"world_3d":        {Shape: []int64{1, 3 * n}, Data: world},
		"output_poseflag": {Shape: []int64{1, 1}, Data: []float32{flag}},
	}
}

// The estimator turns landmarks of a known body back into that body at its place: the fitted
// translation and the posed vertices match, for every person of a batch.
func TestBlazePoseEstimate(t *testing.T) {
	body := Mannequin()
	cam := NewCamera(640, 480)
	want := NewIK(body).Neutral()
	// Bend the left knee and raise the right arm, so that limbs are solved, not neutral.
	bend := quatMatrix(expRot([3]float64{1, 0, 0}))
	copy(want.BodyPose[(4-1)*9:], bend[:])
	raise := quatMatrix(expRot([3]float64{0, 0, 0.3}))
	copy(want.BodyPose[(17-1)*9:], raise[:])
	T := [3]float32{0.3, 0.2, 40}
	box := human.Box{X1: 250, Y1: 100, X2: 390, Y2: 420}
	r := &fakeLandmarks{out: modelOutputs(body, want, T, cam, ROIOfBox(box), 0.9)}
	bp := NewBlazePose("fake", r, body, BlazePoseOptions{})
	// Three frames, the middle one without people: one batch of three regions.
	var frames []*rawvideo.Frame
	for k := 0; k < 3; k++ {
		f, _ := rawvideo.NewFrame(640, 480)
		f.Seq = int64(k)
		frames = append(frames, f)
	}
	dets := [][]human.Detection{{{Box: box, TrackID: 3}, {Box: box, TrackID: 4}}, nil, {{Box: box, TrackID: 5}}}
	batch, err := bp.EstimateDetailed(frames, dets)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 3 || len(batch[0]) != 2 || len(batch[1]) != 0 || len(batch[2]) != 1 || len(r.batches) != 1 || r.batches[0] != 3 {
		t.Fatalf("people per frame %d, %d, %d from batches %v; want 2, 0, 1 from one batch of 3", len(batch[0]), len(batch[1]), len(batch[2]), r.batches)
	}
	res := append(batch[0], batch[2]...)
	wantTracks := []int{3, 4, 5}
	wantVerts := make([]float32, 3*body.VertexCount())
	body.Pose(&human.Pose{GlobalOrient: want.GlobalOrient, BodyPose: want.BodyPose}, wantVerts)
	for i, p := range res {
		if p.TrackID != wantTracks[i] || !p.Found {
			t.Fatalf("person %d: track %d, found %v", i, p.TrackID, p.Found)
		}
		for c := range T {
			if math.Abs(float64(p.CamT[c]-T[c])) > 0.05*float64(T[2])/40 {
				t.Errorf("person %d: CamT %v, want %v", i, p.CamT, T)
				break
			}
		}
		worst := 0.0
		for k := range wantVerts {
			worst = max(worst, math.Abs(float64(p.Vertices[k]-(wantVerts[k]+T[k%3]))))
		}
		if worst > 0.05 {
			t.Errorf("person %d: a vertex is %.3f m off", i, worst)
		}
		if p.Reprojection > 0.5 {
			t.Errorf("person %d: reprojection %v px, want under 0.5", i, p.Reprojection)
		}
		for _, j := range []int{1, 2, 4, 5, 7, 8, 16, 17, 18, 19, 20, 21} {
			if !p.Fitted[j] {
				t.Errorf("person %d: joint %d not fitted", i, j)
			}
		}
	}
	people, err := bp.Estimate(frames[0], dets[0])
	if err != nil || len(people) != 2 || people[1].TrackID != 4 {
		t.Fatalf("Estimate: %d people, %v", len(people), err)
	}
	if _, err := bp.EstimateBatch(frames, dets[:2]); err == nil || !strings.Contains(err.Error(), "3 frames but 2 detection lists") {
		t.Errorf("mismatched batch: %v", err)
	}
}

// With the pose flag low, the body keeps the neutral pose and stands in its box.
func TestBlazePoseNotFound(t *testing.T) {
	body := Mannequin()
	cam := NewCamera(640, 480)
	box := human.Box{X1: 250, Y1: 100, X2: 390, Y2: 420}
	r := &fakeLandmarks{out: modelOutputs(body, NewIK(body).Neutral(), [3]float32{0, 0, 40}, cam, ROIOfBox(box), 0.1)}
	f, _ := rawvideo.NewFrame(640, 480)
	res, err := NewBlazePose("fake", r, body, BlazePoseOptions{}).EstimateDetailed([]*rawvideo.Frame{f}, [][]human.Detection{{{Box: box}}})
	if err != nil {
		t.Fatal(err)
	}
	p := res[0][0]
	if p.Found || p.Reprojection != 0 || p.Solved != [JointCount]bool{} {
		t.Fatalf("found %v, reprojection %v, solved %v: want a neutral, unfitted body", p.Found, p.Reprojection, p.Solved)
	}
	var top, bottom float32 = 1e9, -1e9
	for k := 0; k < len(p.Vertices); k += 3 {
		u, v := cam.Project([3]float32{p.Vertices[k], p.Vertices[k+1], p.Vertices[k+2]})
		if u < box.X1-5 || u > box.X2+5 {
			t.Fatalf("vertex at x %v, outside the box %v", u, box)
		}
		top, bottom = min(top, v), max(bottom, v)
	}
	if math.Abs(float64(top-box.Y1)) > 3 || math.Abs(float64(bottom-box.Y2)) > 3 {
		t.Errorf("body spans y %v..%v, want the box's %v..%v", top, bottom, box.Y1, box.Y2)
	}
}

// Bad model output is an error that names the model and the output, never a panic.
func TestBlazePoseBadOutputs(t *testing.T) {
	body := Mannequin()
	cam := NewCamera(64, 48)
	good := modelOutputs(body, NewIK(body).Neutral(), [3]float32{0, 0, 40}, cam, ROIOfBox(human.Box{X1: 10, Y1: 5, X2: 30, Y2: 45}), 0.9)
	f, _ := rawvideo.NewFrame(64, 48)
	dets := []human.Detection{{Box: human.Box{X1: 10, Y1: 5, X2: 30, Y2: 45}}}
	for _, c := range []struct {
		name string
		edit func(map[string]Tensor)
		err  error
		want string
	}{
		{"missing", func(m map[string]Tensor) { delete(m, "world_3d") }, nil, "model m: output world_3d has 0 values for a batch of 1, want 117"},
		{"short", func(m map[string]Tensor) { m["ld_3d"] = Tensor{Shape: []int64{1, 5}, Data: make([]float32, 5)} }, nil, "output ld_3d has 5 values"},
		{"nan", func(m map[string]Tensor) { m["world_3d"].Data[7] = float32(math.NaN()) }, nil, "model m: frame 0: landmark 2 is not finite"},
		{"run", nil, errors.New("boom"), "boom"},
	} {
		out := map[string]Tensor{}
		for k, v := range good {
			out[k] = Tensor{Shape: v.Shape, Data: append([]float32(nil), v.Data...)}
		}
		if c.edit != nil {
			c.edit(out)
		}
		_, err := NewBlazePose("m", &fakeLandmarks{out: out, err: c.err}, body, BlazePoseOptions{}).Estimate(f, dets)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if people, err := NewBlazePose("m", &fakeLandmarks{err: errors.New("not called")}, body, BlazePoseOptions{}).Estimate(f, nil); len(people) != 0 || err != nil {
		t.Errorf("no detections: %v, %v; want nothing", people, err)
	}
}

func TestCheckBlazePoseContract(t *testing.T) {
	outs := append([]TensorSpec(nil), BlazePoseOutputs...)
	if err := CheckBlazePoseContract("m", BlazePoseInput, outs); err != nil {
		t.Fatal(err)
	}
	if err := CheckBlazePoseContract("m", TensorSpec{"input_1", []int64{-1, 3, 256, 256}}, outs); err == nil || !strings.Contains(err.Error(), "model m: input input_1[-1 3 256 256], want input_1[-1 256 256 3]") {
		t.Errorf("NCHW input: %v", err)
	}
	if err := CheckBlazePoseContract("m", BlazePoseInput, outs[:2]); err == nil || !strings.Contains(err.Error(), `no output "output_poseflag"`) {
		t.Errorf("missing output: %v", err)
	}
	if err := CheckPoseDetectorContract("d", PoseDetectorInput, []TensorSpec{PoseDetectorOutput}); err != nil {
		t.Error(err)
	}
	if err := CheckPoseDetectorContract("d", PoseDetectorInput, []TensorSpec{{"person", []int64{-1, 896, 13}}}); err == nil {
		t.Error("a detector with 896 anchors passed")
	}
	if n := len(poseAnchors()); n != poseAnchorCount {
		t.Errorf("%d anchors, want %d", n, poseAnchorCount)
	}
}
