//go:build cgo

package ort

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/meshpipe/meshpipe/models"
	onnx "github.com/yalue/onnxruntime_go"
)

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
