package models

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// DefaultHoldFrames is how many frames, by default, a track keeps its last found pose while
// the pose model finds no body in it: 5, half a second at vtest.avi's 10 fps and a sixth of one
// at 30 fps. A short dropout (a person passing behind a pole, a blurred step) is bridged, and
// a person the pose model has lost does not stay on screen for long (our choice).
const DefaultHoldFrames = 5

// PoseHold keeps each track's last found pose through a short dropout: a person whose pose is
// missing on a frame (human.PoseMissing) but whose track had a found pose at most Frames frames
// before takes that pose and is human.PoseHeld; later, or without an earlier pose, the person
// stays missing and is not drawn. The held body keeps its rotations and depth and moves with
// the box: its translation, joints and vertices shift across the image plane by the box
// centre's move since the pose was found (dx*z/f, dy*z/f under the frame's NewCamera). A box
// whose height is not within 2/3 to 3/2 of the found box's is taken for another blob (a
// detector's box that merged or split people) and holds nothing. Untracked people (TrackID
// 0) are left as they are. It is a stages.PeopleFilter: frames
// must come in stream order, numbered by Seq, from one goroutine. Tracks whose pose is older
// than Frames are forgotten; their buffers are reused for new tracks.
type PoseHold struct {
	// Frames is the most frames after a track's last found pose that the pose is held; 0
	// holds nothing.
	Frames int

	tracks map[int]*heldPose
	free   freeList[heldPose] // forgotten tracks' buffers
}

// heldPose is a track's last found pose: the person as posed and boxed on frame foundAt, with
// its own vertex buffer.
type heldPose struct {
	person  human.Person
	foundAt int64
}

// NewPoseHold returns a PoseHold that holds a pose for up to frames frames.
func NewPoseHold(frames int) *PoseHold {
	return &PoseHold{Frames: frames, tracks: map[int]*heldPose{}}
}

// FilterPeople keeps the found poses of f's tracked people and gives the missing ones their
// track's pose when it is recent enough (see PoseHold). It never fails.
func (h *PoseHold) FilterPeople(f *rawvideo.Frame, people []human.Person) error {
	for i := range people {
		p := &people[i]
		if p.TrackID == 0 {
			continue
		}
		hp := h.tracks[p.TrackID]
		switch p.Status {
		case human.PoseFound:
			if hp == nil {
				hp = h.free.get()
				h.tracks[p.TrackID] = hp
			}
			hp.person.Box = p.Box
			hp.person.Pose, hp.person.CamT, hp.person.Joints = p.Pose, p.CamT, p.Joints
			hp.person.Vertices = append(hp.person.Vertices[:0], p.Vertices...)
			hp.foundAt = f.Seq
		case human.PoseMissing:
			if hp == nil || f.Seq-hp.foundAt > int64(h.Frames) {
				continue
			}
			if r := p.Box.Height() / hp.person.Box.Height(); !(r >= 2.0/3 && r <= 1.5) {
				continue
			}
			cam := NewCamera(f.Width, f.Height)
			z := hp.person.CamT[2]
			shift := [3]float32{
				((p.Box.X1 + p.Box.X2 - hp.person.Box.X1 - hp.person.Box.X2) / 2) * z / cam.Focal,
				((p.Box.Y1 + p.Box.Y2 - hp.person.Box.Y1 - hp.person.Box.Y2) / 2) * z / cam.Focal,
				0,
			}
			p.Pose = hp.person.Pose
			p.CamT = add3(hp.person.CamT, shift)
			for j := range p.Joints {
				p.Joints[j] = add3(hp.person.Joints[j], shift)
			}
			v := p.VertexBuffer(len(hp.person.Vertices))
			for k := 0; k+2 < len(v); k += 3 {
				v[k] = hp.person.Vertices[k] + shift[0]
				v[k+1] = hp.person.Vertices[k+1] + shift[1]
				v[k+2] = hp.person.Vertices[k+2]
			}
			p.Status = human.PoseHeld
		}
	}
	for id, hp := range h.tracks {
		if f.Seq-hp.foundAt > int64(h.Frames) {
			delete(h.tracks, id)
			h.free.put(hp)
		}
	}
	return nil
}
