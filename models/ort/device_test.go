package ort_test

import (
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/models/ort"
)

func TestParseDevice(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ort.Device
	}{
		{"auto", ort.Device{Kind: ort.Auto}},
		{"cpu", ort.Device{Kind: ort.CPU}},
		{"cuda", ort.Device{Kind: ort.CUDA}},
		{"cuda:0", ort.Device{Kind: ort.CUDA}},
		{"cuda:3", ort.Device{Kind: ort.CUDA, ID: 3}},
	} {
		got, err := ort.ParseDevice(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDevice(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if c.in != "cuda" && got.String() != c.in {
			t.Errorf("Device %v prints as %q, want %q", got, got.String(), c.in)
		}
	}
	for _, bad := range []string{"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda0", "cpu:0"} {
		if _, err := ort.ParseDevice(bad); err == nil || !strings.Contains(err.Error(), "want auto, cpu, cuda or cuda:N") {
			t.Errorf("ParseDevice(%q): err = %v", bad, err)
		}
	}
}

// On a machine without CUDA (this one: the ONNX Runtime from onnxruntime-node has no CUDA
// provider libraries), auto falls back to the CPU with a reason and cuda fails clearly; where
// CUDA works, both give the GPU.
func TestResolveDevice(t *testing.T) {
	initORT(t)
	auto, why, err := ort.Resolve(ort.Device{Kind: ort.Auto})
	if err != nil {
		t.Fatal(err)
	}
	cuda, cudaErr := func() (ort.Device, error) { d, _, err := ort.Resolve(ort.Device{Kind: ort.CUDA, ID: 0}); return d, err }()
	if auto.Kind == ort.CUDA {
		t.Logf("CUDA works here: auto gives %v", auto)
		if why != "" || cudaErr != nil || cuda != auto {
			t.Errorf("auto gave %v (%q) but cuda:0 gave %v, %v", auto, why, cuda, cudaErr)
		}
		return
	}
	t.Logf("auto: %v, because %s", auto, why)
	if auto.Kind != ort.CPU || !strings.HasPrefix(why, "CUDA is not available (") || strings.Contains(why, "\n") {
		t.Errorf("auto gave %v with reason %q; want the CPU and a one-line reason", auto, why)
	}
	if cudaErr == nil || !strings.Contains(cudaErr.Error(), "-device cuda:0: cannot start CUDA on GPU 0") ||
		!strings.Contains(cudaErr.Error(), "libonnxruntime_providers_cuda.so") {
		t.Errorf("cuda:0 without CUDA: err = %v", cudaErr)
	}
	if cpu, why, err := ort.Resolve(ort.Device{Kind: ort.CPU}); cpu.Kind != ort.CPU || why != "" || err != nil {
		t.Errorf("cpu resolved to %v, %q, %v", cpu, why, err)
	}
}

// The error for a library that is nowhere lists every path tried, in order, and the ways to
// name one.
func TestLocateListsPathsTried(t *testing.T) {
	none := func(string) bool { return false }
	for _, c := range []struct {
		in   ort.LibraryInputs
		want []string
	}{
		{ort.LibraryInputs{Flag: "/opt/x/libonnxruntime.so.1", Env: "/e.so", WorkDir: "/w"}, []string{"/opt/x/libonnxruntime.so.1"}},
		{ort.LibraryInputs{Env: "/env/libonnxruntime.so.1", WorkDir: "/w"}, []string{"/env/libonnxruntime.so.1"}},
		{ort.LibraryInputs{ExeDir: "/a/bin", WorkDir: "/w/x"}, []string{
			"/a/bin/" + ort.ProjectLibrary, "/a/" + ort.ProjectLibrary, "/" + ort.ProjectLibrary,
			"/w/x/" + ort.ProjectLibrary, "/w/" + ort.ProjectLibrary}},
	} {
		c.in.Exists = none
		path, err := ort.Locate(c.in)
		if path != "" || err == nil {
			t.Fatalf("Locate(%+v) = %q, %v; want an error", c.in, path, err)
		}
		msg := err.Error()
		at := 0
		for _, p := range c.want {
			i := strings.Index(msg[at:], "\n  "+p+"\n")
			if i < 0 {
				t.Errorf("error does not list %s (in order):\n%s", p, msg)
				break
			}
			at += i + 1
		}
		if n := strings.Count(msg, "\n  "); n != len(c.want) {
			t.Errorf("error lists %d paths, want %d:\n%s", n, len(c.want), msg)
		}
		for _, hint := range []string{"scripts/setup.sh", "-ort-lib", ort.LibraryEnv} {
			if !strings.Contains(msg, hint) {
				t.Errorf("error does not mention %s:\n%s", hint, msg)
			}
		}
	}
}
