package models

import "fmt"

// JointCount is the number of joints of SMPL's kinematic tree (pelvis plus 23).
const JointCount = 24

// SMPLParents is SMPL's kinematic tree: the parent of each joint, -1 for the root (pelvis).
// Joint order: 0 pelvis, 1 left hip, 2 right hip, 3 spine1, 4 left knee, 5 right knee,
// 6 spine2, 7 left ankle, 8 right ankle, 9 spine3, 10 left foot, 11 right foot, 12 neck,
// 13 left collar, 14 right collar, 15 head, 16 left shoulder, 17 right shoulder, 18 left elbow,
// 19 right elbow, 20 left wrist, 21 right wrist, 22 left hand, 23 right hand (the SMPL model
// file's kintree_table, Loper et al. 2015).
var SMPLParents = [JointCount]int{-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21}

// Body is a skinned body model on SMPL's 24-joint tree, posed by linear blend skinning. All
// positions are in the body frame of SMPL: metres, y up, x towards the body's left, z forward
// (out of the chest).
type Body struct {
	// Template holds the rest-pose vertices as x, y, z triples: [V*3].
	Template []float32
	// Faces holds the triangles as vertex index triples: [F*3].
	Faces []uint32
	// Joints holds the rest-pose joint positions, [24] of x, y, z.
	Joints [JointCount][3]float32
	// Weights holds the skinning weights, [V*24] row-major; each row sums to 1.
	Weights []float32
}

// VertexCount returns V, the number of vertices.
func (b *Body) VertexCount() int { return len(b.Template) / 3 }

// Check returns an error when the body's arrays do not fit together: Template not a multiple of
// 3, Weights not V*24, or a face index out of range.
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
	return nil
}

// Pose poses the body by linear blend skinning (Loper et al. 2015, eq. 4-5, without blend
// shapes): each joint's world transform is G_j = G_parent(j) * [R_j | J_j - J_parent(j)], with
// R_0 = globalOrient and R_j = bodyPose[j-1] (row-major 3x3 matrices, relative to the parent),
// and each vertex moves by sum_j w_j G_j (v - J_j). The result is written to dst ([V*3], in the
// camera-facing frame that globalOrient maps into, with the root joint's rest position as the
// fixed point) and the posed joints are returned. dst must have V*3 values.
func (b *Body) Pose(globalOrient [9]float32, bodyPose *[23 * 9]float32, dst []float32) [JointCount][3]float32 {
	var rot [JointCount][9]float32 // world rotation of each joint
	var pos [JointCount][3]float32 // world position of each joint
	for j := 0; j < JointCount; j++ {
		var local [9]float32
		if j == 0 {
			local = globalOrient
		} else {
			copy(local[:], bodyPose[(j-1)*9:j*9])
		}
		p := SMPLParents[j]
		if p < 0 {
			rot[j] = local
			pos[j] = b.Joints[j]
			continue
		}
		rot[j] = mul3(rot[p], local)
		d := sub3(b.Joints[j], b.Joints[p])
		pos[j] = add3(pos[p], apply3(rot[p], d))
	}
	// A_j maps a rest vertex v to rot_j (v - J_j) + pos_j = rot_j v + (pos_j - rot_j J_j).
	var trans [JointCount][3]float32
	for j := range trans {
		trans[j] = sub3(pos[j], apply3(rot[j], b.Joints[j]))
	}
	n := b.VertexCount()
	for i := 0; i < n; i++ {
		v := [3]float32{b.Template[3*i], b.Template[3*i+1], b.Template[3*i+2]}
		var out [3]float32
		w := b.Weights[i*JointCount : (i+1)*JointCount]
		for j, wj := range w {
			if wj == 0 {
				continue
			}
			p := add3(apply3(rot[j], v), trans[j])
			out[0] += wj * p[0]
			out[1] += wj * p[1]
			out[2] += wj * p[2]
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
