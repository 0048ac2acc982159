package models

import (
	"math"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
	"gonum.org/v1/gonum/num/quat"
)

// OneEuro holds the parameters of a One Euro filter (Casiez, Roussel and Vogel, "1€ Filter: A
// Simple Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012): a
// first-order low-pass filter whose cutoff frequency rises with the signal's speed, so that a
// still signal is smoothed hard and a moving one follows with little lag. Frequencies are in
// cycles per frame (the time unit is the frame), so the filter behaves the same on a signal
// whatever the video's rate.
type OneEuro struct {
	// MinCutoff is the cutoff when the signal is still, in cycles per frame: lower smooths
	// more (and lags more when the signal starts to move).
	MinCutoff float64
	// Beta is how much the cutoff rises with the signal's speed: cutoff = MinCutoff +
	// Beta*|speed|, speed in the signal's units per frame. Higher follows fast moves sooner.
	Beta float64
	// DCutoff is the cutoff of the low-pass filter on the speed, in cycles per frame.
	DCutoff float64
}

// oneEuroAlpha is the smoothing factor of a first-order low-pass filter of cutoff fc (cycles
// per frame) for a step of dt frames: 1 / (1 + tau/dt) with tau = 1/(2 pi fc) (the paper's
// equation for alpha).
func oneEuroAlpha(fc, dt float64) float64 {
	return 1 / (1 + 1/(2*math.Pi*fc*dt))
}

// euroState is one scalar's One Euro state: the filtered value and speed.
type euroState struct {
	x, dx float64
}

// filter returns the filtered value of x, dt frames after the previous one, under p, and
// updates the state.
func (s *euroState) filter(x, dt float64, p OneEuro) float64 {
	return s.filterScaled(x, dt, p, 1)
}

// filterScaled is filter with the speed that raises the cutoff measured in units of 1/scale
// of the signal's (MediaPipe's OneEuroFilter value scale): cutoff = MinCutoff +
// Beta*scale*|speed|.
func (s *euroState) filterScaled(x, dt float64, p OneEuro, scale float64) float64 {
	dx := (x - s.x) / dt
	s.dx += oneEuroAlpha(p.DCutoff, dt) * (dx - s.dx)
	fc := p.MinCutoff + p.Beta*scale*math.Abs(s.dx)
	s.x += oneEuroAlpha(fc, dt) * (x - s.x)
	return s.x
}

// Smoothing defaults, tuned on vtest.avi's walkers with NanoDet-g and BlazePose full under pose
// tracking (10 fps), replaying the 795 frames' found poses through the filters: the drawn joints'
// mean acceleration per track falls to 0.55 of the found poses' (5.8 to 3.2 px/frame^2 in the
// image; pipeline's TestVtestUprightAndSmooth), while a walker's smoothed body stays within
// 1.8 px of the found one's centre (3.2 px per joint), and a step is followed to within 10% a
// frame after it (a 90 degree turn, a move of a fifth of the body's height; smooth_test.go).
// The root follows a turn at once (its Beta is high); the other joints, whose rotations come
// from small, noisy landmark directions, are smoothed hard (Beta 0.1: a limb's swing lags by
// about a frame). Rotations are filtered as unit quaternions (components in [-1, 1]) and the
// translation as its image position (x/z, y/z: the tangent of the angle from the optical
// axis, its speed in body heights per frame) and log depth ln z, so that the same parameters
// fit a person near or far.
var (
	// DefaultSmoothRoot filters the root rotation's quaternion components.
	DefaultSmoothRoot = OneEuro{MinCutoff: 0.02, Beta: 1.5, DCutoff: 0.3}
	// DefaultSmoothRotation filters each other joint rotation's quaternion components.
	DefaultSmoothRotation = OneEuro{MinCutoff: 0.01, Beta: 0.1, DCutoff: 0.3}
	// DefaultSmoothPosition filters x/z and y/z of the translation, its Beta for a speed in
	// body heights per frame (bodyHeight): a walker crossing a tenth of their height a frame
	// gets a cutoff of about 0.5 cycles per frame (a lag of a third of a frame), someone
	// standing still 0.04.
	DefaultSmoothPosition = OneEuro{MinCutoff: 0.04, Beta: 5, DCutoff: 0.3}
	// DefaultSmoothDepth filters ln z of the translation.
	DefaultSmoothDepth = OneEuro{MinCutoff: 0.02, Beta: 8, DCutoff: 0.3}
)

// bodyHeight is the height in metres that the position filter measures speeds in (an adult's,
// about the mannequin's), so that its parameters fit a person near or far: the same walk is
// the same speed in body heights per frame at any depth.
const bodyHeight = 1.7

// smoothForget is how many frames a track may go without a found pose before the smoother
// forgets it: a track whose pose is found again later starts afresh from that pose.
const smoothForget = DefaultHoldFrames

// PoseSmoother smooths each track's found poses over time with One Euro filters: every joint
// rotation (root and the 23 others, as quaternions kept in one hemisphere from frame to frame)
// and the camera translation (x/z, y/z and ln z), then poses the body model again with the
// smoothed rotations (Body.Pose) and places it at the smoothed translation: Pose, CamT,
// Vertices and Joints all change. A track's first found pose, and its first after more than
// smoothForget frames without one, starts the filters. Betas are left as they are; the vertices
// are the body model's, also for a pose model that gave its own (HMR2's pred_vertices). People
// whose pose is held or missing, and untracked people (TrackID 0), are left alone. It is a
// stages.PeopleFilter: frames must come in stream order, numbered by Seq, from one goroutine;
// it allocates only when a track is new.
type PoseSmoother struct {
	// Root, Rotation, Position and Depth are the filters' parameters: for the root
	// rotation (GlobalOrient), the other 23 joint rotations, the image position and the depth
	// (DefaultSmoothRoot, DefaultSmoothRotation, DefaultSmoothPosition, DefaultSmoothDepth by
	// default).
	Root, Rotation, Position, Depth OneEuro

	body   *Body
	tracks map[int]*smoothTrack
	free   freeList[smoothTrack] // forgotten tracks' states
}

// smoothTrack is one track's filter state: 4 quaternion components for each of the 24 joint
// rotations, 3 for the translation, and the frame of its last found pose.
type smoothTrack struct {
	rot   [JointCount][4]euroState
	t     [3]euroState
	last  int64
	fresh bool
	prevQ [JointCount]quat.Number
}

// NewPoseSmoother returns a PoseSmoother with the default parameters that poses body (the
// body the pose estimator poses: the same vertex count).
func NewPoseSmoother(body *Body) *PoseSmoother {
	return &PoseSmoother{
		Root: DefaultSmoothRoot, Rotation: DefaultSmoothRotation, Position: DefaultSmoothPosition, Depth: DefaultSmoothDepth,
		body: body, tracks: map[int]*smoothTrack{},
	}
}

// FilterPeople smooths the found poses of f's tracked people (see PoseSmoother). It never
// fails.
func (s *PoseSmoother) FilterPeople(f *rawvideo.Frame, people []human.Person) error {
	for i := range people {
		p := &people[i]
		if p.TrackID == 0 || p.Status != human.PoseFound {
			continue
		}
		st := s.tracks[p.TrackID]
		if st == nil {
			st = s.free.get()
			st.fresh = true
			s.tracks[p.TrackID] = st
		}
		dt := float64(f.Seq - st.last)
		if st.fresh || dt <= 0 || dt > smoothForget {
			s.start(st, p)
		} else {
			s.smooth(st, p, dt)
		}
		st.last, st.fresh = f.Seq, false
	}
	for id, st := range s.tracks {
		if f.Seq-st.last > smoothForget {
			delete(s.tracks, id)
			s.free.put(st)
		}
	}
	return nil
}

// start sets st's filters to p's pose as it is.
func (s *PoseSmoother) start(st *smoothTrack, p *human.Person) {
	for j := range JointCount {
		q := matrixQuat(jointRotation(&p.Pose, j))
		st.prevQ[j] = q
		for c, v := range [4]float64{q.Real, q.Imag, q.Jmag, q.Kmag} {
			st.rot[j][c] = euroState{x: v}
		}
	}
	for c, v := range translationCoords(p.CamT) {
		st.t[c] = euroState{x: v}
	}
}

// smooth filters p's pose, dt frames after the track's previous one, and poses the body again.
func (s *PoseSmoother) smooth(st *smoothTrack, p *human.Person, dt float64) {
	for j := range JointCount {
		q := matrixQuat(jointRotation(&p.Pose, j))
		if quatDot(q, st.prevQ[j]) < 0 { // the same rotation, in the previous one's hemisphere
			q = quat.Scale(-1, q)
		}
		st.prevQ[j] = q
		params := s.Rotation
		if j == 0 {
			params = s.Root
		}
		var out [4]float64
		for c, v := range [4]float64{q.Real, q.Imag, q.Jmag, q.Kmag} {
			out[c] = st.rot[j][c].filter(v, dt, params)
		}
		sq := quat.Number{Real: out[0], Imag: out[1], Jmag: out[2], Kmag: out[3]}
		if n := quat.Abs(sq); n > 1e-9 {
			sq = quat.Scale(1/n, sq)
		} else {
			sq = q
		}
		setJointRotation(&p.Pose, j, quatMatrix(sq))
	}
	tc := translationCoords(p.CamT)
	var out [3]float64
	// The image position's speed in body heights per frame: x/z times z over the height.
	heights := math.Max(float64(p.CamT[2]), 1e-6) / bodyHeight
	out[0] = st.t[0].filterScaled(tc[0], dt, s.Position, heights)
	out[1] = st.t[1].filterScaled(tc[1], dt, s.Position, heights)
	out[2] = st.t[2].filter(tc[2], dt, s.Depth)
	z := math.Exp(out[2])
	p.CamT = [3]float32{float32(out[0] * z), float32(out[1] * z), float32(z)}
	verts := p.VertexBuffer(3 * s.body.VertexCount())
	joints := s.body.Pose(&p.Pose, verts)
	for k := 0; k+2 < len(verts); k += 3 {
		verts[k] += p.CamT[0]
		verts[k+1] += p.CamT[1]
		verts[k+2] += p.CamT[2]
	}
	for j := range joints {
		p.Joints[j] = add3(joints[j], p.CamT)
	}
}

// translationCoords returns the coordinates the translation t is filtered in: x/z, y/z and
// ln z (z is positive: the body is in front of the camera).
func translationCoords(t [3]float32) [3]float64 {
	z := math.Max(float64(t[2]), 1e-6)
	return [3]float64{float64(t[0]) / z, float64(t[1]) / z, math.Log(z)}
}

// jointRotation returns joint j's rotation of p: the root's (GlobalOrient) for 0, else
// BodyPose's matrix for j.
func jointRotation(p *human.Pose, j int) [9]float32 {
	if j == 0 {
		return p.GlobalOrient
	}
	var m [9]float32
	copy(m[:], p.BodyPose[(j-1)*9:j*9])
	return m
}

// setJointRotation sets joint j's rotation of p (see jointRotation).
func setJointRotation(p *human.Pose, j int, m [9]float32) {
	if j == 0 {
		p.GlobalOrient = m
		return
	}
	copy(p.BodyPose[(j-1)*9:j*9], m[:])
}

// matrixQuat returns the unit quaternion of the row-major rotation matrix m (Shepperd's method:
// the largest of the four squared components is found first, for accuracy).
func matrixQuat(m [9]float32) quat.Number {
	r := func(i, j int) float64 { return float64(m[3*i+j]) }
	tr := r(0, 0) + r(1, 1) + r(2, 2)
	var q quat.Number
	switch {
	case tr > r(0, 0) && tr > r(1, 1) && tr > r(2, 2):
		w := math.Sqrt(1+tr) * 2
		q = quat.Number{Real: w / 4, Imag: (r(2, 1) - r(1, 2)) / w, Jmag: (r(0, 2) - r(2, 0)) / w, Kmag: (r(1, 0) - r(0, 1)) / w}
	case r(0, 0) > r(1, 1) && r(0, 0) > r(2, 2):
		w := math.Sqrt(1+r(0, 0)-r(1, 1)-r(2, 2)) * 2
		q = quat.Number{Real: (r(2, 1) - r(1, 2)) / w, Imag: w / 4, Jmag: (r(0, 1) + r(1, 0)) / w, Kmag: (r(0, 2) + r(2, 0)) / w}
	case r(1, 1) > r(2, 2):
		w := math.Sqrt(1+r(1, 1)-r(0, 0)-r(2, 2)) * 2
		q = quat.Number{Real: (r(0, 2) - r(2, 0)) / w, Imag: (r(0, 1) + r(1, 0)) / w, Jmag: w / 4, Kmag: (r(1, 2) + r(2, 1)) / w}
	default:
		w := math.Sqrt(1+r(2, 2)-r(0, 0)-r(1, 1)) * 2
		q = quat.Number{Real: (r(1, 0) - r(0, 1)) / w, Imag: (r(0, 2) + r(2, 0)) / w, Jmag: (r(1, 2) + r(2, 1)) / w, Kmag: w / 4}
	}
	if n := quat.Abs(q); n > 0 {
		q = quat.Scale(1/n, q)
	}
	return q
}

// quatDot returns the 4-D dot product of a and b.
func quatDot(a, b quat.Number) float64 {
	return a.Real*b.Real + a.Imag*b.Imag + a.Jmag*b.Jmag + a.Kmag*b.Kmag
}
