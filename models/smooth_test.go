package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
	"gonum.org/v1/gonum/num/quat"
	"gonum.org/v1/gonum/spatial/r3"
)

// matrixQuat inverts quatMatrix, whatever the rotation (angles up to pi included).
func TestMatrixQuat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		axis := r3.Unit(r3.Vec{X: rng.NormFloat64(), Y: rng.NormFloat64(), Z: rng.NormFloat64()})
		angle := rng.Float64() * math.Pi
		if i < 3 {
			angle = []float64{0, math.Pi, math.Pi - 1e-7}[i]
		}
		q := quat.Number(r3.NewRotation(angle, axis))
		got := matrixQuat(quatMatrix(q))
		if d := math.Abs(quatDot(got, q)); d < 1-1e-6 {
			t.Fatalf("rotation %.3f about %v: quaternion %v back as %v", angle, axis, q, got)
		}
	}
}

// smoothPerson is a tracked, found person at frame seq: its root turned by yaw about the
// vertical axis, at translation t, posed on body.
func smoothPerson(body *Body, yaw float64, t [3]float32) human.Person {
	p := human.Person{Detection: human.Detection{TrackID: 1}}
	ik := NewIK(body)
	p.Pose = human.Pose{GlobalOrient: quatMatrix(quat.Number(r3.NewRotation(yaw, r3.Vec{Y: 1}))), BodyPose: ik.Neutral().BodyPose}
	p.CamT = t
	verts := p.VertexBuffer(3 * body.VertexCount())
	joints := body.Pose(&p.Pose, verts)
	for j := range joints {
		p.Joints[j] = add3(joints[j], t)
	}
	return p
}

// A step in a synthetic track is followed within one frame's lag: a still person who turns by
// 90 degrees, and one who moves by a fifth of their height across and 20% nearer, are within 10%
// of the step's size of where they went on the frame after the step; and the vertices and
// joints are the body posed at the smoothed pose and translation.
func TestSmoothStep(t *testing.T) {
	body := Mannequin()
	for _, c := range []struct {
		name   string
		yaw    [2]float64
		t0, t1 [3]float32
	}{
		{"turn", [2]float64{0, math.Pi / 2}, [3]float32{0.2, 0.1, 10}, [3]float32{0.2, 0.1, 10}},
		{"move", [2]float64{0, 0}, [3]float32{0.2, 0.1, 10}, [3]float32{0.54, 0.1, 8}},
	} {
		s := NewPoseSmoother(body)
		f := &rawvideo.Frame{Width: 640, Height: 480}
		var got human.Person
		for seq := int64(0); seq < 12; seq++ {
			f.Seq = seq
			i := 0
			if seq >= 8 {
				i = 1
			}
			tr := c.t0
			if i == 1 {
				tr = c.t1
			}
			people := []human.Person{smoothPerson(body, c.yaw[i], tr)}
			s.FilterPeople(f, people)
			got = people[0]
			if seq != 9 {
				continue
			}
			// One frame after the step.
			want := smoothPerson(body, c.yaw[1], c.t1)
			angle := 2 * math.Acos(math.Min(1, math.Abs(quatDot(matrixQuat(got.Pose.GlobalOrient), matrixQuat(want.Pose.GlobalOrient)))))
			t.Logf("%s: a frame after the step: the root %.1f degrees from the new pose, the translation %.3f m from the new one",
				c.name, angle*180/math.Pi, math.Sqrt(float64(sq3(sub3(got.CamT, c.t1)))))
			if step := math.Abs(c.yaw[1] - c.yaw[0]); angle > 0.1*step+1e-6 {
				t.Errorf("%s: a frame after the step, the root is %.1f degrees from the new pose (step %.0f)", c.name, angle*180/math.Pi, step*180/math.Pi)
			}
			dist := math.Sqrt(float64(sq3(sub3(got.CamT, c.t1))))
			if step := math.Sqrt(float64(sq3(sub3(c.t1, c.t0)))); dist > 0.1*step+1e-6 {
				t.Errorf("%s: a frame after the step, the translation %v is %.3f m from %v (step %.2f m)", c.name, got.CamT, dist, c.t1, step)
			}
		}
		// The body is posed at the smoothed pose and translation.
		verts := make([]float32, 3*body.VertexCount())
		joints := body.Pose(&got.Pose, verts)
		for j := range joints {
			if d := sq3(sub3(add3(joints[j], got.CamT), got.Joints[j])); d > 1e-10 {
				t.Fatalf("%s: joint %d at %v, the smoothed pose puts it at %v", c.name, j, got.Joints[j], add3(joints[j], got.CamT))
			}
		}
		if d := got.Vertices[0] - (verts[0] + got.CamT[0]); math.Abs(float64(d)) > 1e-5 {
			t.Fatalf("%s: vertex 0 x %v, want %v", c.name, got.Vertices[0], verts[0]+got.CamT[0])
		}
	}
}

// On a still person 10 m away whose pose model output jitters (the root turning by up to 3
// degrees either way, the translation moving by up to 1 cm across and 20 cm in depth, at random
// frame to frame), the joints' acceleration drops by at least half.
func TestSmoothJitter(t *testing.T) {
	body := Mannequin()
	rng := rand.New(rand.NewPCG(3, 4))
	s := NewPoseSmoother(body)
	f := &rawvideo.Frame{Width: 640, Height: 480}
	var raw, smooth [][human.JointCount][3]float32
	for seq := int64(0); seq < 200; seq++ {
		f.Seq = seq
		yaw := (rng.Float64() - 0.5) * 0.1
		tr := [3]float32{0.2 + 0.02*(rng.Float32()-0.5), 0.1, 10 + 0.4*(rng.Float32()-0.5)}
		p := smoothPerson(body, yaw, tr)
		raw = append(raw, p.Joints)
		people := []human.Person{p}
		s.FilterPeople(f, people)
		smooth = append(smooth, people[0].Joints)
	}
	a, b := meanAccel(raw), meanAccel(smooth)
	t.Logf("mean joint acceleration: %.4f m/frame^2 raw, %.4f smoothed (%.2f)", a, b, b/a)
	if b > a/2 {
		t.Errorf("smoothing kept %.2f of the joints' acceleration, want at most half", b/a)
	}
}

// meanAccel returns the mean norm of the joints' second differences over frames.
func meanAccel(js [][human.JointCount][3]float32) float64 {
	var sum float64
	n := 0
	for i := 2; i < len(js); i++ {
		for j := range js[i] {
			var a [3]float32
			for c := range 3 {
				a[c] = js[i][j][c] - 2*js[i-1][j][c] + js[i-2][j][c]
			}
			sum += math.Sqrt(float64(sq3(a)))
			n++
		}
	}
	return sum / float64(n)
}

func sq3(a [3]float32) float32 { return a[0]*a[0] + a[1]*a[1] + a[2]*a[2] }

// Held, missing and untracked people are left alone; a track back after more than
// smoothForget frames starts afresh from its pose.
func TestSmoothLeavesAlone(t *testing.T) {
	body := Mannequin()
	s := NewPoseSmoother(body)
	f := &rawvideo.Frame{Width: 640, Height: 480}
	p := smoothPerson(body, 0, [3]float32{0, 0, 10})
	s.FilterPeople(f, []human.Person{p})
	for _, st := range []human.PoseStatus{human.PoseHeld, human.PoseMissing} {
		f.Seq++
		q := smoothPerson(body, 1, [3]float32{1, 0, 10})
		q.Status = st
		people := []human.Person{q}
		s.FilterPeople(f, people)
		if people[0].CamT != q.CamT || people[0].Pose != q.Pose {
			t.Errorf("%v: changed", st)
		}
	}
	f.Seq += smoothForget + 1
	q := smoothPerson(body, 1, [3]float32{1, 0, 10})
	people := []human.Person{q}
	s.FilterPeople(f, people)
	if people[0].CamT != q.CamT || people[0].Pose.GlobalOrient != q.Pose.GlobalOrient {
		t.Errorf("a track back after %d frames: %v, want its own pose as it is", smoothForget+1, people[0].CamT)
	}
	u := smoothPerson(body, 1, [3]float32{1, 0, 10})
	u.TrackID = 0
	people = []human.Person{u}
	s.FilterPeople(f, people)
	if people[0].CamT != u.CamT {
		t.Error("an untracked person changed")
	}
}
