package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
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
	b := landmarkBox(l)
	return max(b.Width(), b.Height())
}

// minPoseScore is the pose-flag probability below which the region is taken to hold no body.
// MediaPipe gates at 0.5 (tensors_to_pose_landmarks_and_segmentation.pbtxt,
// ThresholdingCalculator), where its own detector is the only other judge; here a person
// detector has already vouched for the box, and at flags of 0.3 to 0.5 the landmarks of
// blurred, low-resolution or partly hidden people (g1.avi's cyclist, the test photos) were
// still sound when we looked, so the gate is lower (our choice).
const minPoseScore = 0.3

// maxUprightLean is the most, in radians, that a body found in an upright box may lean from
// the image's vertical (hips' middle to shoulders' middle, in frame pixels): 45 degrees (issue
// 16: no body drawn sideways or upside down when the person stands upright). Beyond it the
// landmarks are taken for a wrong reading (the landmark model, given a region turned the wrong
// way round, draws an upright body in the region: upside down in the frame).
const maxUprightLean = math.Pi / 4

// uprightAspect is the least height/width ratio of a person box for the person to be taken as
// standing upright: a body of length L leaning by t spans about L sin t across and L cos t
// down, so a box 1.5 times as high as wide holds no body leaning more than about 34 degrees
// (our choice; walkers in vtest.avi have boxes 2 to 3.5 times as high as wide).
const uprightAspect = 1.5

// leansInUprightBox reports whether lm's body leans more than maxUprightLean from the vertical
// although its box says the person stands upright (see uprightAspect).
func leansInUprightBox(lm *Landmarks, box human.Box) bool {
	if !upright(box) {
		return false
	}
	hx := (lm.Image[LmLeftHip][0] + lm.Image[LmRightHip][0]) / 2
	hy := (lm.Image[LmLeftHip][1] + lm.Image[LmRightHip][1]) / 2
	sx := (lm.Image[LmLeftShoulder][0] + lm.Image[LmRightShoulder][0]) / 2
	sy := (lm.Image[LmLeftShoulder][1] + lm.Image[LmRightShoulder][1]) / 2
	// The angle from image up (y down) to the hips-to-shoulders direction, in [0, pi].
	lean := math.Atan2(math.Abs(float64(sx-hx)), float64(hy-sy))
	return lean > maxUprightLean
}

// BlazePose recovers bodies with BlazePose GHUM's landmark model (a converted graph model; see
// scripts/tfjs_to_onnx.py) and inverse kinematics: each person box becomes a region of
// interest (EstimateDetailed), the regions of a frame run as one batch, the 33 landmarks drive the body's
// 24-joint tree (IK.Solve), and the camera translation is fitted so that the body's joints
// project onto the image landmarks (FitTranslation) under the contract's camera (NewCamera).
// It implements the same Estimate as PoseEstimator and is safe for concurrent use when its
// Runners are. With RunnerInto Runners (models/ort.Session) and people buffers kept from frame
// to frame (EstimateInto), a steady stream of frames allocates nothing.
type BlazePose struct {
	runner  Runner
	body    *Body
	ik      *IK
	name    string
	opt     BlazePoseOptions
	minVis  float32
	scratch freeList[blazeScratch] // one per call in progress, reused across frames
}

// blazeScratch is what one batch works in: the regions and their landmarks, the model inputs
// and outputs of both passes and of the detector.
type blazeScratch struct {
	regs       []region
	boxes      []ROI // each region's box-placed ROI (ROIOfBox)
	rois       []ROI // the first pass's regions
	byDetector []bool
	again      []int // the regions that get a second pass
	againRegs  []region
	next       []ROI
	lms        []Landmarks // per region, the pass that found the body more surely
	second     []Landmarks
	crops      []float32
	shape      [4]int64
	out        map[string]Tensor
	det        detectorScratch
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
	// Found is false when the model saw no body in the region (pose flag below 0.3), or one
	// leaning more than 45 degrees from the vertical in a box that says the person stands
	// upright (at least 1.5 times as high as wide): the person's Status is then
	// human.PoseMissing (not drawn), and the body, for the record, keeps the neutral pose
	// placed by its box.
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
// same order: EstimateInto into new buffers (nil for a frame without people).
func (b *BlazePose) EstimateBatch(frames []*rawvideo.Frame, dets [][]human.Detection) ([][]human.Person, error) {
	people := make([][]human.Person, len(frames))
	if err := b.EstimateInto(frames, dets, people); err != nil {
		return nil, err
	}
	return people, nil
}

// EstimateInto sets people[i], for each frame frames[i], to one Person per detection of
// dets[i], in the same order: EstimateDetailed's people without their landmarks, reusing the
// array and vertex buffers people[i] holds (human.Reuse: also those beyond its length). After
// an error people holds partial results.
func (b *BlazePose) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	if len(people) != len(frames) {
		return fmt.Errorf("pose: %d frames but %d people lists", len(frames), len(people))
	}
	s, err := b.landmarksOf(frames, dets)
	if s != nil {
		defer b.scratch.put(s)
	}
	if err != nil {
		return err
	}
	k := 0
	for i, f := range frames {
		people[i] = human.Reuse(people[i], len(dets[i]))
		if len(dets[i]) == 0 {
			continue
		}
		cam := NewCamera(f.Width, f.Height)
		for d := range dets[i] {
			p := &people[i][d]
			p.Detection = dets[i][d]
			b.place(p, &s.lms[k], cam)
			k++
		}
	}
	return nil
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
	s, err := b.landmarksOf(frames, dets)
	if s != nil {
		defer b.scratch.put(s)
	}
	if err != nil {
		return nil, err
	}
	res := make([][]BlazePosePerson, len(frames))
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
			p.Landmarks = s.lms[k]
			fit := b.place(&p.Person, &p.Landmarks, cam)
			p.Found, p.Solved, p.Fitted, p.Reprojection = fit.found, fit.solved, fit.fitted, fit.reprojection
			k++
		}
	}
	return res, nil
}

// landmarksOf finds the landmarks of every detection of every frame, in order, into the
// scratch it returns (s.lms), which the caller puts back into b.scratch when done with it, also
// after an error (nil only when the arguments do not match).
func (b *BlazePose) landmarksOf(frames []*rawvideo.Frame, dets [][]human.Detection) (*blazeScratch, error) {
	if len(frames) != len(dets) {
		return nil, fmt.Errorf("pose: %d frames but %d detection lists", len(frames), len(dets))
	}
	s := b.scratch.get()
	if s.out == nil {
		s.out, s.det.out = map[string]Tensor{}, map[string]Tensor{}
	}
	s.regs = s.regs[:0]
	for i, f := range frames {
		for _, d := range dets[i] {
			s.regs = append(s.regs, region{f, d})
		}
	}
	if len(s.regs) == 0 {
		return s, nil
	}
	// First regions: the detector's where it finds the person, else the boxes'.
	s.boxes, s.rois = s.boxes[:0], s.rois[:0]
	for _, r := range s.regs {
		s.boxes = append(s.boxes, ROIOfBox(r.det.Box))
	}
	s.rois = append(s.rois, s.boxes...)
	s.byDetector = s.byDetector[:0]
	if b.opt.Detector != nil {
		if err := b.detect(&s.det, s.regs); err != nil {
			return s, err
		}
		for i := range s.rois {
			if s.det.ok[i] {
				s.rois[i] = s.det.rois[i]
			}
		}
		s.byDetector = append(s.byDetector, s.det.ok...)
	}
	var err error
	if s.lms, err = b.landmarks(s, s.lms, s.regs, s.rois); err != nil {
		return s, err
	}
	// Where the detector's region shows no body, or one leaning over in an upright box (the
	// region turned the wrong way), the box's own upright region gets a second try; the pass
	// that finds an upright body more surely is kept.
	s.again, s.againRegs, s.next = s.again[:0], s.againRegs[:0], s.next[:0]
	for i := range s.byDetector {
		if s.byDetector[i] && !b.sound(&s.lms[i], s.regs[i].det.Box) {
			s.again, s.againRegs, s.next = append(s.again, i), append(s.againRegs, s.regs[i]), append(s.next, s.boxes[i])
		}
	}
	if len(s.next) > 0 {
		if s.second, err = b.landmarks(s, s.second, s.againRegs, s.next); err != nil {
			return s, err
		}
		for k, i := range s.again {
			box := s.regs[i].det.Box
			first, second := b.sound(&s.lms[i], box), b.sound(&s.second[k], box)
			if second && !first || second == first && s.second[k].Score > s.lms[i].Score {
				s.lms[i] = s.second[k]
			}
		}
	}
	return s, nil
}

// sound reports whether lm holds a body (pose flag at least minPoseScore) that does not lean
// over in box if box is upright (leansInUprightBox).
func (b *BlazePose) sound(lm *Landmarks, box human.Box) bool {
	return lm.Score >= minPoseScore && !leansInUprightBox(lm, box)
}

// landmarks runs the landmark model on region rois[i] of regs[i]'s frame, all as one batch,
// and returns their landmarks in lms (reused).
func (b *BlazePose) landmarks(s *blazeScratch, lms []Landmarks, regs []region, rois []ROI) ([]Landmarks, error) {
	const per = BlazePoseSize * BlazePoseSize * 3
	s.crops = resize(s.crops, len(rois)*per)
	for i, r := range rois {
		CropROI(s.crops[i*per:(i+1)*per], regs[i].frame, r)
	}
	s.shape = [4]int64{int64(len(rois)), BlazePoseSize, BlazePoseSize, 3}
	if err := runInto(b.runner, Tensor{Shape: s.shape[:], Data: s.crops}, s.out); err != nil {
		return lms, err
	}
	var vals [3][]float32
	for k, spec := range BlazePoseOutputs {
		t, ok := s.out[spec.Name]
		want := len(rois) * int(spec.Shape[1])
		if !ok || len(t.Data) != want {
			return lms, fmt.Errorf("model %s: output %s has %d values for a batch of %d, want %d (shape %v)",
				b.name, spec.Name, len(t.Data), len(rois), want, spec.Shape)
		}
		vals[k] = t.Data
	}
	lms = slices.Grow(lms[:0], len(rois))[:len(rois)]
	const nl, nw = (LandmarkCount + blazePoseAux) * 5, (LandmarkCount + blazePoseAux) * 3
	for i := range rois {
		lms[i] = decodeLandmarks(vals[0][i*nl:(i+1)*nl], vals[1][i*nw:(i+1)*nw], vals[2][i], rois[i])
		if err := checkFinite(&lms[i]); err != nil {
			return lms, fmt.Errorf("model %s: frame %d: %w", b.name, regs[i].frame.Seq, err)
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

// placement is how place placed a body: the details BlazePosePerson reports.
type placement struct {
	found          bool
	solved, fitted [JointCount]bool
	reprojection   float32
}

// place poses p's body from its landmarks lm and places it in the camera frame: p's Pose,
// CamT, Vertices (its buffer reused) and Joints.
func (b *BlazePose) place(p *human.Person, lm *Landmarks, cam Camera) placement {
	var fit placement
	fit.found = b.sound(lm, p.Box)
	if !fit.found {
		p.Status = human.PoseMissing
	}
	var pose IKPose
	if fit.found {
		pose = b.ik.Solve(lm, b.minVis)
	} else {
		pose = b.ik.Neutral()
	}
	p.Pose = human.Pose{GlobalOrient: pose.GlobalOrient, BodyPose: pose.BodyPose}
	fit.solved = pose.Solved
	v := b.body.VertexCount()
	verts := p.VertexBuffer(3 * v)
	joints := b.body.Pose(&p.Pose, verts)

	var targets [JointCount][2]float32
	var weights [JointCount]float32
	if fit.found {
		for j, m := range JointLandmark {
			if m < 0 || lm.Visibility[m] < b.minVis {
				continue
			}
			if j != 1 && j != 2 && j != 16 && j != 17 && !pose.Solved[SMPLParents[j]] {
				continue
			}
			targets[j] = lm.Image[m]
			weights[j] = 1
			fit.fitted[j] = true
		}
	}
	t, ok := FitTranslation(cam, joints[:], targets[:], weights[:])
	if !ok {
		fit.fitted = [JointCount]bool{}
		t = boxTranslation(cam, verts, p.Box)
	}
	p.CamT = t
	for k := 0; k < v; k++ {
		verts[3*k] += t[0]
		verts[3*k+1] += t[1]
		verts[3*k+2] += t[2]
	}
	var sum float32
	var n int
	for j := range joints {
		p.Joints[j] = add3(joints[j], t)
		if fit.fitted[j] {
			u, v := cam.Project(p.Joints[j])
			sum += float32(math.Hypot(float64(u-targets[j][0]), float64(v-targets[j][1])))
			n++
		}
	}
	if n > 0 {
		fit.reprojection = sum / float32(n)
	}
	return fit
}

// FitTranslation returns the camera translation T (metres, camera frame) that best puts the
// points X_j (joints posed in the camera's orientation, before translation) onto the pixels
// targets[j] under cam, over the points with weights[j] > 0: the T that minimises
// sum_j w_j |proj(X_j + T) - target_j|^2. It starts from the linear least-squares solution of
// the projection equations multiplied out by the depth, f (X + Tx) - (u - cx)(Z + Tz) = 0 and
// f (Y + Ty) - (v - cy)(Z + Tz) = 0 (the direct linear transform for a translation alone),
// then takes Gauss-Newton steps on the pixel error itself; both solve 3x3 normal equations
// (solveSPD). ok is false when fewer than two points have weight, the equations are singular,
// or the fit does not put every weighted point in front of the camera. It allocates nothing.
func FitTranslation(cam Camera, joints [][3]float32, targets [][2]float32, weights []float32) (t [3]float32, ok bool) {
	n := 0
	for _, w := range weights {
		if w > 0 {
			n++
		}
	}
	if n < 2 {
		return t, false
	}
	f := float64(cam.Focal)
	var ata [maxSolve][maxSolve]float64
	var T [maxSolve]float64
	for j, wt := range weights {
		if !(wt > 0) {
			continue
		}
		w := float64(wt)
		X, Y, Z := float64(joints[j][0]), float64(joints[j][1]), float64(joints[j][2])
		du := float64(targets[j][0] - cam.CX)
		dv := float64(targets[j][1] - cam.CY)
		addNormal(&ata, &T, w, [2][3]float64{{1, 0, -du / f}, {0, 1, -dv / f}}, [2]float64{du*Z/f - X, dv*Z/f - Y})
	}
	if !solveSPD(&ata, &T, 3) {
		return t, false
	}
	// Gauss-Newton on the pixel residuals.
	for it := 0; it < 20; it++ {
		var jtj [maxSolve][maxSolve]float64
		var step [maxSolve]float64
		for j, wt := range weights {
			if !(wt > 0) {
				continue
			}
			w := float64(wt)
			X, Y := float64(joints[j][0])+T[0], float64(joints[j][1])+T[1]
			Z := float64(joints[j][2]) + T[2]
			if Z <= 1e-6 {
				return t, false
			}
			ru := f*X/Z + float64(cam.CX) - float64(targets[j][0])
			rv := f*Y/Z + float64(cam.CY) - float64(targets[j][1])
			addNormal(&jtj, &step, w, [2][3]float64{{f / Z, 0, -f * X / (Z * Z)}, {0, f / Z, -f * Y / (Z * Z)}}, [2]float64{ru, rv})
		}
		if !solveSPD(&jtj, &step, 3) {
			break
		}
		for p := 0; p < 3; p++ {
			T[p] -= step[p]
		}
		if math.Sqrt(step[0]*step[0]+step[1]*step[1]+step[2]*step[2]) < 1e-9 {
			break
		}
	}
	for j, w := range weights {
		if w > 0 && !(float64(joints[j][2])+T[2] > 1e-3) {
			return t, false
		}
	}
	for p := range 3 {
		if math.IsNaN(T[p]) || math.IsInf(T[p], 0) {
			return t, false
		}
		t[p] = float32(T[p])
	}
	return t, true
}

// addNormal adds two weighted rows of a 3-unknown least-squares problem to its normal
// equations: ata += w rows^T rows and atb += w rows^T rhs.
func addNormal(ata *[maxSolve][maxSolve]float64, atb *[maxSolve]float64, w float64, rows [2][3]float64, rhs [2]float64) {
	for k := range rows {
		for p := 0; p < 3; p++ {
			atb[p] += w * rows[k][p] * rhs[k]
			for q := 0; q < 3; q++ {
				ata[p][q] += w * rows[k][p] * rows[k][q]
			}
		}
	}
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
