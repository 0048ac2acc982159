package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"gonum.org/v1/gonum/num/quat"
	"gonum.org/v1/gonum/spatial/r3"
)

// knownPose is a pose made the way the IK models a body: any root rotation, one rotation shared
// by the three spine joints about an axis in the body's y-z plane (twist and side bend),
// identity collars, one rotation shared by neck and head, any
// rotation at hips, shoulders, ankles and wrists, and knees and elbows that bend about their
// hinges only. It returns the local rotations (index 0: the root's).
func knownPose(rng *rand.Rand) [JointCount]quat.Number {
	randRot := func(maxAngle float64) quat.Number {
		axis := r3.Unit(r3.Vec{X: rng.NormFloat64(), Y: rng.NormFloat64(), Z: rng.NormFloat64()})
		return quat.Number(r3.NewRotation(maxAngle*rng.Float64(), axis))
	}
	deg := math.Pi / 180
	var local [JointCount]quat.Number
	for j := range local {
		local[j] = quat.Number{Real: 1}
	}
	local[0] = randRot(math.Pi)
	spineAxis := r3.Unit(r3.Vec{Y: rng.NormFloat64(), Z: rng.NormFloat64()})
	spine := quat.Number(r3.NewRotation(15*deg*rng.Float64(), spineAxis))
	local[3], local[6], local[9] = spine, spine, spine
	head := randRot(25 * deg)
	local[12], local[15] = head, head
	for _, lb := range limbs {
		a, b, c := lb.joints[0], lb.joints[1], lb.joints[2]
		arm := a >= 16
		if arm {
			local[a] = randRot(120 * deg)
			local[b] = quat.Number(r3.NewRotation(130*deg*rng.Float64(), lb.hinge))
			local[c] = randRot(40 * deg)
		} else {
			local[a] = randRot(90 * deg)
			local[b] = quat.Number(r3.NewRotation(120*deg*rng.Float64(), lb.hinge))
			local[c] = randRot(30 * deg)
		}
	}
	return local
}

// posed poses body with local rotations and returns its joints.
func posed(body *Body, local [JointCount]quat.Number) [JointCount][3]float32 {
	var bp [23 * 9]float32
	for j := 1; j < JointCount; j++ {
		m := quatMatrix(local[j])
		copy(bp[(j-1)*9:], m[:])
	}
	verts := make([]float32, 3*body.VertexCount())
	return body.Pose(&human.Pose{GlobalOrient: quatMatrix(local[0]), BodyPose: bp}, verts)
}

// landmarksOf makes BlazePose world landmarks of a body posed with local rotations: the
// landmarks at joints are the joints, the foot index is the foot joint, the index and pinky
// knuckles are the hand joint, and the face is the rest face turned with the head.
func landmarksOf(body *Body, local [JointCount]quat.Number) Landmarks {
	joints := posed(body, local)
	var world [JointCount]quat.Number
	for j := range world {
		if p := SMPLParents[j]; p >= 0 {
			world[j] = quat.Mul(world[p], local[j])
		} else {
			world[j] = local[j]
		}
	}
	var lm Landmarks
	for j, m := range JointLandmark {
		if m >= 0 {
			lm.World[m] = joints[j]
		}
	}
	lm.World[LmLeftFootIndex], lm.World[LmRightFootIndex] = joints[10], joints[11]
	lm.World[LmLeftIndex], lm.World[LmLeftPinky] = joints[22], joints[22]
	lm.World[LmRightIndex], lm.World[LmRightPinky] = joints[23], joints[23]
	head := r3.Vec{X: float64(joints[15][0]), Y: float64(joints[15][1]), Z: float64(joints[15][2])}
	for m, p := range map[int]r3.Vec{LmNose: restNose, LmLeftEar: restLeftEar, LmRightEar: restRightEar} {
		v := r3.Add(head, rotate(world[15], p))
		lm.World[m] = [3]float32{float32(v.X), float32(v.Y), float32(v.Z)}
	}
	for k := range lm.Visibility {
		lm.Visibility[k], lm.Presence[k] = 1, 1
	}
	lm.Score = 1
	return lm
}

func dist3(a, b [3]float32) float64 {
	return math.Sqrt(float64((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2])))
}

func angleDeg(a, b [3]float32) float64 {
	c := float64(dot3(a, b)) / float64(norm3(a)*norm3(b))
	return math.Acos(math.Max(-1, math.Min(1, c))) * 180 / math.Pi
}

// IK recovers known poses: the joints of the body posed by the solution are within 1 cm of the
// known pose's, and every bone points within 2 degrees of it.
func TestIKRecoversKnownPoses(t *testing.T) {
	body := Mannequin()
	ik := NewIK(body)
	rng := rand.New(rand.NewPCG(11, 4))
	var worstJoint, worstAngle float64
	for trial := 0; trial < 200; trial++ {
		local := knownPose(rng)
		want := posed(body, local)
		lm := landmarksOf(body, local)
		sol := ik.Solve(&lm, MinVisibility)
		verts := make([]float32, 3*body.VertexCount())
		got := body.Pose(&human.Pose{GlobalOrient: sol.GlobalOrient, BodyPose: sol.BodyPose}, verts)
		for j := range got {
			d := dist3(got[j], want[j])
			worstJoint = max(worstJoint, d)
			if d > 0.01 {
				t.Errorf("trial %d: joint %d at %v, want %v (%.1f mm off)", trial, j, got[j], want[j], d*1000)
			}
			p := SMPLParents[j]
			if p < 0 || dist3(want[j], want[p]) < 0.02 {
				continue
			}
			a := angleDeg(sub3(got[j], got[p]), sub3(want[j], want[p]))
			worstAngle = max(worstAngle, a)
			if a > 2 {
				t.Errorf("trial %d: bone %d->%d is %.2f degrees off", trial, p, j, a)
			}
		}
		for j, s := range sol.Solved {
			if !s && j != 10 && j != 11 && j != 13 && j != 14 && j != 22 && j != 23 {
				t.Errorf("trial %d: joint %d not solved with every landmark seen", trial, j)
			}
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("200 poses: worst joint %.3f mm, worst bone %.4f degrees", worstJoint*1000, worstAngle)
}

// With the knee bent, the hinge fixes the thigh's twist: the hip's own rotation comes back, not
// only the knee's place.
func TestIKHingeGivesTwist(t *testing.T) {
	body := Mannequin()
	ik := NewIK(body)
	rng := rand.New(rand.NewPCG(3, 9))
	for trial := 0; trial < 50; trial++ {
		local := knownPose(rng)
		// A clear bend at both knees and both elbows.
		for _, lb := range limbs {
			local[lb.joints[1]] = quat.Number(r3.NewRotation((30+60*rng.Float64())*math.Pi/180, lb.hinge))
		}
		lm := landmarksOf(body, local)
		sol := ik.Solve(&lm, MinVisibility)
		for _, lb := range limbs {
			for _, j := range lb.joints[:2] {
				want := quatMatrix(local[j])
				got := sol.BodyPose[(j-1)*9 : j*9]
				for k := range want {
					if d := math.Abs(float64(got[k] - want[k])); d > 1e-3 {
						t.Fatalf("trial %d: joint %d rotation %v, want %v", trial, j, got, want)
					}
				}
			}
		}
	}
}

// A limb whose landmarks are not seen keeps its neutral pose; one whose end is not seen keeps
// the middle joint straight; the head keeps identity without its face.
func TestIKUnseenLimbsStayNeutral(t *testing.T) {
	body := Mannequin()
	ik := NewIK(body)
	local := knownPose(rand.New(rand.NewPCG(5, 5)))
	lm := landmarksOf(body, local)
	lm.Visibility[LmLeftElbow] = 0.2  // left arm: neutral
	lm.Visibility[LmRightAnkle] = 0.1 // right leg: knee straight
	lm.Visibility[LmLeftEar] = 0      // head: identity
	sol := ik.Solve(&lm, MinVisibility)
	rot := func(j int) [9]float32 {
		var m [9]float32
		copy(m[:], sol.BodyPose[(j-1)*9:j*9])
		return m
	}
	near := func(what string, got, want [9]float32) {
		t.Helper()
		for k := range want {
			if math.Abs(float64(got[k]-want[k])) > 1e-5 {
				t.Errorf("%s: %v, want %v", what, got, want)
				return
			}
		}
	}
	identity := [9]float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	near("left shoulder", rot(16), quatMatrix(limbs[2].neutral))
	near("left elbow", rot(18), identity)
	near("left wrist", rot(20), identity)
	near("right knee", rot(5), identity)
	near("neck", rot(12), identity)
	near("head", rot(15), identity)
	if sol.Solved[16] || sol.Solved[18] || sol.Solved[5] || sol.Solved[15] {
		t.Errorf("unseen parts marked solved: %v", sol.Solved)
	}
	if !sol.Solved[2] || !sol.Solved[17] || !sol.Solved[19] {
		t.Errorf("seen parts not marked solved: %v", sol.Solved)
	}
	// The right thigh still points at the right knee.
	joints := posed(body, local)
	verts := make([]float32, 3*body.VertexCount())
	got := body.Pose(&human.Pose{GlobalOrient: sol.GlobalOrient, BodyPose: sol.BodyPose}, verts)
	if a := angleDeg(sub3(got[5], got[2]), sub3(joints[5], joints[2])); a > 2 {
		t.Errorf("right thigh %.2f degrees off with the ankle unseen", a)
	}
}

// The neutral pose faces the camera, upright, with the arms hanging.
func TestIKNeutral(t *testing.T) {
	body := Mannequin()
	pose := NewIK(body).Neutral()
	verts := make([]float32, 3*body.VertexCount())
	j := body.Pose(&human.Pose{GlobalOrient: pose.GlobalOrient, BodyPose: pose.BodyPose}, verts)
	if !(j[15][1] < j[0][1]-0.4) { // camera y is down: the head is above the pelvis
		t.Errorf("head at %v, pelvis at %v: not upright", j[15], j[0])
	}
	if !(j[16][0] > j[17][0]) { // the left shoulder is on the image's right
		t.Errorf("left shoulder %v, right %v: not facing the camera", j[16], j[17])
	}
	for _, w := range []int{20, 21} {
		if !(j[w][1] > j[16][1]+0.3) {
			t.Errorf("wrist %d at %v, shoulder at %v: the arm does not hang", w, j[w], j[16])
		}
	}
}

// A body with a joint regressor (an SMPL file) gives the IK the joints the regressor finds on
// its template, as Body.Pose uses them, not the Joints field.
func TestIKRestJointsFromRegressor(t *testing.T) {
	body := Mannequin()
	b := *body
	n := b.VertexCount()
	b.JRegressor = make([]float32, JointCount*n)
	for j := 0; j < JointCount; j++ {
		b.JRegressor[j*n+j] = 1 // joint j is vertex j
	}
	ik := NewIK(&b)
	for j := 0; j < JointCount; j++ {
		want := [3]float32{b.Template[3*j], b.Template[3*j+1], b.Template[3*j+2]}
		got := ik.joints[j]
		if math.Abs(got.X-float64(want[0]))+math.Abs(got.Y-float64(want[1]))+math.Abs(got.Z-float64(want[2])) > 1e-6 {
			t.Fatalf("joint %d at %v, want the regressed %v", j, got, want)
		}
	}
}
