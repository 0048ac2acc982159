package models

import "math"

// mannequinJoints are the mannequin's rest joints in SMPL's body frame (metres, y up, x to the
// body's left, z forward), T-pose, close to the SMPL neutral body's joints so that the same
// poses look alike on both. Our own numbers; the body is 1.70 m from soles to crown.
var mannequinJoints = [JointCount][3]float32{
	{0, -0.22, 0.02},      // pelvis
	{0.07, -0.31, 0},      // left hip
	{-0.07, -0.31, 0},     // right hip
	{0, -0.11, -0.01},     // spine1
	{0.10, -0.69, 0},      // left knee
	{-0.10, -0.69, 0},     // right knee
	{0, 0.03, 0.01},       // spine2
	{0.09, -1.09, -0.03},  // left ankle
	{-0.09, -1.09, -0.03}, // right ankle
	{0, 0.09, 0.02},       // spine3
	{0.11, -1.141, 0.09},  // left foot
	{-0.11, -1.141, 0.09}, // right foot
	{0, 0.30, -0.01},      // neck
	{0.07, 0.20, -0.01},   // left collar
	{-0.07, 0.20, -0.01},  // right collar
	{0, 0.37, 0.04},       // head
	{0.17, 0.23, -0.02},   // left shoulder
	{-0.17, 0.23, -0.02},  // right shoulder
	{0.43, 0.21, -0.03},   // left elbow
	{-0.43, 0.21, -0.03},  // right elbow
	{0.68, 0.22, -0.03},   // left wrist
	{-0.68, 0.22, -0.03},  // right wrist
	{0.76, 0.21, -0.04},   // left hand
	{-0.76, 0.21, -0.04},  // right hand
}

// mannequinPart is one capsule of the mannequin: it runs from a to b, is skinned to joint
// owner, and blends with its parent joint near a and with joint child near b (child -1: none).
// Its cross-section is an ellipse of radius r (a to b linearly) across and r*flat in depth.
type mannequinPart struct {
	owner, child int
	a, b         [3]float32
	ra, rb, flat float32
}

func mannequinParts() []mannequinPart {
	J := mannequinJoints
	up := func(j int, dy float32) [3]float32 { return [3]float32{J[j][0], J[j][1] + dy, J[j][2]} }
	fwd := func(j int, dz float32) [3]float32 { return [3]float32{J[j][0], J[j][1], J[j][2] + dz} }
	parts := []mannequinPart{
		{0, 3, [3]float32{0, -0.34, 0.01}, J[3], 0.14, 0.13, 0.72}, // hips
		{3, 6, J[3], J[6], 0.13, 0.14, 0.66},                       // belly
		{6, 9, J[6], J[9], 0.14, 0.15, 0.66},                       // chest
		{9, 12, J[9], up(12, -0.05), 0.15, 0.11, 0.62},             // upper chest
		{12, 15, J[12], J[15], 0.055, 0.05, 1},                     // neck
		{15, -1, up(15, 0.01), up(15, 0.07), 0.095, 0.09, 1.1},     // head
	}
	for _, s := range [][7]int{ // left and right limbs: owner, child, from, to, radii in mm
		{1, 4, 1, 4, 80, 55}, {2, 5, 2, 5, 80, 55}, // thighs
		{4, 7, 4, 7, 52, 40}, {5, 8, 5, 8, 52, 40}, // shins
		{13, 16, 13, 16, 60, 55}, {14, 17, 14, 17, 60, 55}, // collars
		{16, 18, 16, 18, 50, 42}, {17, 19, 17, 19, 50, 42}, // upper arms
		{18, 20, 18, 20, 40, 32}, {19, 21, 19, 21, 40, 32}, // forearms
	} {
		parts = append(parts, mannequinPart{s[0], s[1], J[s[2]], J[s[3]], float32(s[4]) / 1000, float32(s[5]) / 1000, 1})
	}
	parts = append(parts,
		mannequinPart{7, 10, J[7], fwd(10, 0.04), 0.045, 0.035, 0.8},                    // left foot
		mannequinPart{8, 11, J[8], fwd(11, 0.04), 0.045, 0.035, 0.8},                    // right foot
		mannequinPart{20, 22, J[20], [3]float32{0.80, 0.21, -0.04}, 0.035, 0.03, 0.45},  // left hand
		mannequinPart{21, 23, J[21], [3]float32{-0.80, 0.21, -0.04}, 0.035, 0.03, 0.45}, // right hand
	)
	return parts
}

// Mannequin returns meshpipe's built-in body: capsules on SMPL's 24-joint tree, of our own
// making, so that everything runs without the (non-redistributable) SMPL file. Vertices near a
// joint blend their weights between the two bones that meet there, so bends stay smooth.
func Mannequin() *Body {
	const around = 16 // vertices per ring
	b := &Body{Joints: mannequinJoints}
	for _, p := range mannequinParts() {
		d := sub3(p.b, p.a)
		length := norm3(d)
		d = scale3(d, 1/length)
		// Cross-section axes: e1 across the body (x) where the part is not along x, else forward (z).
		e1 := [3]float32{1, 0, 0}
		if math.Abs(float64(d[0])) > 0.7 {
			e1 = [3]float32{0, 0, 1}
		}
		e1 = normalize3(sub3(e1, scale3(d, dot3(e1, d))))
		e2 := cross3(d, e1)
		// Rings along the axis: a hemisphere cap at each end and straight rings between.
		type ring struct{ axial, radius, t float32 }
		var rings []ring
		const capRings = 4
		for i := 0; i <= capRings; i++ {
			phi := -math.Pi/2 + float64(i)*math.Pi/2/capRings
			rings = append(rings, ring{p.ra * float32(math.Sin(phi)), p.ra * float32(math.Cos(phi)), 0})
		}
		body := max(2, int(length/0.04))
		for k := 1; k < body; k++ {
			t := float32(k) / float32(body)
			rings = append(rings, ring{t * length, p.ra + (p.rb-p.ra)*t, t})
		}
		for i := 0; i <= capRings; i++ {
			phi := float64(i) * math.Pi / 2 / capRings
			rings = append(rings, ring{length + p.rb*float32(math.Sin(phi)), p.rb * float32(math.Cos(phi)), 1})
		}
		base := uint32(b.VertexCount())
		parent := SMPLParents[p.owner]
		for _, r := range rings {
			var w [JointCount]float32
			var wParent, wChild float32
			if r.t < 0.2 && parent >= 0 {
				wParent = 0.5 * (1 - r.t/0.2)
			}
			if r.t > 0.8 && p.child >= 0 {
				wChild = 0.5 * (r.t - 0.8) / 0.2
			}
			if parent >= 0 {
				w[parent] += wParent
			}
			if p.child >= 0 {
				w[p.child] += wChild
			}
			w[p.owner] += 1 - wParent - wChild
			centre := add3(p.a, scale3(d, r.axial))
			for k := 0; k < around; k++ {
				a := 2 * math.Pi * float64(k) / around
				off := add3(scale3(e1, r.radius*float32(math.Cos(a))), scale3(e2, r.radius*p.flat*float32(math.Sin(a))))
				v := add3(centre, off)
				b.Template = append(b.Template, v[0], v[1], v[2])
				b.Weights = append(b.Weights, w[:]...)
			}
		}
		for i := 0; i+1 < len(rings); i++ {
			r0, r1 := base+uint32(i*around), base+uint32((i+1)*around)
			for k := uint32(0); k < around; k++ {
				k1 := (k + 1) % around
				b.Faces = append(b.Faces, r0+k, r0+k1, r1+k, r1+k, r0+k1, r1+k1)
			}
		}
	}
	return b
}

func dot3(a, b [3]float32) float32              { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func scale3(a [3]float32, s float32) [3]float32 { return [3]float32{a[0] * s, a[1] * s, a[2] * s} }
func norm3(a [3]float32) float32                { return float32(math.Sqrt(float64(dot3(a, a)))) }
func normalize3(a [3]float32) [3]float32        { return scale3(a, 1/norm3(a)) }
func cross3(a, b [3]float32) [3]float32 {
	return [3]float32{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
