package motion

import (
	"math"
	"sort"

	"github.com/meshpipe/meshpipe/models"
)

// animation is one track ready to be written: the skeleton and the keyframes, in the output
// frame (see the package comment).
type animation struct {
	id int
	// betas are the track's mean betas over its found frames; rest holds the body's rest joints
	// for them (body frame, which at rest is the output frame: y up, the body facing +z).
	betas [models.BetaCount]float32
	rest  [models.JointCount][3]float32
	// frames holds the found frames, increasing; root and rot hold, per found frame, the root
	// joint's position and each joint's rotation relative to its parent (the root's relative
	// to the output frame). Consecutive quaternions of a joint are on the same side (dot >= 0),
	// so interpolation takes the shorter way.
	frames []int64
	root   [][3]float64
	rot    [][models.JointCount]quat
	// joints3D are the found frames' joints_3d, for maxJointError.
	joints3D [][models.JointCount][3]float32
}

// outputFrame turns a camera-frame vector into the output frame: (x, -y, -z).
func outputFrame(v [3]float64) [3]float64 { return [3]float64{v[0], -v[1], -v[2]} }

// toOutput is the rotation from the camera frame to the output frame: 180 degrees about x.
var toOutput = mat3{{1, 0, 0}, {0, -1, 0}, {0, 0, -1}}

// newAnimation makes t's animation on body. The root joint's position on a found frame is that
// frame's joints_3d[0] (the rest root joint plus cam_t, as models.Body.Pose places it), turned
// into the output frame; the root's rotation is global_orient followed by the turn into the
// output frame; the other joints' rotations are body_pose's.
func newAnimation(t *trackData, body *models.Body) *animation {
	a := &animation{id: t.id, frames: t.frames}
	var sum [models.BetaCount]float64
	for i := range t.samples {
		for k, b := range t.samples[i].Betas {
			sum[k] += float64(b)
		}
	}
	for k := range sum {
		a.betas[k] = float32(sum[k] / float64(len(t.samples)))
	}
	a.rest = body.RestJoints(&a.betas)
	a.root = make([][3]float64, len(t.samples))
	a.rot = make([][models.JointCount]quat, len(t.samples))
	a.joints3D = make([][models.JointCount][3]float32, len(t.samples))
	for i := range t.samples {
		s := &t.samples[i]
		a.joints3D[i] = s.Joints3D
		j0 := s.Joints3D[0]
		a.root[i] = outputFrame([3]float64{float64(j0[0]), float64(j0[1]), float64(j0[2])})
		q := &a.rot[i]
		q[0] = quatFromMatrix(toOutput.mul(mat3From(&s.GlobalOrient)))
		for j := 1; j < models.JointCount; j++ {
			q[j] = quatFromMatrix(mat3From(&s.BodyPose[j-1]))
		}
		if i > 0 {
			for j := range q {
				if q[j].dot(a.rot[i-1][j]) < 0 {
					q[j] = q[j].neg()
				}
			}
		}
	}
	return a
}

// restOffset returns joint j's rest position relative to its parent's (the root's: its rest
// position), metres.
func (a *animation) restOffset(j int) [3]float64 {
	r := a.rest[j]
	if p := models.SMPLParents[j]; p >= 0 {
		return [3]float64{float64(r[0]) - float64(a.rest[p][0]), float64(r[1]) - float64(a.rest[p][1]), float64(r[2]) - float64(a.rest[p][2])}
	}
	return [3]float64{float64(r[0]), float64(r[1]), float64(r[2])}
}

// pose returns the root position and the joint rotations at frame f, which must lie between
// the first and the last found frame: a found frame's own, else interpolated between the found
// frames before and after f (position linearly, rotations by slerp).
func (a *animation) pose(f int64) (root [3]float64, rot [models.JointCount]quat) {
	i := sort.Search(len(a.frames), func(i int) bool { return a.frames[i] >= f })
	if i < len(a.frames) && a.frames[i] == f {
		return a.root[i], a.rot[i]
	}
	lo, hi := i-1, i
	t := float64(f-a.frames[lo]) / float64(a.frames[hi]-a.frames[lo])
	for k := range root {
		root[k] = a.root[lo][k] + t*(a.root[hi][k]-a.root[lo][k])
	}
	for j := range rot {
		rot[j] = slerp(a.rot[lo][j], a.rot[hi][j], t)
	}
	return root, rot
}

// worldJoints returns the joints' positions in the output frame for a root position and the
// joint rotations: the forward kinematics of models.Body.Pose on the rest offsets.
func (a *animation) worldJoints(root [3]float64, rot *[models.JointCount]quat) [models.JointCount][3]float64 {
	var world [models.JointCount]mat3
	var pos [models.JointCount][3]float64
	for j := range models.JointCount {
		m := rot[j].matrix()
		p := models.SMPLParents[j]
		if p < 0 {
			world[j], pos[j] = m, root
			continue
		}
		world[j] = world[p].mul(m)
		d := world[p].apply(a.restOffset(j))
		pos[j] = [3]float64{pos[p][0] + d[0], pos[p][1] + d[1], pos[p][2] + d[2]}
	}
	return pos
}

// maxJointError returns the largest distance in metres between the skeleton's joints at a
// found frame and that frame's joints_3d (both in the output frame).
func (a *animation) maxJointError() float64 {
	worst := 0.0
	for i := range a.frames {
		pos := a.worldJoints(a.root[i], &a.rot[i])
		for j := range pos {
			want := a.joints3D[i][j]
			w := outputFrame([3]float64{float64(want[0]), float64(want[1]), float64(want[2])})
			worst = max(worst, math.Hypot(math.Hypot(pos[j][0]-w[0], pos[j][1]-w[1]), pos[j][2]-w[2]))
		}
	}
	return worst
}

// children returns each joint's children in SMPL's tree, in joint order.
func children() [models.JointCount][]int {
	var c [models.JointCount][]int
	for j, p := range models.SMPLParents {
		if p >= 0 {
			c[p] = append(c[p], j)
		}
	}
	return c
}
