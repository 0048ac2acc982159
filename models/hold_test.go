package models_test

import (
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// holdPerson is a tracked person on a frame: found with vertices and a translation that tell
// the frame apart, or missing with the pose model's stand-in; its 40 px high box moves 4 px
// right a frame.
func holdPerson(track int, seq int64, found bool) human.Person {
	x := 100 + 4*float32(seq)
	p := human.Person{Detection: human.Detection{TrackID: track, Box: human.Box{X1: x, Y1: 100, X2: x + 20, Y2: 140}}}
	v := float32(seq) + float32(track)/10
	if !found {
		p.Status, v = human.PoseMissing, -1
	}
	p.CamT = [3]float32{v, 0, 3}
	p.Vertices = []float32{v, v, v, v, v, v}
	return p
}

// A track found on frames 0..2 and missing from frame 3 on is held, with frame 2's pose, on
// frames 3..7 (DefaultHoldFrames = 5), moved with its box, then missing; found again on frame
// 10 it is found. A second track, missing from its first frame, has nothing to hold; an
// untracked person is left alone; a box of another size holds nothing.
func TestPoseHold(t *testing.T) {
	h := models.NewPoseHold(models.DefaultHoldFrames)
	f := &rawvideo.Frame{Width: 640, Height: 480}
	focal := models.NewCamera(640, 480).Focal
	for seq := int64(0); seq <= 10; seq++ {
		f.Seq = seq
		found := seq <= 2 || seq == 10
		people := []human.Person{holdPerson(1, seq, found), holdPerson(2, seq, false), holdPerson(0, seq, false)}
		if err := h.FilterPeople(f, people); err != nil {
			t.Fatal(err)
		}
		p := people[0]
		want := human.PoseFound
		switch {
		case found:
		case seq <= 2+models.DefaultHoldFrames:
			want = human.PoseHeld
		default:
			want = human.PoseMissing
		}
		if p.Status != want {
			t.Errorf("frame %d: track 1 %v, want %v", seq, p.Status, want)
		}
		if want == human.PoseHeld {
			// Frame 2's body (2.1), moved 4 px a frame across at a depth of 3 m.
			dx := 4 * float32(seq-2) * 3 / focal
			if !approxEqual(p.CamT[0], 2.1+dx) || p.CamT[2] != 3 || !approxEqual(p.Vertices[3], 2.1+dx) ||
				!approxEqual(p.Vertices[4], 2.1) || !approxEqual(p.Vertices[5], 2.1) || len(p.Vertices) != 6 {
				t.Errorf("frame %d: held with translation %v and vertices %v, want frame 2's (2.1) moved %v across", seq, p.CamT, p.Vertices, dx)
			}
		}
		if people[1].Status != human.PoseMissing || people[2].Status != human.PoseMissing || people[2].Vertices[0] != -1 {
			t.Errorf("frame %d: track 2 %v, untracked %v (vertex %v): want both missing, untouched", seq, people[1].Status, people[2].Status, people[2].Vertices[0])
		}
	}
	// A box half the height is another blob: nothing held.
	f.Seq = 11
	other := holdPerson(1, 11, false)
	other.Box.Y2 = 120
	people := []human.Person{other}
	h.FilterPeople(f, people)
	if people[0].Status != human.PoseMissing {
		t.Errorf("a box half as high: %v, want missing", people[0].Status)
	}
	// Frames 0 holds nothing.
	none := models.NewPoseHold(0)
	for seq := int64(0); seq < 2; seq++ {
		f.Seq = seq
		people := []human.Person{holdPerson(1, seq, seq == 0)}
		none.FilterPeople(f, people)
		if seq == 1 && people[0].Status != human.PoseMissing {
			t.Errorf("Frames 0: frame 1 %v, want missing", people[0].Status)
		}
	}
}

// In steady state (tracks coming and going, dropouts held) the hold allocates nothing once its
// buffers have grown.
func TestPoseHoldAllocs(t *testing.T) {
	h := models.NewPoseHold(2)
	f := &rawvideo.Frame{Width: 64, Height: 48}
	people := make([]human.Person, 3)
	step := func() {
		for i := range people {
			p := &people[i]
			p.TrackID = int(f.Seq/10)*3 + i + 1 // new ids every 10 frames
			p.Box = human.Box{X1: 10, Y1: 10, X2: 30, Y2: 60}
			p.Status = human.PoseFound
			if f.Seq%4 == 3 {
				p.Status = human.PoseMissing
			}
			v := p.VertexBuffer(6)
			for k := range v {
				v[k] = float32(f.Seq)
			}
		}
		h.FilterPeople(f, people)
		f.Seq++
	}
	for range 40 {
		step()
	}
	if n := testing.AllocsPerRun(100, step); n > 0 {
		t.Errorf("FilterPeople allocates %v times a frame", n)
	}
}
