//go:build !cgo

package ort

import (
	"fmt"

	"github.com/meshpipe/meshpipe/models"
)

// haveCgo is whether this build has cgo, and so ONNX Runtime: not this one.
const haveCgo = false

// Init fails in a build without cgo: ErrNoCgo, naming the library.
func Init(path string) error { return fmt.Errorf("loading %s: %w", path, ErrNoCgo) }

// Version returns "" in a build without cgo: no ONNX Runtime is loaded.
func Version() string { return "" }

// Resolve turns d into the device models would run on: in a build without cgo, CPU stays CPU
// and Auto becomes CPU with ErrNoCgo's text as the reason; CUDA is an error.
func Resolve(d Device) (resolved Device, why string, err error) {
	switch d.Kind {
	case CPU:
		return d, "", nil
	case Auto:
		return Device{Kind: CPU}, ErrNoCgo.Error(), nil
	}
	return Device{}, "", fmt.Errorf("-device %s: %w", d, ErrNoCgo)
}

// Session is a loaded model; in a build without cgo none can be made (Open and OpenData fail),
// and its methods report ErrNoCgo.
type Session struct {
	name string
}

// Open fails in a build without cgo: ErrNoCgo, naming the model.
func Open(path string, opt Options) (*Session, error) {
	return nil, fmt.Errorf("model %s: %w", path, ErrNoCgo)
}

// OpenData fails in a build without cgo: ErrNoCgo, naming the model.
func OpenData(name string, data []byte, opt Options) (*Session, error) {
	return nil, fmt.Errorf("model %s: %w", name, ErrNoCgo)
}

// Device returns the zero Device (auto) in a build without cgo.
func (s *Session) Device() Device { return Device{} }

// Input returns the zero TensorSpec in a build without cgo.
func (s *Session) Input() models.TensorSpec { return models.TensorSpec{} }

// Outputs returns nil in a build without cgo.
func (s *Session) Outputs() []models.TensorSpec { return nil }

// Run returns ErrNoCgo in a build without cgo.
func (s *Session) Run(input models.Tensor) (map[string]models.Tensor, error) {
	return nil, fmt.Errorf("model %s: %w", s.name, ErrNoCgo)
}

// RunInto returns ErrNoCgo in a build without cgo.
func (s *Session) RunInto(input models.Tensor, out map[string]models.Tensor) error {
	return fmt.Errorf("model %s: %w", s.name, ErrNoCgo)
}

// Close does nothing in a build without cgo.
func (s *Session) Close() error { return nil }
