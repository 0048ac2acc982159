package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

// pipe runs the meshpipe command built beside the plugin on v's frames (raw rgb24 on stdin),
// with args, and returns its output frames.
func pipe(t *testing.T, v *vtest, args ...string) []byte {
	t.Helper()
	dir := pluginDirForTest(t)
	cmd := exec.Command(filepath.Join(dir, "meshpipe"), append([]string{"-s", fmt.Sprintf("%dx%d", v.w, v.h), "-nostats", "-loglevel", "error"}, args...)...)
	cmd.Env = append(os.Environ(), "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t))
	cmd.Stdin = bytes.NewReader(v.pix)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("meshpipe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if stdout.Len() != len(v.pix) {
		t.Fatalf("meshpipe %s: %d bytes out, want %d", strings.Join(args, " "), stdout.Len(), len(v.pix))
	}
	return stdout.Bytes()
}

// difference compares two runs of rgb24 frames of the same size: how many pixels differ, and
// the largest difference of one channel.
func difference(a, b []byte) (pixels int, largest int) {
	for i := 0; i+3 <= len(a); i += 3 {
		differ := false
		for c := i; c < i+3; c++ {
			if d := int(a[c]) - int(b[c]); d != 0 {
				differ = true
				largest = max(largest, d, -d)
			}
		}
		if differ {
			pixels++
		}
	}
	return pixels, largest
}

// maxEdgeDifference bounds how much a pixel may change when a mesh's edge moves by a rounding
// error: with 4 samples a pixel (gl.DefaultSamples), the edge crosses at most one sample of a
// pixel, which changes the pixel by at most a quarter of the contrast between mesh and frame
// (255/4), plus a little shading.
const maxEdgeDifference = 80

// The table: the plugin and the pipe, given the same options, give the same frames on
// the first frames of vtest.avi. With -batch 1 the pipe poses each frame's people as one run of
// the model, as the plugin does, and the frames are byte for byte the same. With the pipe's
// default batch, crops of consecutive frames share a run, and ONNX Runtime's batched kernels
// round differently: the poses move by rounding errors, so a few pixels at the meshes' edges
// differ, bounded here as a share of the pixels drawn and a largest difference; the stand-in
// and detector none, whose output does not depend on the batch, stay identical.
//
// To keep the test's time modest, the rows that run a real pose model take fewer frames: 20 for
// the defaults (BlazePose full; NanoDet-g finds the walkers from the first frame), 16 for YOLOX's boxes (which BlazePose poses, from the first frame) and 20 for
// HMR2 with the SMPL body. Three runs of BlazePose on 60 frames take about 25 s on 2 idle cores,
// and several minutes when other work shares them.
func TestPluginMatchesPipe(t *testing.T) {
	all := loadVtest(t, 60)
	model, _ := testenv.TinyHMR2(t, testDir)
	body := testenv.RandomBody(t, testDir)
	yolox := testenv.Shared(t, "models/yolox_nano.onnx")
	for _, c := range []struct {
		name   string
		frames int
		args   []string          // the pipe's flags
		params map[string]string // the same, as the plugin's parameters
		// batchIdentical: the default batch gives the same frames too.
		batchIdentical bool
	}{
		{"defaults (NanoDet-g, BlazePose full)", 20, nil, map[string]string{}, false},
		{"standin", 60, []string{"-pose-model", "standin"}, map[string]string{"pose-model": "standin"}, true},
		{"hmr2 and an SMPL body", 20, []string{"-pose-model", "hmr2", "-model", model, "-body", body},
			map[string]string{"pose-model": "hmr2", "model": model, "body": body}, false},
		{"detector none", 60, []string{"-detector", "none"}, map[string]string{"detector": "none"}, true},
		{"YOLOX detector", 16, []string{"-detector", yolox, "-color", "track"}, map[string]string{"detector": yolox, "color": "track"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := all.first(t, c.frames)
			t0 := time.Now()
			plugin, stderr := ffmpeg(t, v, frei0r(positional(t, maps.Clone(c.params))))
			if stderr != "" {
				t.Errorf("ffmpeg said: %s", stderr)
			}
			tPlugin := time.Since(t0)
			one := pipe(t, v, append([]string{"-batch", "1"}, c.args...)...)
			tPipe := time.Since(t0) - tPlugin
			batched := pipe(t, v, c.args...)
			drawn, _ := difference(plugin, v.pix)
			t.Logf("%d frames, %d pixels drawn on; plugin %.1f s, pipe -batch 1 %.1f s", v.n, drawn, tPlugin.Seconds(), tPipe.Seconds())
			if (drawn == 0) != (c.params["detector"] == "none") {
				t.Fatalf("%d pixels drawn on", drawn)
			}
			if px, d := difference(plugin, one); px != 0 {
				t.Errorf("-batch 1: %d pixels differ from the plugin's (largest difference %d)", px, d)
			}
			px, largest := difference(plugin, batched)
			share := float64(px) / float64(max(drawn, 1))
			t.Logf("default batch: %d pixels differ from the plugin's (%.3f%% of those drawn), largest difference %d", px, 100*share, largest)
			switch {
			case c.batchIdentical && px != 0:
				t.Errorf("default batch: %d pixels differ, want none", px)
			case share > 0.01:
				t.Errorf("default batch: %.2f%% of the pixels drawn differ, want at most 1%%", 100*share)
			case largest > maxEdgeDifference:
				t.Errorf("default batch: a pixel differs by %d, want at most %d", largest, maxEdgeDifference)
			}
		})
	}
}

// first returns v's first n frames as a vtest of their own.
func (v *vtest) first(t *testing.T, n int) *vtest {
	t.Helper()
	if n >= v.n {
		return v
	}
	size := 3 * v.w * v.h
	u := &vtest{w: v.w, h: v.h, n: n, pix: v.pix[:n*size], frames: v.frames[:n]}
	u.path = filepath.Join(t.TempDir(), "vtest.rgb")
	if err := os.WriteFile(u.path, u.pix, 0o644); err != nil {
		t.Fatal(err)
	}
	return u
}
