package models

import (
	"fmt"
	"math"
	"sync"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
	"gonum.org/v1/gonum/mat"
)

// BlazePoseSize is the side in pixels of the square region BlazePose GHUM's landmark model takes
// (MediaPipe pose_landmark_by_roi_cpu.pbtxt: output_tensor_width/height 256).
const BlazePoseSize = 256

// blazePoseAux is the number of auxiliary points the landmark model gives after the 33 body
// landmarks (39 in all; MediaPipe tensors_to_pose_landmarks_and_segmentation.pbtxt).
const blazePoseAux = 6

// The landmark model's input and the outputs meshpipe reads, as the converter
// (scripts/tfjs_to_onnx.py) names them after the TF.js graph model's signature. -1 is the
// dynamic batch B.
//   - input_1 [B,256,256,3]: the region of interest, RGB, each value x/255 in [0, 1], NHWC
//     (MediaPipe ImageToTensorCalculator, output_tensor_float_range 0..1).
//   - ld_3d [B,195]: 39 points of (x, y, z, visibility, presence); x and y in pixels of the
//     256x256 input, z on the scale of x, visibility and presence as logits (sigmoid gives the
//     probability).
//   - world_3d [B,117]: 39 points of (x, y, z) in metres, origin between the hips, the axes of
//     the input (x right, y down, z away from the camera).
//   - output_poseflag [B,1]: the probability that a body is in the input.
var (
	BlazePoseInput   = TensorSpec{"input_1", []int64{-1, BlazePoseSize, BlazePoseSize, 3}}
	BlazePoseOutputs = []TensorSpec{
		{"ld_3d", []int64{-1, (LandmarkCount + blazePoseAux) * 5}},
		{"world_3d", []int64{-1, (LandmarkCount + blazePoseAux) * 3}},
		{"output_poseflag", []int64{-1, 1}},
	}
)

// CheckBlazePoseContract returns an error unless input and outputs are those of a converted
// BlazePose GHUM landmark model (BlazePoseInput and every one of BlazePoseOutputs, by name, rank
// and fixed sizes). model names the file in the error.
func CheckBlazePoseContract(model string, input TensorSpec, outputs []TensorSpec) error {
	if err := fits(model, "input", BlazePoseInput, input); err != nil {
		return fmt.Errorf("%w (a BlazePose landmark model from scripts/tfjs_to_onnx.py)", err)
	}
	have := map[string]TensorSpec{}
	for _, o := range outputs {
		have[o.Name] = o
	}
	for _, want := range BlazePoseOutputs {
		got, ok := have[want.Name]
		if !ok {
			return fmt.Errorf("model %s: no output %q; a BlazePose landmark model has %v", model, want.Name, BlazePoseOutputs)
		}
		if err := fits(model, "output", want, got); err != nil {
			return err
		}
	}
	return nil
}

// ROI is the square region of a frame that becomes BlazePose's 256x256 input: centre (CX, CY)
// and side Side in pixels of the frame, turned by Rotation radians (positive turns the region's
// x axis towards the frame's y axis, i.e. clockwise on screen; MediaPipe's NormalizedRect
// rotation). Input pixel position (x, y), in [0, 256), lies in the frame at
// (CX, CY) + R(Rotation) * ((x/256 - 1/2) Side, (y/256 - 1/2) Side), with
// R(a) = [cos a, -sin a; sin a, cos a] (MediaPipe LandmarkProjectionCalculator).
type ROI struct {
	CX, CY, Side, Rotation float32
}

// roiMargin is how much the region of interest exceeds the body: MediaPipe widens the circle
// that holds the whole body by 1.25 (pose_detection_to_roi.pbtxt, RectTransformationCalculator
// scale_x = scale_y = 1.25 with square_long).
const roiMargin = 1.25

// ROIOfKeypoints returns the region of interest that BlazePose's two alignment keypoints give
// (frame pixels): centred on the body's centre c (the middle of the hips), side 2|s-c| times
// 1.25, turned so that the direction from c to the scale point s points up in the region
// (MediaPipe AlignmentPointsRectsCalculator with target angle 90 degrees, rotation
// pi/2 - atan2(-(sy-cy), sx-cx), then RectTransformationCalculator scale 1.25, square_long).
func ROIOfKeypoints(c, s [2]float32) ROI {
	dx, dy := float64(s[0]-c[0]), float64(s[1]-c[1])
	rot := math.Pi/2 - math.Atan2(-dy, dx)
	rot -= 2 * math.Pi * math.Floor((rot+math.Pi)/(2*math.Pi)) // into [-pi, pi)
	return ROI{CX: c[0], CY: c[1], Side: float32(2 * roiMargin * math.Hypot(dx, dy)), Rotation: float32(rot)}
}

// ROIOfBox returns the region of interest of a person box when no keypoints place it: centred
// on the box, upright, with side 1.25 times the box's longer side (the box stands for the
// circle around the body that BlazePose's own detector gives, and 1.25 is MediaPipe's margin
// around that circle).
func ROIOfBox(b human.Box) ROI {
	return ROI{CX: (b.X1 + b.X2) / 2, CY: (b.Y1 + b.Y2) / 2, Side: roiMargin * max(b.Width(), b.Height())}
}

// ToFrame maps a position (x, y) in pixels of the 256x256 input to pixels of the frame.
func (r ROI) ToFrame(x, y float32) (fx, fy float32) {
	u := (x/BlazePoseSize - 0.5) * r.Side
	v := (y/BlazePoseSize - 0.5) * r.Side
	s, c := math.Sincos(float64(r.Rotation))
	return r.CX + float32(c)*u - float32(s)*v, r.CY + float32(s)*u + float32(c)*v
}

// CropROI writes region r of frame f into dst, which must hold 256*256*3 values, as the
// landmark model takes it: NHWC RGB, each value x/255. Input pixel (i, j) samples the frame
// bilinearly at its centre's place (r.ToFrame(i+0.5, j+0.5)); samples outside the frame are
// black.
func CropROI(dst []float32, f *rawvideo.Frame, r ROI) {
	cropSquare(dst, f, r, BlazePoseSize, 1.0/255, 0)
}

// cropSquare writes region r of f into dst as an n x n NHWC RGB image, each value
// x*gain + bias, sampling as CropROI does (a region is always BlazePose's ROI mapping, scaled to
// n pixels).
func cropSquare(dst []float32, f *rawvideo.Frame, r ROI, n int, gain, bias float32) {
	s, c := math.Sincos(float64(r.Rotation))
	nf := float32(n)
	cs, sn := float32(c)*r.Side/nf, float32(s)*r.Side/nf
	// Frame position of input pixel centre (i+0.5, j+0.5), in pixel-index coordinates (the
	// centre of frame pixel k is at k, hence the -0.5).
	x0 := r.CX - 0.5 - (cs*nf/2 - sn*nf/2)
	y0 := r.CY - 0.5 - (sn*nf/2 + cs*nf/2)
	for j := 0; j < n; j++ {
		fj := float32(j) + 0.5
		for i := 0; i < n; i++ {
			fi := float32(i) + 0.5
			red, g, b := bilinearRGB(f, x0+cs*fi-sn*fj, y0+sn*fi+cs*fj)
			o := 3 * (j*n + i)
			dst[o], dst[o+1], dst[o+2] = red*gain+bias, g*gain+bias, b*gain+bias
		}
	}
}

// bilinearRGB samples f bilinearly at (x, y) in pixel-index coordinates (pixel centres at
// integers), values 0..255, treating everything outside the frame as black.
func bilinearRGB(f *rawvideo.Frame, x, y float32) (r, g, b float32) {
	x0, y0 := int(math.Floor(float64(x))), int(math.Floor(float64(y)))
	ax, ay := x-float32(x0), y-float32(y0)
	for dy := 0; dy < 2; dy++ {
		yy := y0 + dy
		if yy < 0 || yy >= f.Height {
			continue
		}
		wy := ay
		if dy == 0 {
			wy = 1 - ay
		}
		for dx := 0; dx < 2; dx++ {
			xx := x0 + dx
			if xx < 0 || xx >= f.Width {
				continue
			}
			wx := ax
			if dx == 0 {
				wx = 1 - ax
			}
			w := wx * wy
			p := f.Pix[yy*f.Stride+3*xx:]
			r += w * float32(p[0])
			g += w * float32(p[1])
			b += w * float32(p[2])
		}
	}
	return r, g, b
}

// Landmarks is one person's BlazePose output, mapped back to the frame.
type Landmarks struct {
	// Image holds the 33 landmarks in pixels of the frame (x right, y down).
	Image [LandmarkCount][2]float32
	// World holds the 33 landmarks in metres, origin between the hips, with the camera's axes
	// (x right, y down, z away from the camera): the model's world_3d turned back by the
	// region's rotation (MediaPipe WorldLandmarkProjectionCalculator).
	World [LandmarkCount][3]float32
	// Visibility is, for each landmark, the probability that it is visible (not hidden), and
	// Presence the probability that it is inside the frame (sigmoids of the model's logits).
	Visibility, Presence [LandmarkCount]float32
	// Score is the probability that there is a body in the region (output_poseflag).
	Score float32
	// ROI is the region the landmarks were found in.
	ROI ROI
	// Centre and ScalePoint are the model's two auxiliary alignment points (frame pixels): the
	// body's centre and the point whose distance and direction from it give the body's size and
	// rotation; ROIOfKeypoints makes from them the region for the next frame, as MediaPipe
	// tracks a body (pose_landmarks_to_roi.pbtxt: auxiliary landmarks 33 and 34).
	Centre, ScalePoint [2]float32
}

// Extent returns the person's size in pixels: the longer side of the box around the 33 image
// landmarks (the height, for a standing person). Tests and figures measure reprojection errors
// against it.
func (l *Landmarks) Extent() float32 {
	x0, y0 := l.Image[0][0], l.Image[0][1]
	x1, y1 := x0, y0
	for _, p := range l.Image {
		x0, x1 = min(x0, p[0]), max(x1, p[0])
		y0, y1 = min(y0, p[1]), max(y1, p[1])
	}
	return max(x1-x0, y1-y0)
}

// minPoseScore is the pose-flag probability below which the region is taken to hold no body.
// MediaPipe gates at 0.5 (tensors_to_pose_landmarks_and_segmentation.pbtxt,
// ThresholdingCalculator), where its own detector is the only other judge; here a person
// detector has already vouched for the box, and at flags of 0.3 to 0.5 the landmarks of
// blurred, low-resolution or partly hidden people (g1.avi's cyclist, the test photos) were
// still sound when we looked, so the gate is lower (our choice).
const minPoseScore = 0.3

// BlazePose recovers bodies with BlazePose GHUM's landmark model (a converted graph model; see
// scripts/tfjs_to_onnx.py) and inverse kinematics: each person box becomes a region of
// interest (EstimateDetailed), the regions of a frame run as one batch, the 33 landmarks drive the body's
// 24-joint tree (IK.Solve), and the camera translation is fitted so that the body's joints
// project onto the image landmarks (FitTranslation) under the contract's camera (NewCamera).
// It implements the same Estimate as PoseEstimator and is safe for concurrent use when its
// Runners are.
type BlazePose struct {
	runner Runner
	body   *Body
	ik     *IK
	name   string
	opt    BlazePoseOptions
	minVis float32
	crops  sync.Pool // *[]float32 input batches
}

// BlazePoseOptions are BlazePose's choices of how to find each person's region of interest.
type BlazePoseOptions struct {
	// Detector, when not nil, is BlazePose's own person detector (blazepose-detector.onnx,
	// see CheckPoseDetectorContract), the second way to place a region: for every person in
	// whose box-placed region (ROIOfBox) the landmark model finds no body, it runs on a square
	// window around the box, and where it finds the person its alignment keypoints place a new
	// region (ROIOfKeypoints, as MediaPipe places it); the landmark model runs again there, and
	// the pass that finds the body more surely is kept. When nil, only the boxes place regions.
	Detector Runner
}

// NewBlazePose returns a BlazePose over r (a model that passes CheckBlazePoseContract), posing
// body. name names the model in errors.
func NewBlazePose(name string, r Runner, body *Body, opt BlazePoseOptions) *BlazePose {
	return &BlazePose{runner: r, body: body, ik: NewIK(body), name: name, opt: opt, minVis: MinVisibility}
}

// Body returns the body model the estimator poses.
func (b *BlazePose) Body() *Body { return b.body }

// BlazePosePerson is one person's full BlazePose result.
type BlazePosePerson struct {
	human.Person
	// Landmarks are the model's landmarks for the person.
	Landmarks Landmarks
	// Found is false when the model saw no body in the region (pose flag below 0.3): the body
	// then keeps the neutral pose and is placed by its box.
	Found bool
	// Solved marks the joints whose rotations came from the landmarks (IKPose.Solved).
	Solved [JointCount]bool
	// Fitted marks the joints whose projections the translation was fitted to: those with an
	// image landmark (JointLandmark) that is seen and a solved bone leading to it.
	Fitted [JointCount]bool
	// Reprojection is the mean distance in pixels between the fitted joints' projections and
	// their image landmarks; 0 when none were fitted.
	Reprojection float32
}

// Estimate returns one Person per detection of f, in the same order: EstimateBatch for one
// frame.
func (b *BlazePose) Estimate(f *rawvideo.Frame, dets []human.Detection) ([]human.Person, error) {
	people, err := b.EstimateBatch([]*rawvideo.Frame{f}, [][]human.Detection{dets})
	if err != nil {
		return nil, err
	}
	return people[0], nil
}

// EstimateBatch returns, for each frame frames[i], one Person per detection of dets[i], in the
// same order (stages.PoseEstimator): EstimateDetailed's people without their landmarks.
func (b *BlazePose) EstimateBatch(frames []*rawvideo.Frame, dets [][]human.Detection) ([][]human.Person, error) {
	res, err := b.EstimateDetailed(frames, dets)
	if err != nil {
		return nil, err
	}
	people := make([][]human.Person, len(res))
	for i, r := range res {
		if len(r) == 0 {
			continue
		}
		people[i] = make([]human.Person, len(r))
		for k := range r {
			people[i][k] = r[k].Person
		}
	}
	return people, nil
}

// region is one person of a batch: the frame it is in and its detection.
type region struct {
	frame *rawvideo.Frame
	det   human.Detection
}

// EstimateDetailed places a region of interest for every detection dets[i] of every frame
// frames[i] (by the detector, see BlazePoseOptions, else by the box), runs the landmark model
// on all of them as one batch (and once more, on the boxes' regions, for those whose detector
// region showed no body), and returns, per frame and per detection in order, the posed and
// placed body with its landmarks. The Pose has GlobalOrient and BodyPose from IK.Solve, zero
// betas and a zero PredCam (there is no crop camera). Errors name the model, the output at
// fault and, for one person's output, the frame (its Seq).
func (b *BlazePose) EstimateDetailed(frames []*rawvideo.Frame, dets [][]human.Detection) ([][]BlazePosePerson, error) {
	if len(frames) != len(dets) {
		return nil, fmt.Errorf("pose: %d frames but %d detection lists", len(frames), len(dets))
	}
	var regs []region
	for i, f := range frames {
		for _, d := range dets[i] {
			regs = append(regs, region{f, d})
		}
	}
	res := make([][]BlazePosePerson, len(frames))
	if len(regs) == 0 {
		return res, nil
	}
	// First regions: the detector's where it finds the person, else the boxes'.
	boxes := make([]ROI, len(regs))
	for i, r := range regs {
		boxes[i] = ROIOfBox(r.det.Box)
	}
	rois := append([]ROI(nil), boxes...)
	var byDetector []bool
	if b.opt.Detector != nil {
		found, ok, err := b.detect(regs)
		if err != nil {
			return nil, err
		}
		for i := range rois {
			if ok[i] {
				rois[i] = found[i]
			}
		}
		byDetector = ok
	}
	lms, err := b.landmarks(regs, rois)
	if err != nil {
		return nil, err
	}
	// Where the detector's region shows no body, the box's region gets a second try.
	var again []int
	var againRegs []region
	var next []ROI
	for i := range byDetector {
		if byDetector[i] && lms[i].Score < minPoseScore {
			again, againRegs, next = append(again, i), append(againRegs, regs[i]), append(next, boxes[i])
		}
	}
	if len(next) > 0 {
		second, err := b.landmarks(againRegs, next)
		if err != nil {
			return nil, err
		}
		for k, i := range again {
			if second[k].Score > lms[i].Score {
				lms[i] = second[k]
			}
		}
	}
	k := 0
	for i, f := range frames {
		if len(dets[i]) == 0 {
			continue
		}
		cam := NewCamera(f.Width, f.Height)
		res[i] = make([]BlazePosePerson, len(dets[i]))
		for d := range dets[i] {
			p := &res[i][d]
			p.Detection = dets[i][d]
			p.Landmarks = lms[k]
			b.place(p, cam)
			k++
		}
	}
	return res, nil
}

// landmarks runs the landmark model on region rois[i] of regs[i]'s frame, all as one batch.
func (b *BlazePose) landmarks(regs []region, rois []ROI) ([]Landmarks, error) {
	const per = BlazePoseSize * BlazePoseSize * 3
	n := len(rois) * per
	bufp, _ := b.crops.Get().(*[]float32)
	if bufp == nil || cap(*bufp) < n {
		s := make([]float32, n)
		bufp = &s
	}
	buf := (*bufp)[:n]
	defer b.crops.Put(bufp)
	for i, r := range rois {
		CropROI(buf[i*per:(i+1)*per], regs[i].frame, r)
	}
	out, err := b.runner.Run(Tensor{Shape: []int64{int64(len(rois)), BlazePoseSize, BlazePoseSize, 3}, Data: buf})
	if err != nil {
		return nil, err
	}
	var vals [3][]float32
	for k, spec := range BlazePoseOutputs {
		t, ok := out[spec.Name]
		want := len(rois) * int(spec.Shape[1])
		if !ok || len(t.Data) != want {
			return nil, fmt.Errorf("model %s: output %s has %d values for a batch of %d, want %d (shape %v)",
				b.name, spec.Name, len(t.Data), len(rois), want, spec.Shape)
		}
		vals[k] = t.Data
	}
	lms := make([]Landmarks, len(rois))
	const nl, nw = (LandmarkCount + blazePoseAux) * 5, (LandmarkCount + blazePoseAux) * 3
	for i := range rois {
		lms[i] = decodeLandmarks(vals[0][i*nl:(i+1)*nl], vals[1][i*nw:(i+1)*nw], vals[2][i], rois[i])
		if err := checkFinite(&lms[i]); err != nil {
			return nil, fmt.Errorf("model %s: frame %d: %w", b.name, regs[i].frame.Seq, err)
		}
	}
	return lms, nil
}

func checkFinite(l *Landmarks) error {
	bad := func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }
	for k := range l.Image {
		if bad(l.Image[k][0]) || bad(l.Image[k][1]) || bad(l.World[k][0]) || bad(l.World[k][1]) || bad(l.World[k][2]) {
			return fmt.Errorf("landmark %d is not finite (ld_3d or world_3d)", k)
		}
	}
	if bad(l.Centre[0]) || bad(l.Centre[1]) || bad(l.ScalePoint[0]) || bad(l.ScalePoint[1]) {
		return fmt.Errorf("an alignment point is not finite (ld_3d)")
	}
	if bad(l.Score) {
		return fmt.Errorf("output_poseflag is not finite")
	}
	return nil
}

// decodeLandmarks reads one person's ld_3d (39 x 5), world_3d (39 x 3) and pose flag, keeping
// the 33 body landmarks, and maps them into the frame through roi.
func decodeLandmarks(ld, world []float32, flag float32, roi ROI) Landmarks {
	l := Landmarks{Score: flag, ROI: roi}
	s, c := math.Sincos(float64(roi.Rotation))
	sn, cs := float32(s), float32(c)
	for k := 0; k < LandmarkCount; k++ {
		p := ld[5*k : 5*k+5]
		l.Image[k][0], l.Image[k][1] = roi.ToFrame(p[0], p[1])
		l.Visibility[k] = sigmoid(p[3])
		l.Presence[k] = sigmoid(p[4])
		w := world[3*k : 3*k+3]
		l.World[k] = [3]float32{cs*w[0] - sn*w[1], sn*w[0] + cs*w[1], w[2]}
	}
	l.Centre[0], l.Centre[1] = roi.ToFrame(ld[5*LandmarkCount], ld[5*LandmarkCount+1])
	l.ScalePoint[0], l.ScalePoint[1] = roi.ToFrame(ld[5*LandmarkCount+5], ld[5*LandmarkCount+6])
	return l
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// place poses p's body from its landmarks and places it in the camera frame.
func (b *BlazePose) place(p *BlazePosePerson, cam Camera) {
	lm := &p.Landmarks
	p.Found = lm.Score >= minPoseScore
	var pose IKPose
	if p.Found {
		pose = b.ik.Solve(lm, b.minVis)
	} else {
		pose = b.ik.Neutral()
	}
	p.Pose = human.Pose{GlobalOrient: pose.GlobalOrient, BodyPose: pose.BodyPose}
	p.Solved = pose.Solved
	v := b.body.VertexCount()
	p.Vertices = make([]float32, 3*v)
	joints := b.body.Pose(&p.Pose, p.Vertices)

	var targets [JointCount][2]float32
	var weights [JointCount]float32
	if p.Found {
		for j, m := range JointLandmark {
			if m < 0 || lm.Visibility[m] < b.minVis {
				continue
			}
			if j != 1 && j != 2 && j != 16 && j != 17 && !pose.Solved[SMPLParents[j]] {
				continue
			}
			targets[j] = lm.Image[m]
			weights[j] = 1
			p.Fitted[j] = true
		}
	}
	t, ok := FitTranslation(cam, joints[:], targets[:], weights[:])
	if !ok {
		p.Fitted = [JointCount]bool{}
		t = boxTranslation(cam, p.Vertices, p.Box)
	}
	p.CamT = t
	for k := 0; k < v; k++ {
		p.Vertices[3*k] += t[0]
		p.Vertices[3*k+1] += t[1]
		p.Vertices[3*k+2] += t[2]
	}
	var sum float32
	var n int
	for j := range joints {
		p.Joints[j] = add3(joints[j], t)
		if p.Fitted[j] {
			u, v := cam.Project(p.Joints[j])
			sum += float32(math.Hypot(float64(u-targets[j][0]), float64(v-targets[j][1])))
			n++
		}
	}
	if n > 0 {
		p.Reprojection = sum / float32(n)
	}
}

// FitTranslation returns the camera translation T (metres, camera frame) that best puts the
// points X_j (joints posed in the camera's orientation, before translation) onto the pixels
// targets[j] under cam, over the points with weights[j] > 0: the T that minimises
// sum_j w_j |proj(X_j + T) - target_j|^2. It starts from the linear least-squares solution of
// the projection equations multiplied out by the depth, f (X + Tx) - (u - cx)(Z + Tz) = 0 and
// f (Y + Ty) - (v - cy)(Z + Tz) = 0 (the direct linear transform for a translation alone),
// then takes Gauss-Newton steps on the pixel error itself (both solved with gonum's mat). ok is
// false when fewer than two points have weight, or the fit does not put every weighted point
// in front of the camera.
func FitTranslation(cam Camera, joints [][3]float32, targets [][2]float32, weights []float32) (t [3]float32, ok bool) {
	var idx []int
	for j, w := range weights {
		if w > 0 {
			idx = append(idx, j)
		}
	}
	if len(idx) < 2 {
		return t, false
	}
	f := float64(cam.Focal)
	a := mat.NewDense(2*len(idx), 3, nil)
	rhs := mat.NewVecDense(2*len(idx), nil)
	for r, j := range idx {
		w := math.Sqrt(float64(weights[j]))
		X, Y, Z := float64(joints[j][0]), float64(joints[j][1]), float64(joints[j][2])
		du := float64(targets[j][0] - cam.CX)
		dv := float64(targets[j][1] - cam.CY)
		a.SetRow(2*r, []float64{w, 0, -w * du / f})
		rhs.SetVec(2*r, w*(du*Z/f-X))
		a.SetRow(2*r+1, []float64{0, w, -w * dv / f})
		rhs.SetVec(2*r+1, w*(dv*Z/f-Y))
	}
	var sol mat.VecDense
	if err := sol.SolveVec(a, rhs); err != nil {
		return t, false
	}
	T := [3]float64{sol.AtVec(0), sol.AtVec(1), sol.AtVec(2)}
	// Gauss-Newton on the pixel residuals.
	for it := 0; it < 20; it++ {
		var jtj mat.SymDense
		jtj = *mat.NewSymDense(3, nil)
		jtr := mat.NewVecDense(3, nil)
		for _, j := range idx {
			w := float64(weights[j])
			X, Y := float64(joints[j][0])+T[0], float64(joints[j][1])+T[1]
			Z := float64(joints[j][2]) + T[2]
			if Z <= 1e-6 {
				return t, false
			}
			ru := f*X/Z + float64(cam.CX) - float64(targets[j][0])
			rv := f*Y/Z + float64(cam.CY) - float64(targets[j][1])
			rows := [2][3]float64{{f / Z, 0, -f * X / (Z * Z)}, {0, f / Z, -f * Y / (Z * Z)}}
			res := [2]float64{ru, rv}
			for k := 0; k < 2; k++ {
				for p := 0; p < 3; p++ {
					jtr.SetVec(p, jtr.AtVec(p)+w*rows[k][p]*res[k])
					for q := p; q < 3; q++ {
						jtj.SetSym(p, q, jtj.At(p, q)+w*rows[k][p]*rows[k][q])
					}
				}
			}
		}
		var step mat.VecDense
		if err := step.SolveVec(&jtj, jtr); err != nil {
			break
		}
		for p := 0; p < 3; p++ {
			T[p] -= step.AtVec(p)
		}
		if mat.Norm(&step, 2) < 1e-9 {
			break
		}
	}
	for _, j := range idx {
		if !(float64(joints[j][2])+T[2] > 1e-3) {
			return t, false
		}
	}
	for p := range T {
		if math.IsNaN(T[p]) || math.IsInf(T[p], 0) {
			return t, false
		}
		t[p] = float32(T[p])
	}
	return t, true
}

// boxTranslation places posed vertices (camera orientation, before translation) so that their
// bounding box's height spans the person box's height and its centre projects onto the box's
// centre under cam: the placement of a body without landmarks.
func boxTranslation(cam Camera, verts []float32, box human.Box) [3]float32 {
	lo := [3]float32{float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1))}
	hi := [3]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	for k := 0; k+2 < len(verts); k += 3 {
		for c := 0; c < 3; c++ {
			lo[c], hi[c] = min(lo[c], verts[k+c]), max(hi[c], verts[k+c])
		}
	}
	h := max(box.Height(), 1)
	centre := [3]float32{(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2}
	depth := cam.Focal * (hi[1] - lo[1]) / h // distance of the centre from the camera
	bx, by := (box.X1+box.X2)/2, (box.Y1+box.Y2)/2
	return [3]float32{
		(bx-cam.CX)*depth/cam.Focal - centre[0],
		(by-cam.CY)*depth/cam.Focal - centre[1],
		depth - centre[2],
	}
}
