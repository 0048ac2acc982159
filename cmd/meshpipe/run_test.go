package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// notEmpty is a stdin of a few bytes that are not y4m: enough for meshpipe to open it as
// rawvideo (an empty stdin would fail as such at once), not a whole frame; for tests of what
// fails before the first frame.
var notEmpty = []byte{1, 2, 3}

func run(t *testing.T, stdin []byte, args ...string) (code int, stdout []byte, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return code, out.Bytes(), errb.String()
}

// The default detector, NanoDet-g once scripts/setup.sh has converted it, on vtest.avi's
// walkers, end to end: meshpipe says it runs it, every person it finds is drawn over (the
// same model, run here on the same frames, says where), nothing is drawn away from them, and
// the first frame already has the three walkers in it drawn.
func TestRunVtest(t *testing.T) {
	model := testenv.Deps(t, "models/"+models.NanoDetFile)
	if err := ort.Init(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.Open(model, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	det, _, err := models.DetectorForModel(model, sess, sess.Input(), sess.Outputs())
	if err != nil {
		t.Fatal(err)
	}
	path := testenv.Sample(t, "vtest.avi")
	w, h := testenv.VideoSize(t, path)
	var in bytes.Buffer
	boxes := drawtest.NewBoxesOf(det)
	testenv.VideoFrames(t, path, 20, func(f *rawvideo.Frame) {
		in.Write(f.Pix)
		boxes.Add(t, f)
	})
	// The stand-in draws each body inside its crop window, which drawtest.Check relies on.
	code, out, stderr := run(t, in.Bytes(), "-s", "768x576", "-pose-model", "standin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `detector="nanodet (`+model+`)"`) {
		t.Errorf("the log does not say NanoDet runs from %s:\n%s", model, stderr)
	}
	// A box under 30 px high (NanoDet takes a traffic cone of 17x19 px for a person) puts the
	// stand-in's body beyond the renderer's far plane (1000 m; the camera's depth is 2f/(b*s)
	// for a crop of b px): it is not drawn, so it is not checked.
	for k, bs := range boxes.PerFrame {
		boxes.PerFrame[k] = slices.DeleteFunc(bs, func(b human.Box) bool { return b.Height() < 30 })
	}
	drawtest.Check(t, in.Bytes(), out, w, h, boxes.PerFrame, drawtest.CropReach, 10)
	// Frame 0: a box around each walker's head (by eye: (268, 228), (515, 163), (658, 248)).
	for _, head := range [][2]float32{{268, 228}, {515, 163}, {658, 248}} {
		if !slices.ContainsFunc(boxes.PerFrame[0], func(b human.Box) bool {
			return head[0] >= b.X1 && head[0] <= b.X2 && head[1] >= b.Y1 && head[1] <= b.Y2
		}) {
			t.Errorf("frame 0: no person drawn at the walker whose head is at %v (boxes %v)", head, boxes.PerFrame[0])
		}
	}
}

// Background subtraction (-detector bgsub) on vtest.avi's walkers, end to end.
func TestRunVtestBackgroundSubtraction(t *testing.T) {
	path := testenv.Sample(t, "vtest.avi")
	w, h := testenv.VideoSize(t, path)
	var in bytes.Buffer
	boxes := drawtest.NewBoxes()
	testenv.VideoFrames(t, path, 40, func(f *rawvideo.Frame) {
		in.Write(f.Pix)
		boxes.Add(t, f)
	})
	// The stand-in draws each body inside its crop window, which drawtest.Check relies on.
	code, out, stderr := run(t, in.Bytes(), "-s", "768x576", "-detector", "bgsub", "-pose-model", "standin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	drawtest.Check(t, in.Bytes(), out, w, h, boxes.PerFrame, drawtest.CropReach, 10)
}

// YOLOX (../shared/models/yolox_nano.onnx) on a photo of a man stretching.
func TestRunYOLOXStill(t *testing.T) {
	model := testenv.Shared(t, "models/yolox_nano.onnx")
	f := testenv.LoadImage(t, testenv.Shared(t, "images/pexels-stretch.jpg"))
	if err := ort.Init(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.Open(model, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	dets, err := models.NewYOLOX(sess, models.InputSize{Width: 416, Height: 416}).Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	var bs []human.Box
	for _, d := range dets {
		bs = append(bs, d.Box)
	}
	in := append(append([]byte(nil), f.Pix...), f.Pix...)
	code, out, stderr := run(t, in, "-s", "1024x1024", "-detector", model, "-render-workers", "2", "-pose-model", "standin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	drawtest.Check(t, in, out, f.Width, f.Height, [][]human.Box{bs, bs}, drawtest.CropReach, 10)
}

func TestRunTruncatedInput(t *testing.T) {
	const w, h = 64, 48
	in := make([]byte, 3*w*h*3+1000)
	for i := range in {
		in[i] = byte(i * 31)
	}
	code, out, stderr := run(t, in, "-s", "64x48", "-detector", "bgsub")
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr, "read: frame 3: frame 3 is truncated: the input ended after 1000 of its 9216 bytes") {
		t.Errorf("stderr does not name the truncated frame:\n%s", stderr)
	}
	if !bytes.Equal(out, in[:3*w*h*3]) {
		t.Errorf("%d bytes out, want the 3 whole frames (%d bytes) unchanged", len(out), 3*w*h*3)
	}
}

// badFlagCases are command lines Run refuses before reading any frame, its exit status and
// what stderr must say; FuzzParseArgs starts from their arguments too.
var badFlagCases = []struct {
	args []string
	code int
	want string
}{
	{[]string{}, exitUsage, "-s WxH is required"},
	{[]string{"-s", "640"}, exitUsage, `-s "640"`},
	{[]string{"-s", "0x480"}, exitUsage, `-s "0x480"`},
	{[]string{"-s", "100000x100000"}, exitUsage, "over the"},
	{[]string{"-s", "64x48", "-alpha", "2"}, exitUsage, "-alpha 2"},
	{[]string{"-s", "64x48", "-color", "pink"}, exitUsage, `-color "pink"`},
	{[]string{"-s", "64x48", "-samples", "0"}, exitUsage, "-samples 0"},
	{[]string{"-s", "64x48", "-render-workers", "-1"}, exitUsage, "-render-workers -1: must not be negative"},
	{[]string{"-s", "64x48", "-nosuchflag"}, exitUsage, "nosuchflag"},
	{[]string{"-s", "64x48", "extra"}, exitUsage, `unexpected argument "extra"`},
	{[]string{"-s", "64x48", "-model", "/nonexistent/hmr2.onnx"}, exitError, "/nonexistent/hmr2.onnx"},
	{[]string{"-s", "64x48", "-detector", "magic"}, exitError, `-detector "magic"`},
	{[]string{"-s", "64x48", "-ort-lib", "/nonexistent/libonnxruntime.so"}, exitError, "/nonexistent/libonnxruntime.so"},
}

func TestRunBadFlags(t *testing.T) {
	for _, c := range badFlagCases {
		code, out, stderr := run(t, notEmpty, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || len(out) != 0 {
			t.Errorf("meshpipe %q: exit %d, %d bytes out, stderr %q; want exit %d and %q", c.args, code, len(out), stderr, c.code, c.want)
		}
	}
}

// A model that does not keep the pose-model contract is refused before any frame is read.
func TestRunRejectsModelOffContract(t *testing.T) {
	code, _, stderr := run(t, notEmpty, "-s", "64x48", "-model", testenv.Shared(t, "models/yolox_nano.onnx"))
	if code != exitError || !strings.Contains(stderr, "input is images[1 3 416 416], want img[-1 3 256 256]") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// -color track draws a tracked person in its track's colour, -color default in 4D-Humans'
// light blue: the brightest drawn pixel (a surface facing the camera, lit to exactly its base
// colour) shows which.
func TestRunColor(t *testing.T) {
	const w, h = 128, 96
	in := bytes.Repeat([]byte{40}, 2*w*h*3) // two dark grey frames
	brightest := func(out []byte) [3]byte {
		var best [3]byte
		for i := 0; i+3 <= len(out); i += 3 {
			if !bytes.Equal(out[i:i+3], in[i:i+3]) && int(out[i])+int(out[i+1])+int(out[i+2]) > int(best[0])+int(best[1])+int(best[2]) {
				best = [3]byte(out[i : i+3])
			}
		}
		return best
	}
	for _, c := range []struct {
		mode string
		want [3]float32
	}{{"default", gl.DefaultColor}, {"track", gl.TrackColor(1)}} {
		code, out, stderr := run(t, in, "-s", "128x96", "-detector", "full", "-color", c.mode, "-render-workers", "1")
		if code != 0 {
			t.Fatalf("-color %s: exit %d: %s", c.mode, code, stderr)
		}
		if len(out) != len(in) {
			t.Fatalf("-color %s: %d bytes out for %d in", c.mode, len(out), len(in))
		}
		got := brightest(out)
		for k := 0; k < 3; k++ {
			if d := int(got[k]) - int(c.want[k]*255+0.5); d < -12 || d > 12 {
				t.Errorf("-color %s: brightest drawn pixel %v, want about %v", c.mode, got, c.want)
				break
			}
		}
	}
}
