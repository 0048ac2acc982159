// Package models holds everything between a frame and a posed body: person detectors, the
// tracker, crops, the HMR2 pose-model contract, the camera maths and the body model with its
// linear blend skinning. It is pure Go; running ONNX models is left to a Runner, which the cgo
// package models/ort implements with ONNX Runtime.
package models

import (
	"fmt"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Detector finds the people in a frame. Implementations that keep state between frames (a
// background model) must be called in frame order from one goroutine.
type Detector interface {
	// Detect returns the people in f, best first, with TrackID 0.
	Detect(f *rawvideo.Frame) ([]human.Detection, error)
}

// Learner is a Detector that learns from every frame of the stream (background subtraction's
// background model): a PoseTracker runs it on every frame, whatever its schedule, and
// Capped passes the question on to the Detector it wraps.
type Learner interface {
	Detector
	// LearnsEveryFrame reports whether the detector must see every frame.
	LearnsEveryFrame() bool
}

// learnsEveryFrame reports whether d is a Learner that must see every frame.
func learnsEveryFrame(d Detector) bool {
	l, ok := d.(Learner)
	return ok && l.LearnsEveryFrame()
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

// RunnerInto is a Runner that can also write its outputs into buffers the caller keeps
// (models/ort.Session is one), so that a steady stream of batches allocates nothing. The pose
// estimators use RunInto when their Runner has it, and Run otherwise.
type RunnerInto interface {
	Runner
	// RunInto runs input like Run and stores every output in out under its name, reusing the
	// Shape and Data slices out already holds there when their capacity suffices. It must be
	// safe for concurrent use, each caller with its own out.
	RunInto(input Tensor, out map[string]Tensor) error
}

// runInto runs r on input into out: with RunInto when r has it, else with Run, whose outputs
// then replace out's contents.
func runInto(r Runner, input Tensor, out map[string]Tensor) error {
	if ri, ok := r.(RunnerInto); ok {
		return ri.RunInto(input, out)
	}
	res, err := r.Run(input)
	if err != nil {
		return err
	}
	clear(out)
	for k, v := range res {
		out[k] = v
	}
	return nil
}

// TensorSpec describes one model input or output: its name and shape, with -1 for a dynamic
// size (such as the batch).
type TensorSpec struct {
	Name  string
	Shape []int64
}

func (s TensorSpec) String() string { return fmt.Sprintf("%s%v", s.Name, s.Shape) }
