package models

import (
	"math"
	"testing"

	"github.com/meshpipe/meshpipe/human"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// Values worked out by hand for a 640x480 image.
func TestCameraByHand(t *testing.T) {
	cam := NewCamera(640, 480)
	// f = 5000/256*640 = 12500, principal point (320, 240).
	if cam.Focal != 12500 || cam.CX != 320 || cam.CY != 240 {
		t.Fatalf("camera = %+v, want f 12500 at (320, 240)", cam)
	}
	// Box 120x240 centred at (160, 170): b = max(240, 4*120/3=160) = 240.
	w := WindowOf(human.Box{X1: 100, Y1: 50, X2: 220, Y2: 290})
	if w != (Window{160, 170, 240}) {
		t.Fatalf("window = %+v, want {160 170 240}", w)
	}
	// Wide box 300x120: b = 4*300/3 = 400.
	if got := WindowOf(human.Box{X1: 0, Y1: 0, X2: 300, Y2: 120}).Side; got != 400 {
		t.Fatalf("wide box side = %v, want 400", got)
	}
	// s = 0.8 -> bs = 192; T = (0.1 + 2(160-320)/192, -0.2 + 2(170-240)/192, 2*12500/192)
	//                        = (-1.566667, -0.929167, 130.208333).
	T := cam.Translation([3]float32{0.8, 0.1, -0.2}, w)
	want := [3]float64{-1.5666667, -0.9291667, 130.2083333}
	for i := range T {
		if !near(float64(T[i]), want[i], 1e-6) {
			t.Fatalf("T = %v, want %v", T, want)
		}
	}
	// The model origin lands at the window centre shifted by (tx, ty) in crop units:
	// u = f*Tx/Tz + 320 = 12500*(-1.566667)/130.2083 + 320 = 169.6, v = 170 - 0.2*96 = 150.8.
	u, v := cam.Project(T)
	if !near(float64(u), 169.6, 1e-5) || !near(float64(v), 150.8, 1e-5) {
		t.Fatalf("origin at (%v, %v), want (169.6, 150.8)", u, v)
	}
}
