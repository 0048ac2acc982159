// Package ort runs ONNX models with ONNX Runtime through github.com/yalue/onnxruntime_go. It is
// the only cgo part of models: every type it exports is pure Go (models.Tensor), so no ONNX
// Runtime type crosses the package edge. Built without cgo (CGO_ENABLED=0), it keeps its API,
// and Init, Open and OpenData fail with ErrNoCgo (stub.go).
package ort

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoCgo is the error of Init, InitFound, Open and OpenData (wrapped, naming the library or
// model) in a build without cgo: onnxruntime_go calls ONNX Runtime's C API through cgo.
var ErrNoCgo = errors.New("ONNX Runtime needs cgo, and this meshpipe was built without it (CGO_ENABLED=0); build it with CGO_ENABLED=1 and a C compiler (gcc)")

// InitFound finds the library with Locate (flag first, then MESHPIPE_ORT_LIB, then the
// project's .deps folder) and calls Init. Without cgo it returns ErrNoCgo before looking.
func InitFound(flag string) error {
	if !haveCgo {
		return ErrNoCgo
	}
	path, err := Locate(DefaultLibraryInputs(flag))
	if err != nil {
		return err
	}
	return Init(path)
}

// Locate returns the library FindLibrary finds for in, or an error that lists every path tried
// and how to install the library.
func Locate(in LibraryInputs) (string, error) {
	path, tried := FindLibrary(in)
	if path == "" {
		return "", fmt.Errorf("ONNX Runtime library not found; tried:\n  %s\nrun scripts/setup.sh, or name the library with -ort-lib or %s",
			strings.Join(tried, "\n  "), LibraryEnv)
	}
	return path, nil
}

// Options configures a Session.
type Options struct {
	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 leaves its default (one per
	// core). the design notes measured one thread per session user as best on 2 cores.
	IntraOpThreads int
	// Device is where the model runs: CPU, or CUDA on one GPU. Auto is taken as CPU here;
	// Resolve turns it into CPU or CUDA first.
	Device Device
}
