package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/filter"
	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// These tests build the plugin as ffmpeg loads it (go build -buildmode=c-shared, named
// meshpipe.so after the filter) and run Debian's ffmpeg with -vf frei0r on vtest.avi.

var built struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// pluginDirForTest builds the plugin once per test binary and returns its folder, for
// FREI0R_PATH.
func pluginDirForTest(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "meshpipe-frei0r-")
		if built.err != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", filepath.Join(built.dir, "meshpipe.so"), ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build -buildmode=c-shared: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-filters").Output(); err != nil || !bytes.Contains(out, []byte(" frei0r ")) {
		t.Fatalf("this ffmpeg has no frei0r filter (ffmpeg -filters: %v)", err)
	}
	return built.dir
}

// vtest holds the first frames of vtest.avi as rgb24, one after another.
type vtest struct {
	w, h   int
	n      int
	pix    []byte
	path   string // the same bytes in a file, ffmpeg's input
	frames []*rawvideo.Frame
}

func loadVtest(t *testing.T, n int) *vtest {
	t.Helper()
	v := &vtest{n: n}
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), n, func(f *rawvideo.Frame) {
		v.w, v.h = f.Width, f.Height
		v.pix = append(v.pix, f.Pix...)
		c := &rawvideo.Frame{}
		c.CopyFrom(f)
		v.frames = append(v.frames, c)
	})
	v.path = filepath.Join(t.TempDir(), "vtest.rgb")
	if err := os.WriteFile(v.path, v.pix, 0o644); err != nil {
		t.Fatal(err)
	}
	return v
}

// ffmpeg runs Debian's ffmpeg with the plugin on FREI0R_PATH: the raw rgb24 frames of v
// through the filter graph vf, out as raw rgb24 (rgb24 to RGBA and back is lossless). env adds
// to the environment. It returns the output bytes and ffmpeg's stderr.
func ffmpeg(t *testing.T, v *vtest, vf string, env ...string) ([]byte, string) {
	t.Helper()
	dir := pluginDirForTest(t)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", v.w, v.h), "-r", "10", "-i", v.path,
		"-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	cmd.Env = append(os.Environ(), "FREI0R_PATH="+dir, "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg -vf %s: %v\n%s", vf, err, stderr.String())
	}
	if len(stdout.Bytes()) != len(v.pix) {
		t.Fatalf("ffmpeg -vf %s: %d bytes out (%.2f frames), want %d frames\n%s", vf, stdout.Len(),
			float64(stdout.Len())/float64(3*v.w*v.h), v.n, stderr.String())
	}
	return stdout.Bytes(), stderr.String()
}

func frei0r(params string) string {
	return "frei0r=filter_name=meshpipe:filter_params=" + params
}

// The filter keeps the frame count, leaves every pixel away from people as it was, and draws
// over the people: the same background subtractor, run here on the same frames, says where
// they are.
func TestFFmpegVtest(t *testing.T) {
	v := loadVtest(t, 40)
	out, stderr := ffmpeg(t, v, frei0r("|bgsub|1|default"))
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	found := drawtest.NewBoxes()
	for _, f := range v.frames {
		found.Add(t, f)
	}
	if drawn := drawtest.Check(t, v.pix, out, v.w, v.h, found.PerFrame, drawtest.CropReach, 10); drawn < v.n {
		t.Fatalf("%d people drawn in %d frames: too few for the test to show anything", drawn, v.n)
	}
}

// Without parameters the filter runs the default detector, NanoDet-g once scripts/setup.sh has
// converted it: ffmpeg's output is exactly that of a default core in this process, and the
// three walkers of vtest.avi's first frame are drawn over.
func TestFFmpegDefaultDetector(t *testing.T) {
	testenv.Deps(t, "models/"+models.NanoDetFile)
	v := loadVtest(t, 3)
	out, stderr := ffmpeg(t, v, "frei0r=filter_name=meshpipe")
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	o := filter.DefaultOptions()
	o.ORTLib = testenv.ORTLibrary(t)
	c, err := filter.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(c.String(), "detector nanodet (") {
		t.Errorf("the default core runs %q; want NanoDet", c)
	}
	n := 3 * v.w * v.h
	for k, f := range v.frames {
		want := &rawvideo.Frame{}
		want.CopyFrom(f)
		if _, err := c.Apply(want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out[k*n:(k+1)*n], want.Pix) {
			t.Fatalf("frame %d: ffmpeg's default instance differs from a default core", k)
		}
	}
	// Frame 0: pixels drawn around each walker's head (by eye), within 20 px.
	for _, head := range [][2]int{{268, 228}, {515, 163}, {658, 248}} {
		changed := 0
		for y := head[1] - 20; y < head[1]+20; y++ {
			for x := head[0] - 20; x < head[0]+20; x++ {
				i := 3 * (y*v.w + x)
				if !bytes.Equal(out[i:i+3], v.pix[i:i+3]) {
					changed++
				}
			}
		}
		if changed < 40 {
			t.Errorf("frame 0: %d pixels drawn around the walker whose head is at %v; want a body", changed, head)
		}
	}
}

// Two filter instances in one graph keep their own parameters, sessions, background models and
// trackers: ffmpeg's output is exactly that of two cores, one after the other, in this process.
func TestFFmpegTwoInstances(t *testing.T) {
	v := loadVtest(t, 20)
	out, stderr := ffmpeg(t, v, frei0r("|bgsub|1|track")+","+frei0r("|bgsub|0.5|default"))
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	var cores []*filter.Core
	for _, mod := range []func(*filter.Options){
		func(o *filter.Options) { o.Color = filter.ColorTrack },
		func(o *filter.Options) { o.Alpha = 0.5 },
	} {
		o := filter.DefaultOptions()
		o.ORTLib = testenv.ORTLibrary(t)
		o.Detector = "bgsub" // as the ffmpeg instances' parameters say
		mod(&o)
		c, err := filter.Build(o)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cores = append(cores, c)
	}
	n := 3 * v.w * v.h
	firstOnly, both := 0, 0
	for k, f := range v.frames {
		want := &rawvideo.Frame{}
		want.CopyFrom(f)
		var people [2]int
		for i, c := range cores {
			var err error
			if people[i], err = c.Apply(want); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[k*n:(k+1)*n], want.Pix) {
			t.Fatalf("frame %d: ffmpeg's two instances differ from two cores in a row (%d and %d people here)", k, people[0], people[1])
		}
		if people[0] > 0 {
			firstOnly++
		}
		if people[1] > 0 {
			both++
		}
	}
	if firstOnly < v.n/2 || both < v.n/2 {
		t.Errorf("people drawn on %d frames by the first instance and %d by the second, of %d", firstOnly, both, v.n)
	}
}

// Instances that cannot work say why, once each, and pass every frame through unchanged.
func TestFFmpegErrorsPassThrough(t *testing.T) {
	v := loadVtest(t, 5)
	missing := filepath.Join(t.TempDir(), "missing.onnx")
	noORT := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	vf := strings.Join([]string{
		frei0r(missing + "|bgsub"),
		frei0r("|bgsub|1|default||" + noORT),
		frei0r("|full"),
	}, ",")
	// No EGL vendor: OpenGL is unavailable to the third instance.
	out, stderr := ffmpeg(t, v, vf, "__EGL_VENDOR_LIBRARY_FILENAMES="+filepath.Join(t.TempDir(), "none.json"))
	if !bytes.Equal(out, v.pix) {
		t.Error("frames changed though no instance could start")
	}
	for _, want := range []string{
		"instance 1: cannot start, so frames pass through unchanged: model " + missing,
		"instance 2: cannot start, so frames pass through unchanged: ONNX Runtime library not found; tried:",
		"instance 3: cannot start, so frames pass through unchanged: renderer: no usable EGL",
	} {
		if n := linesWith(stderr, want); n != 1 {
			t.Errorf("%q said %d times, want once; stderr:\n%s", want, n, stderr)
		}
	}
}

// The README's command: a video file in, an encoded video out, one frame out per frame in.
func TestFFmpegREADMECommand(t *testing.T) {
	dir := pluginDirForTest(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", testenv.Sample(t, "vtest.avi"),
		"-frames:v", "20", "-vf", frei0r("|bgsub|1|track"), "-c:v", "libx264", "-preset", "ultrafast", out)
	cmd.Env = append(os.Environ(), "FREI0R_PATH="+dir, "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t))
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "20" {
		t.Errorf("%s has %s frames, want 20", out, got)
	}
}
