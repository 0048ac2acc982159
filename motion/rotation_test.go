package motion

import (
	"math"
	"math/rand/v2"
	"testing"
)

func maxDiff(a, b mat3) float64 {
	d := 0.0
	for r := range 3 {
		for c := range 3 {
			d = max(d, math.Abs(a[r][c]-b[r][c]))
		}
	}
	return d
}

// testRotations returns random rotations and the awkward ones: the identity, half turns about
// each axis (trace -1, where the quaternion's w is 0) and quarter turns (Euler gimbal lock).
func testRotations() []mat3 {
	r := rand.New(rand.NewPCG(1, 1))
	var out []mat3
	for range 500 {
		out = append(out, rodrigues(randomAxis(r), (r.Float64()*2-1)*math.Pi))
	}
	for axis := range 3 {
		for _, a := range []float64{0, math.Pi / 2, -math.Pi / 2, math.Pi, math.Pi - 1e-9} {
			out = append(out, axisRotation(axis, a))
			out = append(out, axisRotation(axis, a).mul(axisRotation((axis+1)%3, 0.3)))
		}
	}
	return out
}

// A rotation matrix goes to a unit quaternion and back unchanged, within 1e-12.
func TestQuatFromMatrix(t *testing.T) {
	for i, m := range testRotations() {
		q := quatFromMatrix(m)
		if d := math.Abs(q.dot(q) - 1); d > 1e-12 {
			t.Fatalf("rotation %d: |q|^2 - 1 = %g", i, d)
		}
		if d := maxDiff(q.matrix(), m); d > 1e-12 {
			t.Fatalf("rotation %d: back to a matrix, off by %g", i, d)
		}
	}
}

// Every Euler order gives angles that compose back to the rotation (R = R_first R_middle R_last),
// the middle one within [-90, 90] degrees, gimbal lock included.
func TestEulerComposesBack(t *testing.T) {
	for _, o := range []eulerOrder{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		for i, m := range testRotations() {
			e := euler(m, o)
			back := axisRotation(o[0], e[0]).mul(axisRotation(o[1], e[1])).mul(axisRotation(o[2], e[2]))
			if d := maxDiff(back, m); d > 1e-9 || math.Abs(e[1]) > math.Pi/2+1e-12 {
				t.Fatalf("order %v, rotation %d: angles %v compose to a matrix off by %g", o, i, e, d)
			}
		}
	}
}

// slerp turns about the rotations' common axis by the interpolated angle, takes the shorter
// way when the quaternions are on opposite sides, and ends on its ends.
func TestSlerp(t *testing.T) {
	ax := [3]float64{0.6, 0, 0.8}
	a, b := quatFromMatrix(rodrigues(ax, 0.2)), quatFromMatrix(rodrigues(ax, 1.4))
	for _, u := range []float64{0, 0.25, 0.5, 1} {
		want := rodrigues(ax, 0.2+u*1.2)
		if d := maxDiff(slerp(a, b, u).matrix(), want); d > 1e-12 {
			t.Errorf("u=%v: off by %g", u, d)
		}
		if d := maxDiff(slerp(a, b.neg(), u).matrix(), want); d > 1e-12 {
			t.Errorf("u=%v, b negated: off by %g", u, d)
		}
	}
	c := quatFromMatrix(rodrigues(ax, 0.2+1e-5)) // nearly a: the normalised lerp
	if d := maxDiff(slerp(a, c, 0.5).matrix(), rodrigues(ax, 0.2+0.5e-5)); d > 1e-12 {
		t.Errorf("nearly equal ends: off by %g", d)
	}
}

// checkRotation takes rotations (with float32 rounding) and refuses scaled, sheared, mirrored
// and non-finite matrices.
func TestCheckRotation(t *testing.T) {
	m := rodrigues(randomAxis(rand.New(rand.NewPCG(2, 2))), 1)
	var m32 [3][3]float32
	for r := range 3 {
		for c := range 3 {
			m32[r][c] = float32(m[r][c])
		}
	}
	if err := checkRotation(mat3From(&m32)); err != nil {
		t.Fatal(err)
	}
	scaled, sheared, mirrored, nan := m, m, m, m
	scaled[0][0] *= 1.01
	sheared[0][1] += 0.01
	for c := range 3 {
		mirrored[1][c] = -m[1][c]
	}
	nan[2][2] = math.NaN()
	for name, bad := range map[string]mat3{"scaled": scaled, "sheared": sheared, "mirrored": mirrored, "nan": nan} {
		if checkRotation(bad) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
