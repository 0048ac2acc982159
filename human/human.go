// Package human holds the few types that every stage of meshpipe passes along: a person's
// bbox, detection, pose-model output and placed body. It is a leaf: it imports nothing of
// meshpipe, so the stage graph (stages), the models (models) and the renderer adapters can all
// share these types without importing each other.
package human

import "strconv"

// JointCount is the number of joints of SMPL's kinematic tree (pelvis plus 23; Loper et al.
// 2015, the SMPL model file's kintree_table).
const JointCount = 24

// Box is an axis-aligned bounding box (bbox) in pixels, in the image frame (x right, y down,
// origin at the top-left corner of the top-left pixel). (X1, Y1) is the top-left corner and
// (X2, Y2) the bottom-right one; the box is X2-X1 pixels wide and Y2-Y1 high.
type Box struct {
	X1, Y1, X2, Y2 float32
}

// Width returns X2-X1 in pixels.
func (b Box) Width() float32 { return b.X2 - b.X1 }

// Height returns Y2-Y1 in pixels.
func (b Box) Height() float32 { return b.Y2 - b.Y1 }

// Area returns the box's area in square pixels, 0 for an empty or inverted box.
func (b Box) Area() float32 {
	if b.X2 <= b.X1 || b.Y2 <= b.Y1 {
		return 0
	}
	return (b.X2 - b.X1) * (b.Y2 - b.Y1)
}

// Intersection returns the box common to a and b; empty (Area 0) when they do not overlap.
func Intersection(a, b Box) Box {
	return Box{max(a.X1, b.X1), max(a.Y1, b.Y1), min(a.X2, b.X2), min(a.Y2, b.Y2)}
}

// IoU returns the intersection over union of two boxes, in [0, 1]; 0 when both are empty.
func IoU(a, b Box) float32 {
	in := Intersection(a, b).Area()
	u := a.Area() + b.Area() - in
	if u <= 0 {
		return 0
	}
	return in / u
}

// Detection is one person found in a frame.
type Detection struct {
	Box Box
	// Score is the detector's confidence in [0, 1].
	Score float32
	// TrackID identifies the same person across frames; 0 means not tracked yet. The tracker
	// (models.Tracker) assigns ids from 1 up.
	TrackID int
}

// Pose is one person's output of the pose model (the HMR2 contract in docs/design.md).
type Pose struct {
	// PredCam is HMR2's weak-perspective camera (s, tx, ty) for the 256x256 crop.
	PredCam [3]float32
	// GlobalOrient is the root (pelvis) rotation, a row-major 3x3 matrix from the SMPL body
	// frame (y up, z forward of the body) to the camera frame (x right, y down, z forward).
	GlobalOrient [9]float32
	// BodyPose holds the 23 non-root joint rotations of SMPL's kinematic tree, each a row-major
	// 3x3 matrix relative to its parent, joints 1..23 in SMPL order.
	BodyPose [23 * 9]float32
	// Betas are the 10 SMPL shape coefficients.
	Betas [10]float32
}

// PoseStatus says where a person's pose on a frame comes from.
type PoseStatus uint8

const (
	// PoseFound is a pose the pose model found on this frame (the zero value: every pose
	// model that cannot tell gives it).
	PoseFound PoseStatus = iota
	// PoseHeld is a pose not found on this frame: the track's last found pose is kept for a
	// few frames (models.PoseHold).
	PoseHeld
	// PoseMissing is a pose not found on this frame and not held: the person is not drawn.
	// Its Pose, CamT, Vertices and Joints are the pose model's stand-in (BlazePose's neutral
	// pose placed by the box), for the record only.
	PoseMissing
)

// String returns "found", "held" or "missing", as the -poses file writes them.
func (s PoseStatus) String() string {
	switch s {
	case PoseFound:
		return "found"
	case PoseHeld:
		return "held"
	case PoseMissing:
		return "missing"
	}
	return "PoseStatus(" + strconv.Itoa(int(s)) + ")"
}

// Drawn reports whether a person with this status is drawn: found or held.
func (s PoseStatus) Drawn() bool { return s == PoseFound || s == PoseHeld }

// Person is a detected, posed and placed body.
type Person struct {
	Detection
	// Status says whether the pose was found on this frame, held from an earlier one, or is
	// missing (not drawn).
	Status PoseStatus
	Pose   Pose
	// CamT is the camera translation in metres (camera frame), from the contract's camera maths.
	CamT [3]float32
	// Vertices holds the posed body's vertices in the camera frame (x right, y down, z forward),
	// in metres, as x, y, z triples: already translated by CamT. They are the model's
	// pred_vertices when it gives them, else the body model posed by Pose. The slice belongs to
	// the pose stage's buffers (in the stage graph, the frame's job, which refills it for a
	// later frame: see Reuse): it stays valid until the frame has been written, and whoever
	// keeps it longer copies it.
	Vertices []float32
	// Joints holds the 24 posed SMPL joints in the camera frame, in metres, translated by CamT:
	// always the body model's joints posed by Pose (models.Body.Pose), also when the model gives
	// pred_vertices.
	Joints [JointCount][3]float32
}

// Reuse returns people resized to n Persons for a pose estimator to fill, reusing what an
// earlier frame left: the backing array when its capacity holds n (else a new one, with the
// old Persons copied over), and each Person's vertex buffer. Every Person is zeroed except
// Vertices, which keeps its buffer with length 0 (see VertexBuffer). The Persons between
// len(people) and cap(people) count as left by an earlier frame too, so a caller that keeps
// people[:0] between frames (the stage graph's jobs) keeps their buffers.
func Reuse(people []Person, n int) []Person {
	if cap(people) < n {
		grown := make([]Person, n)
		copy(grown, people[:cap(people)])
		people = grown
	}
	people = people[:n]
	for i := range people {
		people[i] = Person{Vertices: people[i].Vertices[:0]}
	}
	return people
}

// VertexBuffer sets p.Vertices to length n (x, y, z triples: 3 per vertex), reusing its buffer
// when the capacity holds n and allocating a new one otherwise, and returns it. The values are
// whatever the buffer held: the caller overwrites all of them.
func (p *Person) VertexBuffer(n int) []float32 {
	if cap(p.Vertices) < n {
		p.Vertices = make([]float32, n)
	}
	p.Vertices = p.Vertices[:n]
	return p.Vertices
}
