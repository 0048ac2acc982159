package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

// These tests run the plugin in the other hosts that load frei0r filters, as a user would:
// MLT's melt (Kdenlive's and Shotcut's engine) and GStreamer's frei0r wrapper through
// gst-launch-1.0. Both find the plugin through FREI0R_PATH. Each runs the first vtest.avi
// frames through the plugin with every parameter at its default but the detector's name, so
// that BlazePose poses the people, and checks with drawtest that meshes are drawn where the
// people are and nowhere else. The frames go in and out as lossless RGB, so that every pixel
// away from the people must come out as it went in.

// hostFrames is the number of frames each host runs: enough for the background subtractor to
// find the walkers (it finds nobody in the first frames).
const hostFrames = 16

// lookHost returns the path of a host program that scripts/setup.sh installs; it fails the test
// when it is missing.
func lookHost(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (scripts/setup.sh installs Debian's %s): %v", name, pkg, err)
	}
	return path
}

// hostEnv is the environment a host runs the plugin in: FREI0R_PATH naming the plugin's
// folder, the project's ONNX Runtime, and extra.
func hostEnv(t *testing.T, extra ...string) []string {
	return append(append(os.Environ(), "FREI0R_PATH="+pluginDirForTest(t), "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t)), extra...)
}

// runHost runs cmd, failing the test on an error or on anything the plugin said.
func runHost(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	if err != nil || strings.Contains(stderr.String(), "meshpipe frei0r:") {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
}

// readOutput reads a host's rgb24 output file: at least v's frames, of which the first v.n
// are returned.
func readOutput(t *testing.T, v *vtest, path string) []byte {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < len(v.pix) {
		t.Fatalf("%s: %d bytes, %.2f frames; want %d frames", path, len(out), float64(len(out))/float64(3*v.w*v.h), v.n)
	}
	return out[:len(v.pix)]
}

// melt renders a clip of v's frames (rgb24 in NUT, decoded losslessly) through the filter
// frei0r.meshpipe, with a profile of the clip's size and rate (square pixels, progressive), into
// raw rgb24. MLT finds frei0r plugins through FREI0R_PATH and sets their parameters by name.
func TestMelt(t *testing.T) {
	melt := lookHost(t, "melt", "melt")
	v := loadVtest(t, hostFrames+1)
	dir := t.TempDir()
	clip := filepath.Join(dir, "vtest.nut")
	enc := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", v.w, v.h),
		"-r", "10", "-i", v.path, "-c:v", "rawvideo", "-pix_fmt", "rgb24", clip)
	if b, err := enc.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	profile := filepath.Join(dir, "vtest.profile")
	if err := os.WriteFile(profile, []byte(fmt.Sprintf("description=vtest\nframe_rate_num=10\nframe_rate_den=1\nwidth=%d\nheight=%d\n"+
		"progressive=1\nsample_aspect_num=1\nsample_aspect_den=1\ndisplay_aspect_num=%d\ndisplay_aspect_den=%d\ncolorspace=601\n",
		v.w, v.h, v.w, v.h)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.rgb")
	// out= is the last frame's index; real_time=-1 renders every frame, in order, on one thread.
	cmd := exec.Command(melt, "-quiet", "-profile", profile, clip, fmt.Sprintf("out=%d", hostFrames-1),
		"-filter", "frei0r.meshpipe", "detector=bgsub",
		"-consumer", "avformat:"+out, "f=rawvideo", "vcodec=rawvideo", "pix_fmt=rgb24", "real_time=-1")
	cmd.Env = hostEnv(t)
	runHost(t, cmd)
	v = v.first(t, hostFrames)
	checkDrawn(t, v, readOutput(t, v, out))
}

// gst-launch-1.0 runs v's raw frames through the element frei0r-filter-meshpipe, which
// GStreamer's frei0r wrapper (gstreamer1.0-plugins-bad) makes of the plugin found through
// FREI0R_PATH; videoconvert turns rgb24 into the plugin's RGBA and back, losslessly.
func TestGStreamer(t *testing.T) {
	gst := lookHost(t, "gst-launch-1.0", "gstreamer1.0-tools")
	v := loadVtest(t, hostFrames)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rgb")
	pipeline := fmt.Sprintf("filesrc location=%s ! rawvideoparse width=%d height=%d format=rgb framerate=10/1 ! videoconvert ! "+
		"video/x-raw,format=RGBA ! frei0r-filter-meshpipe detector=bgsub ! videoconvert ! video/x-raw,format=RGB ! filesink location=%s",
		v.path, v.w, v.h, out)
	cmd := exec.Command(gst, append([]string{"-q"}, strings.Fields(pipeline)...)...)
	// A registry of this test's own, so that the element is made from this build of the plugin.
	cmd.Env = hostEnv(t, "GST_REGISTRY="+filepath.Join(dir, "registry.bin"))
	runHost(t, cmd)
	checkDrawn(t, v, readOutput(t, v, out))
}
