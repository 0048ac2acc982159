package models

import (
	"math"

	"gonum.org/v1/gonum/num/quat"
	"gonum.org/v1/gonum/spatial/r3"
)

// LandmarkCount is the number of BlazePose GHUM body landmarks (MediaPipe's pose landmark
// topology; the model's six further auxiliary points are not part of it).
const LandmarkCount = 33

// BlazePose landmark indices (MediaPipe pose_landmark_by_roi_cpu.pbtxt). Left and right are the
// person's own.
const (
	LmNose = iota
	LmLeftEyeInner
	LmLeftEye
	LmLeftEyeOuter
	LmRightEyeInner
	LmRightEye
	LmRightEyeOuter
	LmLeftEar
	LmRightEar
	LmMouthLeft
	LmMouthRight
	LmLeftShoulder
	LmRightShoulder
	LmLeftElbow
	LmRightElbow
	LmLeftWrist
	LmRightWrist
	LmLeftPinky
	LmRightPinky
	LmLeftIndex
	LmRightIndex
	LmLeftThumb
	LmRightThumb
	LmLeftHip
	LmRightHip
	LmLeftKnee
	LmRightKnee
	LmLeftAnkle
	LmRightAnkle
	LmLeftHeel
	LmRightHeel
	LmLeftFootIndex
	LmRightFootIndex
)

// JointLandmark maps SMPL joints to the BlazePose landmark at the same place, -1 where there is
// none (pelvis, spine, neck, collars, head, feet and hands: their places are not landmarks).
// These are the joints whose projections the camera fit matches to the image landmarks.
var JointLandmark = [JointCount]int{
	-1, LmLeftHip, LmRightHip, -1, LmLeftKnee, LmRightKnee, -1, LmLeftAnkle, LmRightAnkle, -1, -1, -1,
	-1, -1, -1, -1, LmLeftShoulder, LmRightShoulder, LmLeftElbow, LmRightElbow, LmLeftWrist, LmRightWrist, -1, -1,
}

// MinVisibility is the visibility below which a limb's landmark counts as not seen, so that the
// limb keeps its neutral pose: MediaPipe's own default for drawing a landmark
// (drawing_utils.py: _VISIBILITY_THRESHOLD = 0.5).
const MinVisibility = 0.5

// minBend is the smallest knee or elbow bend, in radians, from which the hinge fixes the twist of
// the thigh or upper arm; a straighter limb gives no twist, so the twist is left as small as can
// be (the rotation from the parent's frame along the shortest arc).
const minBend = 10 * math.Pi / 180

// neutralArm is how far each arm is lowered from the T-pose when it is not seen: 75 degrees,
// about the z axis, so that it hangs beside the body.
const neutralArm = 75 * math.Pi / 180

// The face in the head joint's frame (SMPL body frame axes: x to the body's left, y up, z
// forward; metres), rest pose. Our own round numbers for an adult head; only the directions
// between these points are used (the head's rotation is the one that turns the ear line and the
// ears-to-nose direction of this face into the landmarks' ones).
var (
	restNose     = r3.Vec{X: 0, Y: 0.03, Z: 0.10}
	restLeftEar  = r3.Vec{X: 0.075, Y: 0.04, Z: 0}
	restRightEar = r3.Vec{X: -0.075, Y: 0.04, Z: 0}
)

// limb is one arm or leg on SMPL's tree and its landmarks.
type limb struct {
	// joints: the limb's root (hip, shoulder), middle (knee, elbow), end (ankle, wrist) and tip
	// (foot, hand) joints.
	joints [4]int
	// marks: the landmarks at the root, middle and end joints.
	marks [3]int
	// tip: the landmarks whose mean gives the direction from the end joint to the tip.
	tip []int
	// hinge is the middle joint's flexion axis in the rest pose (body frame): a positive
	// rotation about it bends the limb the way a knee or an elbow bends.
	hinge r3.Vec
	// neutral is the root joint's rotation relative to its parent when the limb is not seen.
	neutral quat.Number
}

// The knees bend about x (the shin swings backwards, to -z); the elbows, in SMPL's T-pose with
// the palms down, bend forwards (the forearm swings to +z): about -y on the left (+x) arm and
// +y on the right.
var limbs = [4]limb{
	{[4]int{1, 4, 7, 10}, [3]int{LmLeftHip, LmLeftKnee, LmLeftAnkle}, []int{LmLeftFootIndex}, r3.Vec{X: 1}, quat.Number{Real: 1}},
	{[4]int{2, 5, 8, 11}, [3]int{LmRightHip, LmRightKnee, LmRightAnkle}, []int{LmRightFootIndex}, r3.Vec{X: 1}, quat.Number{Real: 1}},
	{[4]int{16, 18, 20, 22}, [3]int{LmLeftShoulder, LmLeftElbow, LmLeftWrist}, []int{LmLeftIndex, LmLeftPinky}, r3.Vec{Y: -1},
		quat.Number(r3.NewRotation(-neutralArm, r3.Vec{Z: 1}))},
	{[4]int{17, 19, 21, 23}, [3]int{LmRightShoulder, LmRightElbow, LmRightWrist}, []int{LmRightIndex, LmRightPinky}, r3.Vec{Y: 1},
		quat.Number(r3.NewRotation(neutralArm, r3.Vec{Z: 1}))},
}

// IK turns BlazePose landmarks into rotations on a body's 24-joint tree. It keeps only the
// body's rest joints and its neutral pose, so one IK may be used from several goroutines at
// once. Solve and Neutral allocate nothing.
type IK struct {
	joints  [JointCount]r3.Vec
	neutral IKPose
}

// NewIK returns an IK for body's rest skeleton: its joints with zero betas (Body.Joints, or the
// joint regressor applied to the template when the body has one, as Body.Pose does).
func NewIK(body *Body) *IK {
	ik := &IK{}
	joints := body.Joints
	if body.JRegressor != nil {
		joints = body.regress(body.Template)
	}
	for j, p := range joints {
		ik.joints[j] = r3.Vec{X: float64(p[0]), Y: float64(p[1]), Z: float64(p[2])}
	}
	ik.neutral = ik.solveNeutral()
	return ik
}

// IKPose is the result of IK.Solve.
type IKPose struct {
	// GlobalOrient and BodyPose are as in Pose: row-major rotation matrices, the root's from the
	// body frame to the camera frame, the others relative to their parents, joints 1..23.
	GlobalOrient [9]float32
	BodyPose     [23 * 9]float32
	// Solved marks the joints whose rotations came from landmarks; the others hold a default
	// (see Solve).
	Solved [JointCount]bool
}

// Solve finds the rotations that point the body's bones along the landmarks' world
// coordinates (Landmarks.World: metres, x right, y down, z away from the camera, so the
// rotations come out in the camera frame). Only directions between landmarks are used, so the
// body's own bone lengths are kept. Landmarks with visibility below minVis count as not seen.
//
//   - Torso: the root rotation R and one rotation Q shared by spine1, spine2 and spine3 are
//     fitted, by least squares over unit vectors, to the hip line (right hip to left hip), the
//     shoulder line and the hips-to-shoulders direction. Q turns about the body's up (y) and
//     forward (z) axes only: the spine twists and bends sideways evenly, and a forward or
//     backward lean is the root's (hips and shoulders alone cannot tell a bent spine from a
//     tilted pelvis). This always runs, whatever the visibilities, since every other part
//     hangs from it.
//   - Collars: no landmarks; they keep the rest pose (identity).
//   - Neck and head: when the nose and both ears are seen, the head's rotation is the one that
//     turns the rest face's ear line and ears-to-nose direction into the landmarks'; the neck
//     and the head each take half of it relative to spine3. Otherwise both keep identity.
//   - Limbs (hip-knee-ankle-foot, shoulder-elbow-wrist-hand): when the root and middle
//     landmarks are seen, the upper bone points at the middle landmark. When the end landmark
//     is seen too and the limb bends by minBend or more, the upper bone's twist puts the
//     knee's or elbow's flexion axis across the bend (hingeAxis) and the knee or elbow turns
//     about that axis (hingeBend); otherwise the twist is the least turn from the parent. The
//     lower bone then points at the end landmark (what the hinge leaves is made up by the least
//     turn), and the end joint points the foot at the foot index or the hand at the mean of
//     the index and pinky knuckles, when those are seen. A limb whose root or middle landmark is not seen keeps its
//     neutral pose (legs straight down; arms lowered 75 degrees from the T-pose to hang at the
//     sides), and an unseen end keeps the middle joint straight.
//   - Feet and hands (SMPL joints 10, 11, 22, 23): identity.
func (ik *IK) Solve(lm *Landmarks, minVis float32) IKPose {
	var world [JointCount]quat.Number
	var solved [JointCount]bool
	L := func(i int) r3.Vec {
		p := lm.World[i]
		return r3.Vec{X: float64(p[0]), Y: float64(p[1]), Z: float64(p[2])}
	}
	seen := func(i int) bool { return lm.Visibility[i] >= minVis }

	// Torso.
	hipLine := r3.Unit(r3.Sub(L(LmLeftHip), L(LmRightHip)))
	shoulderLine := r3.Unit(r3.Sub(L(LmLeftShoulder), L(LmRightShoulder)))
	up := r3.Unit(r3.Sub(mid(L(LmLeftShoulder), L(LmRightShoulder)), mid(L(LmLeftHip), L(LmRightHip))))
	root, spine := ik.fitTorso(hipLine, shoulderLine, up)
	world[0] = root
	world[3] = quat.Mul(root, spine)
	world[6] = quat.Mul(world[3], spine)
	world[9] = quat.Mul(world[6], spine)
	world[13], world[14] = world[9], world[9]
	for _, j := range []int{0, 3, 6, 9} {
		solved[j] = true
	}

	// Neck and head.
	world[12], world[15] = world[9], world[9]
	if seen(LmNose) && seen(LmLeftEar) && seen(LmRightEar) {
		ears := mid(L(LmLeftEar), L(LmRightEar))
		head := frameMatch(r3.Sub(restLeftEar, restRightEar), r3.Sub(restNose, mid(restLeftEar, restRightEar)),
			r3.Sub(L(LmLeftEar), L(LmRightEar)), r3.Sub(L(LmNose), ears))
		rel := quat.Mul(quat.Conj(world[9]), head)
		half := powUnit(rel, 0.5)
		world[12] = quat.Mul(world[9], half)
		world[15] = quat.Mul(world[12], half)
		solved[12], solved[15] = true, true
	}

	// Limbs.
	for _, lb := range limbs {
		a, b, c, t := lb.joints[0], lb.joints[1], lb.joints[2], lb.joints[3]
		parent := world[SMPLParents[a]]
		r1 := r3.Unit(r3.Sub(ik.joints[b], ik.joints[a]))
		r2 := r3.Unit(r3.Sub(ik.joints[c], ik.joints[b]))
		r3v := r3.Unit(r3.Sub(ik.joints[t], ik.joints[c]))
		if !seen(lb.marks[0]) || !seen(lb.marks[1]) {
			world[a] = quat.Mul(parent, lb.neutral)
			world[b], world[c], world[t] = world[a], world[a], world[a]
			continue
		}
		d1 := r3.Unit(r3.Sub(L(lb.marks[1]), L(lb.marks[0])))
		endSeen := seen(lb.marks[2])
		var d2 r3.Vec
		bent := false
		if endSeen {
			d2 = r3.Unit(r3.Sub(L(lb.marks[2]), L(lb.marks[1])))
			bent = r3.Norm(r3.Cross(d1, d2)) >= math.Sin(minBend) && r3.Dot(d1, d2) < math.Cos(minBend)
		}
		if bent {
			world[a] = frameMatch(r1, lb.hinge, d1, hingeAxis(r1, r2, lb.hinge, d1, d2))
		} else {
			world[a] = quat.Mul(arc(rotate(parent, r1), d1), parent)
		}
		solved[a] = true
		world[b] = world[a]
		if endSeen {
			t := rotate(quat.Conj(world[a]), d2) // the lower bone's direction in the upper's frame
			bend := quat.Number{Real: 1}
			if bent {
				bend = hingeBend(lb.hinge, r2, t)
			}
			world[b] = quat.Mul(world[a], quat.Mul(arc(rotate(bend, r2), t), bend))
			solved[b] = true
		}
		world[c] = world[b]
		tipSeen := endSeen
		var tip r3.Vec
		for _, m := range lb.tip {
			tipSeen = tipSeen && seen(m)
			tip = r3.Add(tip, r3.Scale(1/float64(len(lb.tip)), L(m)))
		}
		if tipSeen {
			d3 := r3.Unit(r3.Sub(tip, L(lb.marks[2])))
			world[c] = quat.Mul(world[b], arc(r3v, rotate(quat.Conj(world[b]), d3)))
			solved[c] = true
		}
		world[t] = world[c]
	}

	var out IKPose
	out.Solved = solved
	out.GlobalOrient = quatMatrix(world[0])
	for j := 1; j < JointCount; j++ {
		local := quat.Mul(quat.Conj(world[SMPLParents[j]]), world[j])
		m := quatMatrix(local)
		copy(out.BodyPose[(j-1)*9:], m[:])
	}
	return out
}

// Neutral returns the pose the body keeps when there are no landmarks: facing the camera,
// upright, legs straight and arms hanging (the limbs' neutral poses of Solve); Solved is all
// false. It is solved once, by NewIK.
func (ik *IK) Neutral() IKPose { return ik.neutral }

func (ik *IK) solveNeutral() IKPose {
	var lm Landmarks
	// A body facing the camera: left parts on the image's right (+x), shoulders above the hips
	// (-y). Only the torso is used, since nothing is visible.
	lm.World[LmLeftHip] = [3]float32{0.1, 0, 0}
	lm.World[LmRightHip] = [3]float32{-0.1, 0, 0}
	lm.World[LmLeftShoulder] = [3]float32{0.18, -0.5, 0}
	lm.World[LmRightShoulder] = [3]float32{-0.18, -0.5, 0}
	pose := ik.Solve(&lm, 1)
	pose.Solved = [JointCount]bool{}
	return pose
}

// fitTorso fits the root rotation R and the per-spine-joint rotation Q (see Solve) so that the
// body's hip line R(J1-J2), shoulder line RQ^3(J16-J17) and hips-to-shoulders direction (the
// forward kinematics of the spine) point along the given unit vectors, by least squares on the
// differences of unit vectors (nine residuals), over R's rotation vector and the y and z
// components of Q's, with Levenberg-Marquardt (leastSquares). The start is R from the hip line
// and up alone and Q a third of the rest of the shoulders' rotation, without its x component.
func (ik *IK) fitTorso(hipLine, shoulderLine, up r3.Vec) (root, spine quat.Number) {
	t := torsoFit{hipLine: hipLine, shoulderLine: shoulderLine, up: up}
	J := &ik.joints
	t.restHip = r3.Sub(J[1], J[2])
	t.restShoulder = r3.Sub(J[16], J[17])
	hipC, shC := mid(J[1], J[2]), mid(J[16], J[17])
	restUp := r3.Sub(shC, hipC)
	// Up from the hip centre in root-joint terms: (J3-hipC) + Q(J6-J3) + Q^2(J9-J6) + Q^3(shC-J9).
	t.seg = [4]r3.Vec{r3.Sub(J[3], hipC), r3.Sub(J[6], J[3]), r3.Sub(J[9], J[6]), r3.Sub(shC, J[9])}
	r0 := frameMatch(t.restHip, restUp, hipLine, up)
	sh := frameMatch(t.restShoulder, restUp, shoulderLine, up)
	q0 := logRot(powUnit(quat.Mul(quat.Conj(r0), sh), 1.0/3))
	r := logRot(r0)
	x := [torsoParams]float64{r[0], r[1], r[2], q0[1], q0[2]}
	leastSquares(&t, &x)
	return expRot([3]float64{x[0], x[1], x[2]}), t.spine(&x)
}

// torsoParams is the number of fitTorso's parameters: R's rotation vector, and the y and z
// components of Q's.
const torsoParams = 5

// torsoFit is fitTorso's least-squares problem.
type torsoFit struct {
	hipLine, shoulderLine, up r3.Vec    // the target directions (unit)
	restHip, restShoulder     r3.Vec    // the rest hip and shoulder lines
	seg                       [4]r3.Vec // the spine's segments from the hip centre up (rest)
}

func (t *torsoFit) spine(x *[torsoParams]float64) quat.Number {
	return expRot([3]float64{0, x[3], x[4]})
}

// residuals writes the differences between the predicted and the target directions.
func (t *torsoFit) residuals(x *[torsoParams]float64, res *[torsoResiduals]float64) {
	r, q := expRot([3]float64{x[0], x[1], x[2]}), t.spine(x)
	h := rotate(r, t.restHip)
	rq := r
	u := rotate(r, t.seg[0])
	for k := 1; k < 4; k++ {
		rq = quat.Mul(rq, q)
		u = r3.Add(u, rotate(rq, t.seg[k]))
	}
	s := rotate(rq, t.restShoulder)
	for i, d := range [3]r3.Vec{r3.Sub(r3.Unit(h), t.hipLine), r3.Sub(r3.Unit(s), t.shoulderLine), r3.Sub(r3.Unit(u), t.up)} {
		res[3*i], res[3*i+1], res[3*i+2] = d.X, d.Y, d.Z
	}
}

// torsoResiduals is the number of torsoFit's residuals: three directions of three components.
const torsoResiduals = 9

// leastSquares minimises the sum of squares of t's residuals over x, from x, by
// Levenberg-Marquardt (Nocedal and Wright, Numerical Optimization, 2nd ed., section 10.3):
// each step solves (J^T J + lambda I) d = -J^T r, with the Jacobian J by central differences
// (step 6e-6, about the cube root of float64's epsilon: gonum's diff/fd Central default), and is
// taken when it lowers the sum (lambda then shrinks tenfold) or retried with lambda ten times
// larger. It stops after 100 steps, when the gradient J^T r or a taken step falls below 1e-12,
// or when no lambda up to 1e10 lowers the sum. It allocates nothing.
func leastSquares(t *torsoFit, x *[torsoParams]float64) {
	const n, m, h = torsoParams, torsoResiduals, 6e-6
	var r, rp, rm [m]float64
	sum := func(r *[m]float64) float64 {
		var s float64
		for _, v := range r {
			s += v * v
		}
		return s
	}
	t.residuals(x, &r)
	cost := sum(&r)
	if cost < 1e-14 {
		return
	}
	lambda := 1e-3
	for it := 0; it < 100; it++ {
		var jac [m][n]float64
		for k := 0; k < n; k++ {
			xp, xm := *x, *x
			xp[k] += h
			xm[k] -= h
			t.residuals(&xp, &rp)
			t.residuals(&xm, &rm)
			for i := range jac {
				jac[i][k] = (rp[i] - rm[i]) / (2 * h)
			}
		}
		var jtj [maxSolve][maxSolve]float64
		var g [n]float64
		gmax := 0.0
		for p := 0; p < n; p++ {
			for i := 0; i < m; i++ {
				g[p] += jac[i][p] * r[i]
				for q := 0; q < n; q++ {
					jtj[p][q] += jac[i][p] * jac[i][q]
				}
			}
			gmax = max(gmax, math.Abs(g[p]))
		}
		if gmax < 1e-12 {
			return
		}
		for {
			a := jtj
			var d [maxSolve]float64
			for p := 0; p < n; p++ {
				a[p][p] += lambda
				d[p] = -g[p]
			}
			var xn [n]float64
			step := 0.0
			if solveSPD(&a, &d, n) {
				for p := range xn {
					xn[p] = x[p] + d[p]
					step = max(step, math.Abs(d[p]))
				}
				t.residuals(&xn, &rp)
				if c := sum(&rp); c < cost {
					*x, r, cost = xn, rp, c
					lambda = max(lambda/10, 1e-12)
					if step < 1e-12 {
						return
					}
					break
				}
			}
			if lambda *= 10; lambda > 1e10 {
				return
			}
		}
	}
}

// maxSolve is the largest system solveSPD solves.
const maxSolve = 5

// solveSPD solves a x = b for the symmetric positive definite n x n matrix in a's top-left
// corner (n <= maxSolve) by Cholesky factorisation, in place: a is overwritten and b becomes
// x. It returns false, leaving b undefined, when a pivot is not above 1e-14 times the largest
// diagonal value (a is singular or not positive definite, to working precision). It is here,
// not gonum's mat, because it allocates nothing: the IK and the camera fit run for every
// person of every frame.
func solveSPD(a *[maxSolve][maxSolve]float64, b *[maxSolve]float64, n int) bool {
	scale := 0.0
	for i := 0; i < n; i++ {
		scale = max(scale, a[i][i])
	}
	tiny := 1e-14 * scale
	for j := 0; j < n; j++ {
		d := a[j][j]
		for k := 0; k < j; k++ {
			d -= a[j][k] * a[j][k]
		}
		if !(d > tiny) {
			return false
		}
		a[j][j] = math.Sqrt(d)
		for i := j + 1; i < n; i++ {
			v := a[i][j]
			for k := 0; k < j; k++ {
				v -= a[i][k] * a[j][k]
			}
			a[i][j] = v / a[j][j]
		}
	}
	for i := 0; i < n; i++ { // L y = b
		for k := 0; k < i; k++ {
			b[i] -= a[i][k] * b[k]
		}
		b[i] /= a[i][i]
	}
	for i := n - 1; i >= 0; i-- { // L^T x = y
		for k := i + 1; k < n; k++ {
			b[i] -= a[k][i] * b[k]
		}
		b[i] /= a[i][i]
	}
	return true
}

// hingeAxis returns where a limb's flexion axis h (rest, body frame; upper bone r1, lower bone
// r2, unit vectors) lies once the bones point along d1 and d2 (unit, not parallel): the unit
// vector w with w.d1 = h.r1 and w.d2 = h.r2 (a rotation keeps angles, and the bend about h
// keeps the lower bone's angle to h) on the side of d1 x d2 (a positive bend about h turns the
// upper bone's direction towards the lower's).
func hingeAxis(r1, r2, h, d1, d2 r3.Vec) r3.Vec {
	c1, c2, c := r3.Dot(h, r1), r3.Dot(h, r2), r3.Dot(d1, d2)
	det := 1 - c*c
	a := (c1 - c*c2) / det
	b := (c2 - c*c1) / det
	w := r3.Add(r3.Scale(a, d1), r3.Scale(b, d2))
	n := r3.Unit(r3.Cross(d1, d2))
	return r3.Add(w, r3.Scale(math.Sqrt(max(0, 1-r3.Norm2(w))), n))
}

// hingeBend returns the rotation about the unit axis h that turns r's part across h onto t's
// part across h: the bend of a hinge joint that best points a bone at rest direction r along t.
func hingeBend(h, r, t r3.Vec) quat.Number {
	rp := r3.Sub(r, r3.Scale(r3.Dot(r, h), h))
	tp := r3.Sub(t, r3.Scale(r3.Dot(t, h), h))
	return quat.Number(r3.NewRotation(math.Atan2(r3.Dot(h, r3.Cross(rp, tp)), r3.Dot(rp, tp)), h))
}

func mid(a, b r3.Vec) r3.Vec { return r3.Scale(0.5, r3.Add(a, b)) }

// rotate applies the unit quaternion q to v.
func rotate(q quat.Number, v r3.Vec) r3.Vec { return r3.Rotation(q).Rotate(v) }

// arc returns the least rotation (a unit quaternion) that turns the direction of u into that of
// v: about u x v by the angle between them; for opposite vectors, a half turn about an axis
// across u.
func arc(u, v r3.Vec) quat.Number {
	u, v = r3.Unit(u), r3.Unit(v)
	d := r3.Dot(u, v)
	if d < -1+1e-12 {
		axis := r3.Cross(u, r3.Vec{X: 1})
		if r3.Norm2(axis) < 1e-12 {
			axis = r3.Cross(u, r3.Vec{Y: 1})
		}
		a := r3.Unit(axis)
		return quat.Number{Imag: a.X, Jmag: a.Y, Kmag: a.Z}
	}
	c := r3.Cross(u, v)
	q := quat.Number{Real: 1 + d, Imag: c.X, Jmag: c.Y, Kmag: c.Z}
	return quat.Scale(1/quat.Abs(q), q)
}

// frameMatch returns the rotation that turns u1 into the direction of v1 and, about it, the
// part of u2 across u1 into the part of v2 across v1: the rotation between the frames the two
// pairs span.
func frameMatch(u1, u2, v1, v2 r3.Vec) quat.Number {
	q1 := arc(u1, v1)
	v1 = r3.Unit(v1)
	w := rotate(q1, u2)
	w = r3.Sub(w, r3.Scale(r3.Dot(w, v1), v1))
	t := r3.Sub(v2, r3.Scale(r3.Dot(v2, v1), v1))
	if r3.Norm2(w) < 1e-18 || r3.Norm2(t) < 1e-18 {
		return q1
	}
	return quat.Mul(arc(w, t), q1)
}

// powUnit returns the unit quaternion q raised to the power s: the same axis, s times the angle
// (taken the short way round).
func powUnit(q quat.Number, s float64) quat.Number {
	v := logRot(q)
	return expRot([3]float64{s * v[0], s * v[1], s * v[2]})
}

// logRot returns the rotation vector (axis times angle in radians, angle in [0, pi]) of the
// unit quaternion q.
func logRot(q quat.Number) [3]float64 {
	if q.Real < 0 {
		q = quat.Scale(-1, q)
	}
	s := math.Sqrt(q.Imag*q.Imag + q.Jmag*q.Jmag + q.Kmag*q.Kmag)
	if s < 1e-15 {
		return [3]float64{2 * q.Imag, 2 * q.Jmag, 2 * q.Kmag}
	}
	k := 2 * math.Atan2(s, q.Real) / s
	return [3]float64{k * q.Imag, k * q.Jmag, k * q.Kmag}
}

// expRot returns the unit quaternion of the rotation vector v (axis times angle in radians).
func expRot(v [3]float64) quat.Number {
	angle := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if angle < 1e-15 {
		return quat.Number{Real: 1, Imag: v[0] / 2, Jmag: v[1] / 2, Kmag: v[2] / 2}
	}
	return quat.Number(r3.NewRotation(angle, r3.Vec{X: v[0], Y: v[1], Z: v[2]}))
}

// quatMatrix returns the row-major 3x3 rotation matrix of the unit quaternion q: its column c
// is q applied to the unit vector along axis c.
func quatMatrix(q quat.Number) [9]float32 {
	var out [9]float32
	for c, e := range [3]r3.Vec{{X: 1}, {Y: 1}, {Z: 1}} {
		col := rotate(q, e)
		out[c], out[3+c], out[6+c] = float32(col.X), float32(col.Y), float32(col.Z)
	}
	return out
}
