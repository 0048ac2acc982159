package ort

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/meshpipe/meshpipe/models"
	onnx "github.com/yalue/onnxruntime_go"
)

// DeviceKind says where ONNX Runtime runs a model.
type DeviceKind int

// The device kinds: Auto tries CUDA and falls back to the CPU; CPU is ONNX Runtime's default
// CPU execution provider; CUDA is its CUDA execution provider on one GPU.
const (
	Auto DeviceKind = iota
	CPU
	CUDA
)

// Device is a device to run models on: a kind and, for CUDA, the GPU's index (CUDA device id,
// from 0).
type Device struct {
	Kind DeviceKind
	ID   int
}

// String gives the device as the -device flag spells it: auto, cpu or cuda:N.
func (d Device) String() string {
	switch d.Kind {
	case CPU:
		return "cpu"
	case CUDA:
		return "cuda:" + strconv.Itoa(d.ID)
	}
	return "auto"
}

// ParseDevice reads a -device value: "auto", "cpu", "cuda" (GPU 0) or "cuda:N" (GPU N, N >= 0).
func ParseDevice(s string) (Device, error) {
	switch s {
	case "auto":
		return Device{Kind: Auto}, nil
	case "cpu":
		return Device{Kind: CPU}, nil
	case "cuda":
		return Device{Kind: CUDA}, nil
	}
	if rest, ok := strings.CutPrefix(s, "cuda:"); ok {
		if id, err := strconv.Atoi(rest); err == nil && id >= 0 {
			return Device{Kind: CUDA, ID: id}, nil
		}
	}
	return Device{}, fmt.Errorf("device %q: want auto, cpu, cuda or cuda:N (N a GPU index from 0)", s)
}

// cudaHelp says what the CUDA execution provider needs, for errors.
const cudaHelp = "ONNX Runtime's CUDA execution provider needs a GPU build of ONNX Runtime " +
	"(libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so beside " + LibraryName +
	") and the CUDA and cuDNN libraries that build was made for"

// probeMu serialises probes: they change the environment's log level for their duration.
var probeMu sync.Mutex

// Resolve turns d into the device models will run on, after Init. CPU stays CPU. CUDA is
// checked by opening a small model (the built-in stand-in) on that GPU; when that fails the
// error says why and what CUDA needs. Auto becomes cuda:0 when that check passes, else CPU, and
// then why is a one-line reason to tell the user.
func Resolve(d Device) (resolved Device, why string, err error) {
	if d.Kind == CPU {
		return d, "", nil
	}
	probe := d
	if d.Kind == Auto {
		probe = Device{Kind: CUDA}
	}
	perr := probeCUDA(probe.ID)
	switch {
	case perr == nil:
		return probe, "", nil
	case d.Kind == Auto:
		return Device{Kind: CPU}, fmt.Sprintf("CUDA is not available (%s)", oneLine(perr.Error())), nil
	}
	return Device{}, "", fmt.Errorf("-device %s: cannot start CUDA on GPU %d: %s; %s", d, d.ID, oneLine(perr.Error()), cudaHelp)
}

// probeCUDA opens the stand-in model with the CUDA execution provider on GPU id, with ONNX
// Runtime's own logging silenced so that a failure is reported once, by the caller.
func probeCUDA(id int) error {
	probeMu.Lock()
	defer probeMu.Unlock()
	if !onnx.IsInitialized() {
		return errors.New("ONNX Runtime is not initialised")
	}
	if err := onnx.SetEnvironmentLogLevel(onnx.LoggingLevelFatal); err == nil {
		defer onnx.SetEnvironmentLogLevel(onnx.LoggingLevelError)
	}
	s, err := OpenData("built-in stand-in", models.StandIn, Options{Device: Device{Kind: CUDA, ID: id}})
	if err != nil {
		return err
	}
	return s.Close()
}

// appendCUDA adds the CUDA execution provider on GPU id to so.
func appendCUDA(so *onnx.SessionOptions, id int) error {
	co, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	if err := co.Update(map[string]string{"device_id": strconv.Itoa(id)}); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(co)
}

// oneLine joins a multi-line message into one line and drops ONNX Runtime's source location
// ("/onnxruntime_src/...cc:1988 ... [ONNXRuntimeError] : 1 : FAIL : "), keeping the cause.
func oneLine(s string) string {
	if i := strings.LastIndex(s, "[ONNXRuntimeError]"); i >= 0 {
		rest := s[i:]
		if j := strings.Index(rest, "FAIL : "); j >= 0 {
			s = rest[j+len("FAIL : "):]
		}
	}
	return strings.Join(strings.Fields(s), " ")
}
