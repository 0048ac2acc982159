package ort

import (
	"fmt"
	"strconv"
	"strings"
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
