package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGPUDevices(t *testing.T) {
	for _, c := range []struct {
		in   gpuInputs
		want string
	}{
		{gpuInputs{DevNames: []string{"null", "nvidiactl", "nvidia0", "nvidia1", "nvidia-uvm"}}, "[cuda:0 cuda:1]"},
		{gpuInputs{DevNames: []string{"nvidiactl", "dri"}}, "[]"},
		{gpuInputs{HasCudaVisible: true, CudaVisible: "2,3,5", DevNames: []string{"nvidia0"}}, "[cuda:0 cuda:1 cuda:2]"},
		{gpuInputs{HasCudaVisible: true, CudaVisible: "", DevNames: []string{"nvidia0"}}, "[]"},
		{gpuInputs{HasCudaVisible: true, CudaVisible: "-1", DevNames: []string{"nvidia0"}}, "[]"},
		{gpuInputs{HasCudaVisible: true, CudaVisible: "GPU-8a1b,GPU-77c2"}, "[cuda:0 cuda:1]"},
	} {
		if got := fmt.Sprint(gpuDevices(c.in)); got != c.want {
			t.Errorf("gpuDevices(%+v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseWorker(t *testing.T) {
	two := []string{"cuda:0", "cuda:1"}
	for _, c := range []struct {
		args        []string
		gpus        []string
		concurrency int
		devices     string
		code        int
	}{
		{nil, nil, 1, "[]", 0},
		{nil, two, 2, "[cuda:0 cuda:1]", 0},
		{[]string{"-concurrency", "1"}, two, 1, "[cuda:0 cuda:1]", 0},
		{[]string{"-concurrency", "3"}, two, 0, "", 2},
		{[]string{"-devices", "none", "-concurrency", "3"}, two, 3, "[]", 0},
		{[]string{"-devices", "cuda:3"}, nil, 1, "[cuda:3]", 0},
		{[]string{"-concurrency", "-1"}, nil, 0, "", 2},
		{[]string{"extra"}, nil, 0, "", 2},
	} {
		var stderr bytes.Buffer
		cfg, code := parseWorker(c.args, c.gpus, &stderr)
		if code != c.code || (code == 0 && (cfg.concurrency != c.concurrency || fmt.Sprint(cfg.devices) != c.devices)) {
			t.Errorf("parseWorker(%q, %v) = concurrency %d devices %v, exit %d (%s); want %d %s, exit %d",
				c.args, c.gpus, cfg.concurrency, cfg.devices, code, stderr.String(), c.concurrency, c.devices, c.code)
		}
	}
}

// TestWorkerChecksDevices: a GPU that meshpipe cannot start on is an error when named with
// -devices, and when only found, the worker goes on without it, saying why.
func TestWorkerChecksDevices(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "meshpipe")
	os.WriteFile(fake, []byte("#!/bin/sh\necho 'meshpipe: -device cuda:0: cannot start CUDA on GPU 0' >&2\nexit 1\n"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var out, errs bytes.Buffer
	code := run(ctx, []string{"worker", "-devices", "cuda:0", "-meshpipe", fake, "-address", "127.0.0.1:1"}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "cannot start CUDA on GPU 0") {
		t.Errorf("-devices cuda:0 with a meshpipe that cannot use it: exit %d, %q", code, errs.String())
	}

	t.Setenv("CUDA_VISIBLE_DEVICES", "0")
	errs.Reset()
	code = run(ctx, []string{"worker", "-meshpipe", fake, "-address", "127.0.0.1:1"}, &out, &errs)
	if !strings.Contains(errs.String(), "GPUs found, but meshpipe cannot use them") || !strings.Contains(errs.String(), "connecting to the Temporal service at 127.0.0.1:1") {
		t.Errorf("a GPU found that meshpipe cannot use: exit %d, %q; want a warning, then the worker going on (to fail dialling)", code, errs.String())
	}
}
