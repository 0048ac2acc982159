package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/statsfile"
)

// readFigures reads a -stats_file document.
func readFigures(t *testing.T, path string) *statsfile.Figures {
	t.Helper()
	f, err := statsfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// noEGL makes EGL find no driver (glvnd reads its vendor list from this variable), so that
// any attempt to make a GL context fails.
const noEGL = "__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent/egl_vendor.json"

// -no-render makes no GL context: with EGL unusable, meshpipe fails without the flag and runs
// with it, passing every frame through unchanged although a person is found in each.
func TestNoRenderMakesNoGLContext(t *testing.T) {
	const w, h, n = 64, 48, 6
	var in []byte
	for k := 0; k < n; k++ {
		in = append(in, frame64x48(k)...)
	}
	cmd := meshpipeCmd(t, "-s", "64x48", "-detector", "full")
	cmd.Env = append(cmd.Env, noEGL)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "render worker 0") {
		t.Fatalf("without -no-render and without EGL: want a render worker error, got %v:\n%s", err, out)
	}

	stats := filepath.Join(t.TempDir(), "stats.json")
	cmd = meshpipeCmd(t, "-s", "64x48", "-detector", "full", "-no-render", "-stats_file", stats)
	cmd.Env = append(cmd.Env, noEGL)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("-no-render without EGL: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("-no-render changed the frames (%d bytes out, %d in)", len(got), len(in))
	}
	f := readFigures(t, stats)
	if f.Frames != n || f.People != n || f.Renderer != "none (-no-render)" || f.Width != w || f.Height != h {
		t.Errorf("stats: frames %d people %d renderer %q size %dx%d; want %d, %d, none (-no-render), %dx%d",
			f.Frames, f.People, f.Renderer, f.Width, f.Height, n, n, w, h)
	}
}

// -detector none: nobody is found, so nothing is posed or drawn and frames pass through
// untouched; -stats_file says so, stage by stage.
func TestDetectorNoneAndStatsFile(t *testing.T) {
	const n = 5
	var in []byte
	for k := 0; k < n; k++ {
		in = append(in, frame64x48(k)...)
	}
	stats := filepath.Join(t.TempDir(), "stats.json")
	code, out, stderr := run(t, in, "-s", "64x48", "-detector", "none", "-render-workers", "1",
		"-pose-workers", "1", "-batch", "2", "-stats_file", stats)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !bytes.Equal(out, in) {
		t.Fatal("-detector none changed the frames")
	}
	f := readFigures(t, stats)
	if f.Frames != n || f.People != 0 || f.Detector != "none" || f.Device != "cpu" || f.ONNXRuntime == "" {
		t.Errorf("stats: frames %d people %d detector %q device %q onnxruntime %q", f.Frames, f.People, f.Detector, f.Device, f.ONNXRuntime)
	}
	// -in-flight 0 resolves to pose workers x batch + render workers + 4.
	if f.PoseWorkers != 1 || f.RenderWorkers != 1 || f.Batch != 2 || f.InFlight != 1*2+1+4 {
		t.Errorf("stats: pose workers %d render workers %d batch %d in flight %d; want 1, 1, 2, 7",
			f.PoseWorkers, f.RenderWorkers, f.Batch, f.InFlight)
	}
	if f.FPS <= 0 || f.Seconds <= 0 || f.CPUSeconds < 0 {
		t.Errorf("stats: fps %v over %v s, %v s of CPU", f.FPS, f.Seconds, f.CPUSeconds)
	}
	want := map[string]int64{"read": n, "detect": n, "pose": 0, "render": 0, "write": n, "total": n}
	var names []string
	for _, s := range f.Stages {
		names = append(names, s.Stage)
		if s.Frames != want[s.Stage] {
			t.Errorf("stage %s: %d frames, want %d", s.Stage, s.Frames, want[s.Stage])
		}
		if s.Busy < 0 || s.Busy > 1.5 || s.P95ms < s.P50ms {
			t.Errorf("stage %s: busy %v, p50 %v ms, p95 %v ms", s.Stage, s.Busy, s.P50ms, s.P95ms)
		}
	}
	if strings.Join(names, " ") != "read detect pose render write total" {
		t.Errorf("stages %v", names)
	}
	if f.Live != nil {
		t.Errorf("live figures for a stream: %+v", *f.Live)
	}
}

// A -stats_file that cannot be written fails the run, after every frame was written.
func TestStatsFileUnwritable(t *testing.T) {
	in := frame64x48(0)
	code, out, stderr := run(t, in, "-s", "64x48", "-detector", "none", "-stats_file", filepath.Join(t.TempDir(), "no", "dir", "s.json"))
	if code != exitError || !strings.Contains(stderr, "-stats_file") || !bytes.Equal(out, in) {
		t.Fatalf("exit %d, %d bytes out; stderr:\n%s", code, len(out), stderr)
	}
}
