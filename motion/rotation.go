package motion

import (
	"fmt"
	"math"
)

// mat3 is a 3x3 matrix, row-major: m[r][c].
type mat3 [3][3]float64

// quat is a unit quaternion (x, y, z, w), as glTF stores rotations; it rotates v to q v q*.
type quat [4]float64

func mat3From(m *[3][3]float32) mat3 {
	var out mat3
	for r := range 3 {
		for c := range 3 {
			out[r][c] = float64(m[r][c])
		}
	}
	return out
}

func (a mat3) mul(b mat3) mat3 {
	var c mat3
	for r := range 3 {
		for k := range 3 {
			c[r][k] = a[r][0]*b[0][k] + a[r][1]*b[1][k] + a[r][2]*b[2][k]
		}
	}
	return c
}

func (a mat3) apply(v [3]float64) [3]float64 {
	return [3]float64{
		a[0][0]*v[0] + a[0][1]*v[1] + a[0][2]*v[2],
		a[1][0]*v[0] + a[1][1]*v[1] + a[1][2]*v[2],
		a[2][0]*v[0] + a[2][1]*v[1] + a[2][2]*v[2],
	}
}

// checkRotation returns an error when m is not a rotation matrix: a non-finite entry, columns
// not orthonormal within 1e-3, or a reflection (determinant below 0).
func checkRotation(m mat3) error {
	for r := range 3 {
		for c := range 3 {
			if math.IsNaN(m[r][c]) || math.IsInf(m[r][c], 0) {
				return fmt.Errorf("entry [%d][%d] is %v", r, c, m[r][c])
			}
		}
	}
	worst := 0.0 // largest entry of R^T R - I
	for a := range 3 {
		for b := range 3 {
			d := m[0][a]*m[0][b] + m[1][a]*m[1][b] + m[2][a]*m[2][b]
			if a == b {
				d--
			}
			worst = max(worst, math.Abs(d))
		}
	}
	if worst > 1e-3 {
		return fmt.Errorf("not a rotation matrix: R^T R differs from the identity by %.3g", worst)
	}
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if det < 0 {
		return fmt.Errorf("not a rotation matrix: a reflection (determinant %.4g)", det)
	}
	return nil
}

// quatFromMatrix returns the unit quaternion of rotation matrix m (Shepperd's method: the
// largest of w, x, y, z is found from the trace and the diagonal first, for accuracy; Shepperd,
// J. Guidance and Control 1(3), 1978). A matrix that is not quite orthonormal gives the
// normalised quaternion of a nearby rotation. The sign is chosen with w >= 0.
func quatFromMatrix(m mat3) quat {
	var q quat
	tr := m[0][0] + m[1][1] + m[2][2]
	switch {
	case tr >= m[0][0] && tr >= m[1][1] && tr >= m[2][2]:
		s := 2 * math.Sqrt(1+tr) // 4w
		q = quat{(m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s, s / 4}
	case m[0][0] >= m[1][1] && m[0][0] >= m[2][2]:
		s := 2 * math.Sqrt(1+m[0][0]-m[1][1]-m[2][2]) // 4x
		q = quat{s / 4, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s, (m[2][1] - m[1][2]) / s}
	case m[1][1] >= m[2][2]:
		s := 2 * math.Sqrt(1+m[1][1]-m[0][0]-m[2][2]) // 4y
		q = quat{(m[0][1] + m[1][0]) / s, s / 4, (m[1][2] + m[2][1]) / s, (m[0][2] - m[2][0]) / s}
	default:
		s := 2 * math.Sqrt(1+m[2][2]-m[0][0]-m[1][1]) // 4z
		q = quat{(m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, s / 4, (m[1][0] - m[0][1]) / s}
	}
	if q[3] < 0 {
		q = q.neg()
	}
	return q.normalize()
}

func (q quat) neg() quat { return quat{-q[0], -q[1], -q[2], -q[3]} }

func (q quat) dot(p quat) float64 { return q[0]*p[0] + q[1]*p[1] + q[2]*p[2] + q[3]*p[3] }

func (q quat) normalize() quat {
	n := math.Sqrt(q.dot(q))
	return quat{q[0] / n, q[1] / n, q[2] / n, q[3] / n}
}

// matrix returns the rotation matrix of unit quaternion q.
func (q quat) matrix() mat3 {
	x, y, z, w := q[0], q[1], q[2], q[3]
	return mat3{
		{1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w)},
		{2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w)},
		{2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y)},
	}
}

// slerp interpolates from a (t = 0) to b (t = 1) along the shorter arc, as glTF 2.0 asks of
// LINEAR rotation samplers (spec, Appendix C "Spherical Linear Interpolation").
func slerp(a, b quat, t float64) quat {
	d := a.dot(b)
	if d < 0 {
		b, d = b.neg(), -d
	}
	if d > 0.9995 { // nearly the same: the normalised lerp is as exact and well-conditioned
		var q quat
		for i := range q {
			q[i] = a[i] + t*(b[i]-a[i])
		}
		return q.normalize()
	}
	theta := math.Acos(d)
	sa, sb := math.Sin((1-t)*theta)/math.Sin(theta), math.Sin(t*theta)/math.Sin(theta)
	var q quat
	for i := range q {
		q[i] = sa*a[i] + sb*b[i]
	}
	return q.normalize()
}

// eulerOrder names three rotation axes (0 x, 1 y, 2 z), outermost first: the order of a BVH
// joint's rotation channels. The joint's rotation is R = R_first R_middle R_last.
type eulerOrder [3]int

// euler returns the angles (radians, outermost first) with m = R_i(a) R_j(b) R_k(c) for order
// (i, j, k), b within [-pi/2, pi/2]. The formulas are those of a rotation matrix written as a
// product of axis rotations (Shoemake, "Euler angle conversion", Graphics Gems IV, 1994), with
// s = +1 for the cyclic orders (xyz, yzx, zxy) and -1 for the others:
//
//	sin b = s m[i][k],  a = atan2(-s m[j][k], m[k][k]),  c = atan2(-s m[i][j], m[i][i]).
//
// At gimbal lock (cos b = 0) c is 0 and a = atan2(s m[k][j], m[j][j]).
func euler(m mat3, o eulerOrder) [3]float64 {
	i, j, k := o[0], o[1], o[2]
	s := 1.0
	if (j-i+3)%3 != 1 {
		s = -1
	}
	cb := math.Hypot(m[i][i], m[i][j])
	b := math.Atan2(s*m[i][k], cb)
	if cb < 1e-12 {
		return [3]float64{math.Atan2(s*m[k][j], m[j][j]), b, 0}
	}
	return [3]float64{math.Atan2(-s*m[j][k], m[k][k]), b, math.Atan2(-s*m[i][j], m[i][i])}
}

// axisRotation returns the rotation by angle a (radians) about axis 0 (x), 1 (y) or 2 (z).
func axisRotation(axis int, a float64) mat3 {
	c, s := math.Cos(a), math.Sin(a)
	switch axis {
	case 0:
		return mat3{{1, 0, 0}, {0, c, -s}, {0, s, c}}
	case 1:
		return mat3{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}
	}
	return mat3{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}
