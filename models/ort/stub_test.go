//go:build !cgo

package ort_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
)

// Built without cgo, every way to ONNX Runtime fails with ErrNoCgo, naming the library or the
// model, and CPU is the only device. (make test runs this with CGO_ENABLED=0.)
func TestNoCgoErrors(t *testing.T) {
	if err := ort.InitFound(""); !errors.Is(err, ort.ErrNoCgo) {
		t.Errorf("InitFound: %v, want ErrNoCgo", err)
	}
	if err := ort.Init("/x/libonnxruntime.so.1"); !errors.Is(err, ort.ErrNoCgo) || !strings.Contains(err.Error(), "/x/libonnxruntime.so.1") {
		t.Errorf("Init: %v, want ErrNoCgo naming the library", err)
	}
	if _, err := ort.Open("/x/model.onnx", ort.Options{}); !errors.Is(err, ort.ErrNoCgo) || !strings.Contains(err.Error(), "/x/model.onnx") {
		t.Errorf("Open: %v, want ErrNoCgo naming the model", err)
	}
	if _, err := ort.OpenData("stand-in", models.StandIn, ort.Options{}); !errors.Is(err, ort.ErrNoCgo) || !strings.Contains(err.Error(), "stand-in") {
		t.Errorf("OpenData: %v, want ErrNoCgo naming the model", err)
	}
	if !strings.Contains(ort.ErrNoCgo.Error(), "CGO_ENABLED=1") {
		t.Errorf("ErrNoCgo %q does not say how to build with cgo", ort.ErrNoCgo)
	}
	if d, why, err := ort.Resolve(ort.Device{Kind: ort.Auto}); err != nil || d.Kind != ort.CPU || why == "" {
		t.Errorf("Resolve(auto) = %v, %q, %v; want cpu with a reason", d, why, err)
	}
	if _, _, err := ort.Resolve(ort.Device{Kind: ort.CUDA}); !errors.Is(err, ort.ErrNoCgo) {
		t.Errorf("Resolve(cuda): %v, want ErrNoCgo", err)
	}
}
