package models

import (
	"fmt"

	"github.com/meshpipe/meshpipe/human"
)

// JointCount is the number of joints of SMPL's kinematic tree (pelvis plus 23).
const JointCount = human.JointCount

// SMPLParents is SMPL's kinematic tree: the parent of each joint, -1 for the root (pelvis).
// Joint order: 0 pelvis, 1 left hip, 2 right hip, 3 spine1, 4 left knee, 5 right knee,
// 6 spine2, 7 left ankle, 8 right ankle, 9 spine3, 10 left foot, 11 right foot, 12 neck,
// 13 left collar, 14 right collar, 15 head, 16 left shoulder, 17 right shoulder, 18 left elbow,
// 19 right elbow, 20 left wrist, 21 right wrist, 22 left hand, 23 right hand (the SMPL model
// file's kintree_table, Loper et al. 2015).
var SMPLParents = [JointCount]int{-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21}

// JointNames names SMPL's joints in joint order (SMPLParents), as the smplx tools name them
// (smplx/joint_names.py): the bone names of meshpipe's motion files.
var JointNames = [JointCount]string{
	"pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
	"spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
	"neck", "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
	"left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
}

// PoseBasis is the number of SMPL pose blend-shape coefficients: (R_j - I) of joints 1..23,
// 9 values each (Loper et al. 2015, eq. 9).
const PoseBasis = 9 * (JointCount - 1)

// BetaCount is the number of shape coefficients (betas) meshpipe uses: HMR2 predicts 10.
const BetaCount = 10

// Body is a skinned body model on SMPL's 24-joint tree, posed by linear blend skinning with
// optional shape and pose blend shapes (SMPL, Loper et al. 2015). All positions are in the body
// frame of SMPL: metres, y up, x towards the body's left, z forward (out of the chest).
//
// The mannequin has no blend shapes and fixed joints; a body loaded from an SMPL file
// (LoadBody) has all three.
type Body struct {
	// Template holds the rest-pose vertices as x, y, z triples: [V*3] (SMPL's v_template).
	Template []float32
	// Faces holds the triangles as vertex index triples: [F*3].
	Faces []uint32
	// Joints holds the rest-pose joint positions, [24] of x, y, z. They are used when
	// JRegressor is nil; otherwise the joints come from the shaped template.
	Joints [JointCount][3]float32
	// Weights holds the skinning weights, [V*24] row-major; each row sums to 1.
	Weights []float32
	// ShapeDirs holds the shape blend shapes, [V*3*10] row-major: entry (v, k, s) moves
	// coordinate k of vertex v by betas[s] times it, in metres (SMPL's shapedirs, first 10
	// components). nil: no shape blend shapes.
	ShapeDirs []float32
	// PoseDirs holds the pose blend shapes, [207][V*3] row-major: row 9*(j-1) + 3*r + c is the
	// displacement of every vertex coordinate per unit of (R_j - I)[r][c], for joints
	// j = 1..23 (SMPL's posedirs [V,3,207], transposed as smplx does). nil: none.
	PoseDirs []float32
	// JRegressor holds the joint regressor, [24][V] row-major: rest joint j is
	// sum_v JRegressor[j][v] * shaped vertex v (SMPL's J_regressor). nil: Joints are used.
	JRegressor []float32
}

// VertexCount returns V, the number of vertices.
func (b *Body) VertexCount() int { return len(b.Template) / 3 }

// Check returns an error when the body's arrays do not fit together: Template not a multiple of
// 3, Weights not V*24, a face index out of range, or a blend-shape array or the joint
// regressor of the wrong size.
func (b *Body) Check() error {
	if len(b.Template) == 0 || len(b.Template)%3 != 0 {
		return fmt.Errorf("body: template has %d values, want a positive multiple of 3", len(b.Template))
	}
	v := b.VertexCount()
	if len(b.Weights) != v*JointCount {
		return fmt.Errorf("body: weights have %d values, want %d (V=%d x 24)", len(b.Weights), v*JointCount, v)
	}
	if len(b.Faces)%3 != 0 {
		return fmt.Errorf("body: faces have %d indices, want a multiple of 3", len(b.Faces))
	}
	for i, f := range b.Faces {
		if int(f) >= v {
			return fmt.Errorf("body: face %d uses vertex %d of %d", i/3, f, v)
		}
	}
	for _, a := range []struct {
		name string
		n    int
		want int
	}{
		{"shape blend shapes", len(b.ShapeDirs), v * 3 * BetaCount},
		{"pose blend shapes", len(b.PoseDirs), PoseBasis * v * 3},
		{"joint regressor", len(b.JRegressor), JointCount * v},
	} {
		if a.n != 0 && a.n != a.want {
			return fmt.Errorf("body: %s have %d values, want %d (V=%d)", a.name, a.n, a.want, v)
		}
	}
	return nil
}

// Shaped writes the rest-pose vertices for betas (nil: zero betas) into dst ([V*3], metres,
// body frame): the template plus the shape blend shapes, step 1 of Pose. Without shape blend
// shapes (the mannequin) it is the template.
func (b *Body) Shaped(betas *[BetaCount]float32, dst []float32) { b.shape(betas, dst) }

// RestJoints returns the rest-pose joints for betas (nil: zero betas), in metres in the body
// frame: step 2 of Pose, the joints that Pose rotates about. Without a joint regressor they are
// Joints; otherwise they are regressed from the shaped template (one V*3 scratch buffer is
// allocated).
func (b *Body) RestJoints(betas *[BetaCount]float32) [JointCount][3]float32 {
	if b.JRegressor == nil {
		return b.Joints
	}
	v := make([]float32, len(b.Template))
	b.shape(betas, v)
	return b.regress(v)
}

// shape writes the template plus the shape blend shapes for betas into dst ([V*3]).
func (b *Body) shape(betas *[BetaCount]float32, dst []float32) {
	copy(dst, b.Template)
	if b.ShapeDirs == nil || betas == nil {
		return
	}
	for i := range dst {
		sd := b.ShapeDirs[i*BetaCount : (i+1)*BetaCount]
		var s float32
		for k, beta := range betas {
			s += beta * sd[k]
		}
		dst[i] += s
	}
}

// regress returns the joints that the joint regressor gives for vertices v ([V*3]).
func (b *Body) regress(v []float32) [JointCount][3]float32 {
	var j [JointCount][3]float32
	n := b.VertexCount()
	for k := 0; k < JointCount; k++ {
		row := b.JRegressor[k*n : (k+1)*n]
		var x, y, z float64
		for i, w := range row {
			if w == 0 {
				continue
			}
			x += float64(w) * float64(v[3*i])
			y += float64(w) * float64(v[3*i+1])
			z += float64(w) * float64(v[3*i+2])
		}
		j[k] = [3]float32{float32(x), float32(y), float32(z)}
	}
	return j
}

// Pose poses the body for p (its Betas, GlobalOrient and BodyPose; PredCam is not used) by
// SMPL's linear blend skinning (Loper et al. 2015, eq. 2-10, as smplx's lbs does it with
// rotation matrices):
//
//  1. shaped template T_s = T + ShapeDirs . betas;
//  2. rest joints J = JRegressor . T_s (or Joints when there is no regressor);
//  3. posed template T_p = T_s + PoseDirs^T . f, where f holds (R_j - I) row by row for joints
//     1..23 (no Rodrigues formula: the rotations come as matrices);
//  4. world transforms G_j = G_parent(j) [R_j | J_j - J_parent(j)], with R_0 = global_orient and
//     G_0 = [R_0 | J_0], and each vertex moves to sum_j w_j G_j (v - J_j).
//
// The vertices are written to dst ([V*3], in the frame global_orient maps into, with the root
// joint's rest position as the fixed point) and the posed joints are returned. dst must have
// V*3 values; Pose allocates nothing.
func (b *Body) Pose(p *human.Pose, dst []float32) [JointCount][3]float32 {
	b.shape(&p.Betas, dst)
	joints := b.Joints
	if b.JRegressor != nil {
		joints = b.regress(dst)
	}
	if b.PoseDirs != nil {
		n := len(dst)
		for j := 1; j < JointCount; j++ {
			r := p.BodyPose[(j-1)*9 : j*9]
			for e := 0; e < 9; e++ {
				f := r[e]
				if e%4 == 0 { // diagonal: R - I
					f--
				}
				if f == 0 {
					continue
				}
				row := b.PoseDirs[((j-1)*9+e)*n : ((j-1)*9+e+1)*n]
				for i := range dst {
					dst[i] += f * row[i]
				}
			}
		}
	}
	var rot [JointCount][9]float32 // world rotation of each joint
	var pos [JointCount][3]float32 // world position of each joint
	for j := 0; j < JointCount; j++ {
		var local [9]float32
		if j == 0 {
			local = p.GlobalOrient
		} else {
			copy(local[:], p.BodyPose[(j-1)*9:j*9])
		}
		par := SMPLParents[j]
		if par < 0 {
			rot[j] = local
			pos[j] = joints[j]
			continue
		}
		rot[j] = mul3(rot[par], local)
		d := sub3(joints[j], joints[par])
		pos[j] = add3(pos[par], apply3(rot[par], d))
	}
	// A_j maps a rest vertex v to rot_j (v - J_j) + pos_j = rot_j v + (pos_j - rot_j J_j).
	var trans [JointCount][3]float32
	for j := range trans {
		trans[j] = sub3(pos[j], apply3(rot[j], joints[j]))
	}
	n := b.VertexCount()
	for i := 0; i < n; i++ {
		v := [3]float32{dst[3*i], dst[3*i+1], dst[3*i+2]}
		var out [3]float32
		w := b.Weights[i*JointCount : (i+1)*JointCount]
		for j, wj := range w {
			if wj == 0 {
				continue
			}
			q := add3(apply3(rot[j], v), trans[j])
			out[0] += wj * q[0]
			out[1] += wj * q[1]
			out[2] += wj * q[2]
		}
		dst[3*i], dst[3*i+1], dst[3*i+2] = out[0], out[1], out[2]
	}
	return pos
}

func mul3(a, b [9]float32) [9]float32 {
	var c [9]float32
	for r := 0; r < 3; r++ {
		for k := 0; k < 3; k++ {
			c[3*r+k] = a[3*r]*b[k] + a[3*r+1]*b[3+k] + a[3*r+2]*b[6+k]
		}
	}
	return c
}

func apply3(m [9]float32, v [3]float32) [3]float32 {
	return [3]float32{
		m[0]*v[0] + m[1]*v[1] + m[2]*v[2],
		m[3]*v[0] + m[4]*v[1] + m[5]*v[2],
		m[6]*v[0] + m[7]*v[1] + m[8]*v[2],
	}
}

func add3(a, b [3]float32) [3]float32 { return [3]float32{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func sub3(a, b [3]float32) [3]float32 { return [3]float32{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
