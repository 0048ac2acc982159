package gl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Software rasterisers get one render worker, GPUs (and names it does not know) four.
func TestDefaultWorkers(t *testing.T) {
	for _, c := range []struct {
		name string
		want int
	}{
		{"llvmpipe (LLVM 15.0.6, 256 bits) (EGL device platform, device 0 (software), EGL 1.5)", 1},
		{"llvmpipe (LLVM 15.0.6, 256 bits) (surfaceless platform, EGL 1.5)", 1},
		{"softpipe (default display, EGL 1.4)", 1},
		{"Software Rasterizer", 1},
		{"zink (llvmpipe (LLVM 15.0.6, 256 bits))", 1},
		{"NVIDIA GeForce RTX 3090/PCIe/SSE2 (EGL device platform, device 0, EGL 1.5)", 4},
		{"AMD Radeon RX 6800 (radeonsi, navi21, LLVM 15.0.6, DRM 3.49, 6.1.0) (EGL device platform, device 1, EGL 1.5)", 4},
		{"Mesa Intel(R) UHD Graphics 620 (KBL GT2)", 4},
		{"", 4},
	} {
		if got := DefaultWorkers(c.name); got != c.want {
			t.Errorf("DefaultWorkers(%q) = %d, want %d", c.name, got, c.want)
		}
	}
}

// The renderer this machine makes is named so that DefaultWorkers can tell it: on a machine
// without a GPU device (no /dev/nvidiactl, no /dev/dri/renderD*), Mesa draws on the CPU, and
// its name must say so.
func TestDefaultWorkersOfThisRenderer(t *testing.T) {
	r, err := NewRenderer([]uint32{0, 1, 2}, 3)
	if errors.Is(err, errNoEGL) {
		t.Skipf("no EGL on this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Logf("%s: %d render workers", r.Name(), DefaultWorkers(r.Name()))
	gpus, _ := filepath.Glob("/dev/dri/renderD*")
	if _, err := os.Stat("/dev/nvidiactl"); err == nil || len(gpus) > 0 {
		t.Skip("this machine has a GPU device; which renderer EGL picks is the driver's choice")
	}
	if n := DefaultWorkers(r.Name()); n != 1 {
		t.Errorf("%s, on a machine without a GPU: %d render workers, want 1 (a software rasteriser)", r.Name(), n)
	}
}
