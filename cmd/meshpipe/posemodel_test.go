package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

func TestPoseModelFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-pose-model", "magic"}, `-pose-model "magic": want hmr2, blazepose-lite`},
		{[]string{"-pose-model", "hmr2"}, "-pose-model hmr2: give the HMR2 model file with -model"},
		{[]string{"-pose-model", "full", "-model", "/x/hmr2.onnx"}, "-model /x/hmr2.onnx: only -pose-model hmr2 reads it, not blazepose-full"},
		{[]string{"-pose-model", "standin", "-model", "/x/hmr2.onnx"}, "not standin"},
		{[]string{"-pose-model", "blazepose-heavy", "-model-dir", "/nonexistent"}, "blazepose-heavy.onnx not found; tried:\n  /nonexistent/blazepose-heavy.onnx"},
	} {
		code, out, stderr := run(t, notEmpty, append([]string{"-s", "64x48"}, c.args...)...)
		if code != exitError || !strings.Contains(stderr, c.want) || len(out) != 0 {
			t.Errorf("meshpipe %q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, exitError, c.want)
		}
	}
}

// The model folder is looked for like the ONNX Runtime library: the flag, then the variable,
// then .deps/models from the executable's and the working directory upwards.
func TestFindModel(t *testing.T) {
	files := map[string]bool{
		"/opt/m/blazepose-full.onnx":                    true,
		"/home/u/proj/.deps/models/blazepose-full.onnx": true,
		"/srv/.deps/models/blazepose-full.onnx":         true,
	}
	exists := func(p string) bool { return files[p] }
	for _, c := range []struct {
		name string
		in   models.ModelInputs
		want string
		n    int // paths tried
	}{
		{"flag", models.ModelInputs{Dir: "/opt/m", Env: "/srv", WorkDir: "/home/u/proj"}, "/opt/m/blazepose-full.onnx", 1},
		{"flag missing", models.ModelInputs{Dir: "/nope", WorkDir: "/home/u/proj"}, "", 1},
		{"env", models.ModelInputs{Env: "/opt/m", WorkDir: "/home/u/proj"}, "/opt/m/blazepose-full.onnx", 1},
		{"exe dir first", models.ModelInputs{ExeDir: "/srv/bin", WorkDir: "/home/u/proj"}, "/srv/.deps/models/blazepose-full.onnx", 2},
		{"work dir parents", models.ModelInputs{WorkDir: "/home/u/proj/cmd/meshpipe"}, "/home/u/proj/.deps/models/blazepose-full.onnx", 3},
		{"nothing", models.ModelInputs{WorkDir: "/tmp/x"}, "", 3},
	} {
		c.in.Exists = exists
		got, tried := models.FindModel("blazepose-full.onnx", c.in)
		if got != c.want || len(tried) != c.n {
			t.Errorf("%s: found %q after %q, want %q after %d tries", c.name, got, tried, c.want, c.n)
		}
	}
}

// With BlazePose's files set up, meshpipe runs BlazePose by default and says so; on vtest.avi's
// walkers each body is drawn over its person and nothing is drawn far from every person.
func TestRunBlazePoseDefault(t *testing.T) {
	testenv.Deps(t, "models/"+models.BlazePoseFile("full"))
	path := testenv.Sample(t, "vtest.avi")
	w, h := testenv.VideoSize(t, path)
	var in bytes.Buffer
	boxes := drawtest.NewBoxes()
	testenv.VideoFrames(t, path, 24, func(f *rawvideo.Frame) {
		in.Write(f.Pix)
		boxes.Add(t, f)
	})
	// -detector bgsub: this test is about the pose model (the default detector's own test is
	// TestRunVtest).
	code, out, stderr := run(t, in.Bytes(), "-s", "768x576", "-detector", "bgsub", "-render-workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `pose_model="blazepose-full (`) || !strings.Contains(stderr, "regions from") {
		t.Errorf("the log does not say BlazePose runs: %s", stderr)
	}
	drawtest.Check(t, in.Bytes(), out, w, h, boxes.PerFrame, drawtest.BodyReach, drawtest.BodyShare)
}

// -model-dir names the folder; without the detector beside the landmark model, the person
// boxes place the regions, and the log says so.
func TestPoseModelDirWithoutDetector(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(testenv.Deps(t, "models/"+models.BlazePoseFile("lite")), filepath.Join(dir, models.BlazePoseFile("lite"))); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, make([]byte, 64*48*3), "-s", "64x48", "-pose-model", "lite", "-model-dir", dir, "-render-workers", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := `pose_model="blazepose-lite (` + filepath.Join(dir, models.BlazePoseFile("lite")) + "; regions from the person boxes)"
	if !strings.Contains(stderr, want) {
		t.Errorf("log %q lacks %q", stderr, want)
	}
}
