// Package models holds everything between a frame and a posed body: person detectors, the
// tracker, crops, the HMR2 pose-model contract, the camera maths and the body model with its
// linear blend skinning. It is pure Go; running ONNX models is left to a Runner, which the cgo
// package models/ort implements with ONNX Runtime.
package models

import (
	"fmt"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Box is an axis-aligned bounding box in pixels, in the image frame (x right, y down, origin at
// the top-left corner of the top-left pixel). (X1, Y1) is the top-left corner and (X2, Y2) the
// bottom-right one; the box is X2-X1 pixels wide and Y2-Y1 high.
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

// IoU returns the intersection over union of two boxes, in [0, 1]; 0 when both are empty.
func IoU(a, b Box) float32 {
	in := Box{max(a.X1, b.X1), max(a.Y1, b.Y1), min(a.X2, b.X2), min(a.Y2, b.Y2)}.Area()
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
	// TrackID identifies the same person across frames; 0 means not tracked yet. The Tracker
	// assigns ids from 1 up.
	TrackID int
}

// Detector finds the people in a frame. Implementations that keep state between frames (a
// background model) must be called in frame order from one goroutine.
type Detector interface {
	// Detect returns the people in f, best first, with TrackID 0.
	Detect(f *rawvideo.Frame) ([]Detection, error)
}

// Pose is one person's output of the pose model (the HMR2 contract in DESIGN.md).
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

// Person is a detected, posed and placed body.
type Person struct {
	Detection
	Pose Pose
	// CamT is the camera translation in metres (camera frame), from the contract's camera maths.
	CamT [3]float32
	// Vertices holds the posed body's vertices in the camera frame (x right, y down, z forward),
	// in metres, as x, y, z triples: already translated by CamT. They are the model's
	// pred_vertices when it gives them, else the body model posed by Pose.
	Vertices []float32
	// Joints holds the 24 posed SMPL joints in the camera frame, in metres, translated by CamT:
	// always the body model's joints posed by Pose (Body.Pose), also when the model gives
	// pred_vertices.
	Joints [JointCount][3]float32
}

// Tensor is a dense float32 tensor in row-major order, as ONNX models take and give them.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Len returns the number of elements the shape holds: the product of its sizes.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= int(d)
	}
	return n
}

// Runner runs a one-input ONNX model. models/ort implements it with ONNX Runtime; tests use
// fakes. Run must be safe for concurrent use.
type Runner interface {
	// Run feeds input to the model's only input and returns its outputs by name.
	Run(input Tensor) (map[string]Tensor, error)
}

// TensorSpec describes one model input or output: its name and shape, with -1 for a dynamic
// size (such as the batch).
type TensorSpec struct {
	Name  string
	Shape []int64
}

func (s TensorSpec) String() string { return fmt.Sprintf("%s%v", s.Name, s.Shape) }
