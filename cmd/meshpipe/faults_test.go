package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// faultModel writes one of cmd/meshpipe/testdata/fault_models.py's models (once per test
// binary) and returns its path.
func faultModel(t *testing.T, kind string, args ...string) string {
	t.Helper()
	name := kind + strings.Join(args, "_") + ".onnx"
	return once(t, name, func(p string) {
		testenv.Python(t, append([]string{filepath.Join("testdata", "fault_models.py"), kind, p}, args...)...)
	})
}

// silentStdin is a stdin nothing is written to: a read blocks until the test ends it.
func silentStdin(t *testing.T) io.Reader {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return r
}

// Bad models and body files are refused before the first frame is read, without waiting for
// stdin (which meshpipe only looks at while the models load, to say at once when it is
// empty): exit 1, nothing on stdout, and a message naming the file and what was expected.
func TestBadModelsBeforeFirstFrame(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.onnx")
	empty := filepath.Join(dir, "empty.onnx")
	standin := filepath.Join(dir, "standin.onnx")
	os.WriteFile(text, []byte("this is not an ONNX model\n"), 0o644)
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(standin, models.StandIn, 0o644)
	bodies := t.TempDir()
	testenv.Python(t, filepath.Join(testenv.Root(t), "models", "testdata", "smpl_ref.py"), "broken", bodies)
	yolox := testenv.Shared(t, "models/yolox_nano.onnx")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-model", "/nonexistent/hmr2.onnx"}, []string{"model /nonexistent/hmr2.onnx", "no such file"}},
		{[]string{"-model", text}, []string{"model " + text + " is not a loadable ONNX model"}},
		{[]string{"-model", empty}, []string{"model " + empty + " is not a loadable ONNX model"}},
		{[]string{"-model", yolox}, []string{"model hmr2 (" + yolox + ")", "input is images[1 3 416 416], want img[-1 3 256 256]"}},
		{[]string{"-model", faultModel(t, "vertices", "6890")}, []string{"pred_vertices[-1 6890 3] gives 6890 vertices a body, but the body model (mannequin) has"}},
		{[]string{"-detector", "/nonexistent/yolox.onnx"}, []string{"-detector: model /nonexistent/yolox.onnx", "no such file"}},
		{[]string{"-detector", text}, []string{"-detector: model " + text + " is not a loadable ONNX model"}},
		{[]string{"-detector", standin}, []string{"detector " + standin, `no output "output" among the model's outputs [pred_cam global_orient body_pose betas]`}},
		{[]string{"-detector", faultModel(t, "detector")}, []string{"output output[1 10 85], want output[1 84 85] for a 64x64 input"}},
		{[]string{"-body", filepath.Join(bodies, "missing_posedirs.npz")}, []string{"-body: body model " + filepath.Join(bodies, "missing_posedirs.npz"), `no key "posedirs"`}},
		{[]string{"-body", filepath.Join(bodies, "shape_weights.npz")}, []string{filepath.Join(bodies, "shape_weights.npz"), "weights has shape [30 23], want [30,24]"}},
		{[]string{"-body", filepath.Join(bodies, "range_f.npz")}, []string{"f: face 3 uses vertex 37; v_template has 30"}},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"-s", "64x48", "-device", "cpu", "-render-workers", "1"}, c.args...), silentStdin(t), &out, &errb)
		if code != exitError || out.Len() != 0 {
			t.Errorf("%q: exit %d, %d bytes out; want exit 1 before reading a frame\n%s", c.args, code, out.Len(), errb.String())
		}
		for _, w := range c.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%q: stderr does not say %q:\n%s", c.args, w, errb.String())
			}
		}
	}
}

// An ONNX Runtime that is missing, too old, not ONNX Runtime at all, and a machine without
// usable OpenGL (simulated with environment variables that make EGL fail, as on a server
// without Mesa's EGL or its drivers) each end meshpipe before it reads a frame, with exit
// status 1 and the reason. Child processes: ONNX Runtime and EGL are set up once per
// process. Stdin is an open pipe nothing is written to, so a read would hang the child.
func TestBadEnvironmentBeforeFirstFrame(t *testing.T) {
	old := testenv.SharedLibrary(t, "libonnxruntime.so.1", testenv.FakeORTSource("1.16.3", 16))
	notORT := testenv.SharedLibrary(t, "libonnxruntime.so.1", "int foo(void) { return 1; }\n")
	text := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	os.WriteFile(text, []byte("not a library"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"missing", []string{"-ort-lib", "/nonexistent/libonnxruntime.so.1"}, nil,
			[]string{"ONNX Runtime library not found; tried:\n  /nonexistent/libonnxruntime.so.1\n", "run scripts/setup.sh"}},
		{"too old", []string{"-ort-lib", old}, nil, []string{"ONNX Runtime 1.16.3 (" + old + ") is too old: meshpipe needs 1.24.0 or newer"}},
		{"not ONNX Runtime", nil, []string{"MESHPIPE_ORT_LIB=" + notORT}, []string{notORT + " is not an ONNX Runtime library: it has no working OrtGetApiBase"}},
		{"not a library", []string{"-ort-lib", text}, nil, []string{"ONNX Runtime library " + text + " does not load"}},
		{"no EGL vendor", nil, []string{"__EGL_VENDOR_LIBRARY_FILENAMES=/dev/null"},
			[]string{"render worker 0: no usable EGL", "EGL default display: no display", "libegl1 libegl-mesa0 libgl1-mesa-dri"}},
		{"no Mesa driver", nil, []string{"LIBGL_DRIVERS_PATH=/nonexistent"},
			[]string{"render worker 0: no usable EGL", "eglInitialize failed (EGL_NOT_INITIALIZED)", "libgl1-mesa-dri"}},
	} {
		cmd := meshpipeCmd(t, append([]string{"-s", "64x48", "-device", "cpu", "-render-workers", "1"}, c.args...)...)
		cmd.Env = append(cmd.Env, c.env...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		code := waitExit(t, cmd)
		stdin.Close()
		if code != exitError || stdout.Len() != 0 {
			t.Errorf("%s: exit %d, %d bytes out; want exit 1 and nothing\n%s", c.name, code, stdout.Len(), stderr.String())
		}
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: stderr does not say %q:\n%s", c.name, w, stderr.String())
			}
		}
	}
}

// A pose model whose output goes bad on a bright frame (scale s <= 0) ends meshpipe with exit
// 1 and an error naming that frame, after every frame before it was written, in order: with
// batches of 4 the bad frame fails its batch, which is run again frame by frame.
func TestModelFaultMidStream(t *testing.T) {
	model := faultModel(t, "bright-fails")
	const w, h, k = 64, 48, 7
	n := w * h * 3
	var in bytes.Buffer
	for i := 0; i < 12; i++ {
		v := byte(20 + 5*i) // dark: s > 0
		if i == k {
			v = 230 // bright: s < 0
		}
		in.Write(bytes.Repeat([]byte{v}, n))
	}
	code, out, stderr := run(t, in.Bytes(), "-s", "64x48", "-detector", "full", "-model", model, "-batch", "4", "-device", "cpu")
	want := fmt.Sprintf("pose: frame %d: model hmr2 (%s): output pred_cam gives scale s = ", k, model)
	if code != exitError || !strings.Contains(stderr, want) || !strings.Contains(stderr, fmt.Sprintf("(%d frames written before it)", k)) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, want)
	}
	if len(out) != k*n {
		t.Fatalf("%d bytes out, want the %d frames before frame %d", len(out), k, k)
	}
	for i := 0; i < k; i++ {
		// The person fills the frame's middle; its corner keeps the frame's own grey.
		if got := out[i*n]; got != byte(20+5*i) {
			t.Errorf("output %d starts with %d, not frame %d's %d: frames out of order", i, got, i, 20+5*i)
		}
		if bytes.Equal(out[i*n:(i+1)*n], in.Bytes()[i*n:(i+1)*n]) {
			t.Errorf("output %d: nobody drawn", i)
		}
	}
}

// More people than -max-people: the largest are drawn, a warning says so once however many
// frames are over, and the closing line counts those frames. Without the flag (16) all 12
// are drawn. The detector runs on every frame (-detect-every 0), so that every frame counts:
// under pose tracking the count is of the frames the detector ran on.
func TestMaxPeople(t *testing.T) {
	crowd := faultModel(t, "crowd") // the same 12 people in every frame
	frames := make([]byte, 4*64*64*3)
	for _, c := range []struct {
		args  []string
		drawn int
	}{
		{[]string{"-max-people", "5"}, 5},
		{nil, 12},
	} {
		poses := filepath.Join(t.TempDir(), "poses.jsonl")
		code, out, stderr := run(t, frames, append([]string{"-s", "64x64", "-detector", crowd, "-detect-every", "0", "-poses", poses, "-render-workers", "1", "-device", "cpu"}, c.args...)...)
		if code != 0 || len(out) != len(frames) {
			t.Fatalf("%q: exit %d, %d bytes out: %s", c.args, code, len(out), stderr)
		}
		recs := readPoses(t, poses)
		if len(recs) != 4 {
			t.Fatalf("%q: %d pose records, want 4", c.args, len(recs))
		}
		for _, r := range recs {
			if len(r.People) != c.drawn {
				t.Fatalf("%q: frame %d has %d people, want %d", c.args, r.Frame, len(r.People), c.drawn)
			}
		}
		warnings := strings.Count(stderr, "more than -max-people")
		if c.drawn == 12 {
			if warnings != 0 || strings.Contains(stderr, "frames_over_max_people") {
				t.Errorf("12 people under the default cap: warned:\n%s", stderr)
			}
			continue
		}
		if warnings != 1 || !strings.Contains(stderr, "frame 0: 12 people found, more than -max-people 5: drawing the 5 largest") ||
			!strings.Contains(stderr, "frames_over_max_people=4") {
			t.Errorf("-max-people 5: want one warning and the count of 4 frames:\n%s", stderr)
		}
		// The crowd's squares have sides 4 + 0.8k: the five largest are k = 7..11.
		raw, _ := os.ReadFile(poses)
		for k := 7; k < 12; k++ {
			side := 4 + 0.8*float64(k)
			if !bytes.Contains(raw, []byte(fmt.Sprintf(`"bbox":[%v,`, float32(8+16*(k%4))-float32(side/2)))) {
				t.Errorf("-max-people 5: person %d (side %.1f) not among those drawn", k, side)
			}
		}
	}
	code, _, stderr := run(t, nil, "-s", "64x64", "-max-people", "0")
	if code != exitUsage || !strings.Contains(stderr, "-max-people 0: need at least 1") {
		t.Errorf("-max-people 0: exit %d, %s", code, stderr)
	}
}

// Frames in which nobody is found come out byte for byte as they went in, in rgb24 and in
// y4m (yuv420p), among frames with people drawn: a grey textured background, still, and a
// bright block walking across it in two stretches of frames.
func TestZeroPeopleUnchanged(t *testing.T) {
	const w, h, frames = 64, 48, 50
	bg := make([]byte, w*h*3)
	for i := range bg {
		bg[i] = byte(90 + (i*37)%23)
	}
	var raw bytes.Buffer
	found := drawtest.NewBoxes()
	for k := 0; k < frames; k++ {
		f := &rawvideo.Frame{Seq: int64(k), Width: w, Height: h, Stride: 3 * w, Pix: append([]byte(nil), bg...)}
		if k >= 10 && k < 20 || k >= 32 && k < 42 {
			x0 := 4 + 3*(k%10)
			for y := 10; y < 40; y++ {
				for x := x0; x < x0+12; x++ {
					copy(f.Pix[3*(y*w+x):], []byte{230, 200, 180})
				}
			}
		}
		found.Add(t, f)
		raw.Write(f.Pix)
	}
	boxes := found.PerFrame
	empty, full := 0, 0
	for _, b := range boxes {
		if len(b) == 0 {
			empty++
		} else {
			full++
		}
	}
	if empty < 10 || full < 10 {
		t.Fatalf("%d frames without people and %d with: the test needs both", empty, full)
	}
	t.Logf("%d frames without people, %d with", empty, full)

	// The stand-in poses the block (BlazePose finds no body in it: nothing would be drawn) and,
	// unsmoothed, draws it inside its crop window, which drawtest.CropReach relies on.
	code, out, stderr := run(t, raw.Bytes(), "-s", "64x48", "-detector", "bgsub", "-pose-model", "standin", "-smooth", "off", "-render-workers", "2", "-device", "cpu")
	if code != 0 {
		t.Fatalf("rgb24: exit %d: %s", code, stderr)
	}
	drawtest.Check(t, raw.Bytes(), out, w, h, boxes, drawtest.CropReach, 10)
	n := w * h * 3
	for k, b := range boxes {
		if len(b) == 0 && !bytes.Equal(out[k*n:(k+1)*n], raw.Bytes()[k*n:(k+1)*n]) {
			t.Errorf("rgb24: frame %d, nobody in it, changed", k)
		}
	}

	y4m := ffmpegOut(t, raw.Bytes(), "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-i", "-", "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-")
	code, out, stderr = run(t, y4m, "-detector", "bgsub", "-pose-model", "standin", "-smooth", "off", "-render-workers", "2", "-device", "cpu")
	if code != 0 || len(out) != len(y4m) {
		t.Fatalf("y4m: exit %d, %d bytes for %d: %s", code, len(out), len(y4m), stderr)
	}
	head := bytes.IndexByte(y4m, '\n') + 1
	fs := len("FRAME\n") + w*h*3/2
	changed := 0
	for k, b := range boxes {
		a, e := head+k*fs, head+(k+1)*fs
		same := bytes.Equal(out[a:e], y4m[a:e])
		if len(b) == 0 && !same {
			t.Errorf("y4m: frame %d, nobody in it, changed", k)
		}
		if !same {
			changed++
		}
	}
	if changed == 0 {
		t.Error("y4m: no frame changed: nobody drawn")
	}
}
