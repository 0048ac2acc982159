package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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

// testDir holds the files the tests make once (the plugin, the meshpipe binary, models);
// TestMain removes it.
var testDir string

func TestMain(m *testing.M) {
	var err error
	if testDir, err = os.MkdirTemp("", "meshpipe-frei0r-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(testDir)
	os.Exit(code)
}

// goBuild runs go build with args in this package's folder.
func goBuild(args ...string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, append([]string{"build"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// pluginDirForTest builds the plugin once per test binary (go build -buildmode=c-shared, named
// meshpipe.so after the filter), and the meshpipe command beside it, and returns their folder,
// for FREI0R_PATH.
func pluginDirForTest(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir = filepath.Join(testDir, "bin")
		built.err = goBuild("-buildmode=c-shared", "-o", filepath.Join(built.dir, "meshpipe.so"), ".")
		if built.err == nil {
			built.err = goBuild("-o", filepath.Join(built.dir, "meshpipe"), "github.com/meshpipe/meshpipe/cmd/meshpipe")
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

// checkFFmpeg fails the test when ffmpeg has no frei0r filter.
func checkFFmpeg(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-filters").Output(); err != nil || !bytes.Contains(out, []byte(" frei0r ")) {
		t.Fatalf("this ffmpeg has no frei0r filter (ffmpeg -filters: %v)", err)
	}
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
	checkFFmpeg(t)
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

// positional writes parameters as ffmpeg's filter_params takes them: by index, '|'-separated,
// empty for a string left at its default; alpha is always given (ffmpeg reads an empty number
// as 0).
func positional(t *testing.T, set map[string]string) string {
	t.Helper()
	vals := make([]string, len(params))
	last := 0
	for i, p := range params {
		v, ok := set[p.Name]
		if p.Kind == filter.Double && !ok {
			v, ok = strconv.FormatFloat(p.Default.Number, 'g', -1, 64), true
		}
		if ok {
			vals[i], last = v, i
		}
		delete(set, p.Name)
	}
	if len(set) > 0 {
		t.Fatalf("no parameters %v", set)
	}
	return strings.Join(vals[:last+1], "|")
}

// With every parameter at its default but the detector (BlazePose full and the background
// subtractor), the filter keeps the frame count, leaves every pixel away from people as it
// was, and draws over the people: the same background subtractor, run here on the same
// frames, says where they are.
func TestFFmpegVtest(t *testing.T) {
	v := loadVtest(t, 20)
	out, stderr := ffmpeg(t, v, frei0r("|bgsub|1|default"))
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	checkDrawn(t, v, out)
}

// checkDrawn checks out, v's frames through the plugin with its default pose model, with
// drawtest: drawn where the background subtractor finds people, untouched elsewhere.
func checkDrawn(t *testing.T, v *vtest, out []byte) {
	t.Helper()
	found := drawtest.NewBoxes()
	for _, f := range v.frames {
		found.Add(t, f)
	}
	if drawn := drawtest.Check(t, v.pix, out, v.w, v.h, found.PerFrame, drawtest.BodyReach, drawtest.BodyShare); drawn < v.n {
		t.Fatalf("%d people drawn in %d frames: too few for the test to show anything", drawn, v.n)
	}
}

// newFilter makes an in-process filter.Filter for v's frames with the project's ONNX Runtime
// and the parameters set.
func newFilter(t *testing.T, v *vtest, set map[string]string) *filter.Filter {
	t.Helper()
	f, err := filter.New(v.w, v.h, "", func(msg string) { t.Errorf("filter said: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	set["ort-lib"] = testenv.ORTLibrary(t)
	for i, p := range params {
		if val, ok := set[p.Name]; ok {
			f.Set(i, filter.Value{Text: val})
		}
	}
	return f
}

// rgba returns frame k of v as RGBA8888, opaque.
func (v *vtest) rgba(k int) []byte {
	n := v.w * v.h
	src := v.pix[3*n*k : 3*n*(k+1)]
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		copy(b[4*i:], src[3*i:3*i+3])
		b[4*i+3] = 255
	}
	return b
}

// Without parameters the filter runs the default detector, NanoDet-g once scripts/setup.sh has
// converted it: ffmpeg's output is exactly that of a default filter in this process, and the
// three walkers of vtest.avi's first frame are drawn over.
func TestFFmpegDefaultDetector(t *testing.T) {
	testenv.Deps(t, "models/"+models.NanoDetFile)
	v := loadVtest(t, 3)
	out, stderr := ffmpeg(t, v, "frei0r=filter_name=meshpipe")
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	f := newFilter(t, v, map[string]string{})
	n := 3 * v.w * v.h
	for k := range v.frames {
		src := v.rgba(k)
		want := make([]byte, len(src))
		f.Update(src, want)
		for i := 0; i < v.w*v.h; i++ {
			if !bytes.Equal(out[k*n+3*i:k*n+3*i+3], want[4*i:4*i+3]) {
				t.Fatalf("frame %d: ffmpeg's default instance differs from a default filter at pixel %d", k, i)
			}
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
// trackers: ffmpeg's output is exactly that of two filters, one after the other, in this
// process.
func TestFFmpegTwoInstances(t *testing.T) {
	v := loadVtest(t, 20)
	first := map[string]string{"pose-model": "standin", "color": "track"}
	second := map[string]string{"pose-model": "standin", "alpha": "0.5"}
	out, stderr := ffmpeg(t, v, frei0r(positional(t, maps.Clone(first)))+","+frei0r(positional(t, maps.Clone(second))))
	if stderr != "" {
		t.Errorf("ffmpeg said: %s", stderr)
	}
	delete(second, "alpha")
	a, b := newFilter(t, v, first), newFilter(t, v, second)
	b.Set(slices.IndexFunc(params, func(p filter.Param) bool { return p.Name == "alpha" }), filter.Value{Number: 0.5})
	n := 3 * v.w * v.h
	drawnFirst, drawnSecond := 0, 0
	for k := range v.frames {
		src := v.rgba(k)
		mid := make([]byte, len(src))
		a.Update(src, mid)
		want := make([]byte, len(src))
		b.Update(mid, want)
		if !bytes.Equal(mid, src) {
			drawnFirst++
		}
		if !bytes.Equal(want, mid) {
			drawnSecond++
		}
		for i := 0; i < v.w*v.h; i++ {
			if !bytes.Equal(out[k*n+3*i:k*n+3*i+3], want[4*i:4*i+3]) {
				t.Fatalf("frame %d: ffmpeg's two instances differ from two filters in a row at pixel %d", k, i)
			}
		}
	}
	if drawnFirst < v.n/2 || drawnSecond < v.n/2 {
		t.Errorf("people drawn on %d frames by the first instance and %d by the second, of %d", drawnFirst, drawnSecond, v.n)
	}
}

// Instances that cannot work say why, once each, naming the parameter or the file, and pass
// every frame through unchanged.
func TestFFmpegErrorsPassThrough(t *testing.T) {
	v := loadVtest(t, 5)
	missing := filepath.Join(t.TempDir(), "missing.onnx")
	noORT := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	vf := strings.Join([]string{
		frei0r(missing + "|bgsub"),
		frei0r("|bgsub|1|default||" + noORT),
		frei0r("|full"),
		frei0r(positional(t, map[string]string{"max-people": "0"})),
		frei0r(positional(t, map[string]string{"device": "gpu"})),
	}, ",")
	// No EGL vendor: OpenGL is unavailable to the third instance.
	out, stderr := ffmpeg(t, v, vf, "__EGL_VENDOR_LIBRARY_FILENAMES="+filepath.Join(t.TempDir(), "none.json"))
	if !bytes.Equal(out, v.pix) {
		t.Error("frames changed though no instance could start")
	}
	for _, want := range []string{
		"instance 1: cannot start, so frames pass through unchanged: model " + missing,
		"instance 2: cannot start, so frames pass through unchanged: ONNX Runtime library not found; tried:",
		"instance 3: cannot start, so frames pass through unchanged: render worker 0: no usable EGL",
		"instance 4: max-people 0: need at least 1; frames pass through unchanged until it is changed",
		`instance 5: device: device "gpu": want auto, cpu, cuda or cuda:N`,
	} {
		if n := linesWith(stderr, want); n != 1 {
			t.Errorf("%q said %d times, want once; stderr:\n%s", want, n, stderr)
		}
	}
	if n := strings.Count(stderr, "meshpipe frei0r: "); n != 5 {
		t.Errorf("%d messages on stderr, want one per instance:\n%s", n, stderr)
	}
}

// The README's command: a video file in, an encoded video out, one frame out per frame in.
func TestFFmpegREADMECommand(t *testing.T) {
	dir := pluginDirForTest(t)
	checkFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", testenv.Sample(t, "vtest.avi"),
		"-frames:v", "10", "-vf", frei0r("|bgsub|1|track"), "-c:v", "libx264", "-preset", "ultrafast", out)
	cmd.Env = append(os.Environ(), "FREI0R_PATH="+dir, "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t))
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "10" {
		t.Errorf("%s has %s frames, want 10", out, got)
	}
}
