package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Check names the first option out of range, spelled as the face spells it.
func TestCheck(t *testing.T) {
	ok := DefaultOptions()
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Alpha = 1.5 }, "alpha 1.5: must be within 0..1"},
		{func(o *Options) { o.Color = "pink" }, `color "pink": want default or track`},
		{func(o *Options) { o.Samples = 0 }, "samples 0: want 1"},
		{func(o *Options) { o.MaxPeople = 0 }, "max-people 0: need at least 1"},
		{func(o *Options) { o.Threads = -1 }, "threads -1: must not be negative"},
		{func(o *Options) { o.Batch = 0 }, "batch 0: need at least 1"},
		{func(o *Options) { o.PoseWorkers = 0 }, "pose-workers 0: need at least 1"},
		{func(o *Options) { o.RenderWorkers = -1 }, "render-workers -1: must not be negative"},
		{func(o *Options) { o.InFlight = -1 }, "in-flight -1: must not be negative"},
		{func(o *Options) { o.Device = "gpu" }, `device: device "gpu"`},
	} {
		for _, prefix := range []string{"", "-"} {
			o := DefaultOptions()
			o.Prefix = prefix
			c.mod(&o)
			if err := o.Check(); err == nil || !strings.HasPrefix(err.Error(), prefix+c.want) {
				t.Errorf("Check: %v, want %q", err, prefix+c.want)
			}
		}
	}
}

// Every shared option names a field of Options, and the names are unique.
func TestShared(t *testing.T) {
	seen := map[string]bool{}
	var o Options
	for _, s := range Shared {
		if seen[s.Name] || s.Usage == "" || s.Arg == "" {
			t.Errorf("%+v: a name twice, or no usage or argument", s)
		}
		seen[s.Name] = true
		switch s.Field(&o).(type) {
		case *string, *int, *float64:
		default:
			t.Errorf("%s: field of type %T", s.Name, s.Field(&o))
		}
		if SharedOption(s.Name).Name != s.Name {
			t.Errorf("SharedOption(%s)", s.Name)
		}
	}
	for _, name := range []string{"pose-model", "model", "model-dir", "detector", "body", "max-people", "alpha", "color", "samples", "threads", "device"} {
		if !seen[name] {
			t.Errorf("%s is not shared", name)
		}
	}
}

func TestPoseModelKind(t *testing.T) {
	empty := t.TempDir()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, models.BlazePoseFile("full")), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{ModelDir: empty}, "standin"},
		{Options{ModelDir: full}, "blazepose-full"},
		{Options{ModelDir: full, Model: "/m/hmr2.onnx"}, "hmr2"},
		{Options{PoseModel: "lite"}, "blazepose-lite"},
		{Options{PoseModel: "heavy"}, "blazepose-heavy"},
		{Options{PoseModel: "standin", ModelDir: full}, "standin"},
		{Options{PoseModel: "magic"}, "magic"},
	} {
		if got := c.o.PoseModelKind(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.o, got, c.want)
		}
	}
}

// open opens parts for the tests: the project's ONNX Runtime, the CPU, the stand-in and the
// whole-frame detector unless mod says otherwise.
func open(t *testing.T, mod func(*Options)) (*Parts, error) {
	t.Helper()
	o := DefaultOptions()
	o.ORTLib, o.Device, o.PoseModel, o.Detector = testenv.ORTLibrary(t), "cpu", "standin", "full"
	if mod != nil {
		mod(&o)
	}
	p, err := Open(o)
	if err == nil {
		t.Cleanup(func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	return p, err
}

// The parts fill the graph's Config; render workers default to the renderer's number, and
// -no-render makes pass-throughs without OpenGL.
func TestOpen(t *testing.T) {
	p, err := open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config
	if c.Detector == nil || c.Tracker == nil || c.Pose == nil || c.Poses != nil || c.Batch != 4 || c.PoseWorkers != 2 {
		t.Errorf("config %+v", c)
	}
	if want := gl.DefaultWorkers(p.Renderer); len(c.Renderers) != want {
		t.Errorf("%d render workers on %s, want %d", len(c.Renderers), p.Renderer, want)
	}
	if p.Device != "cpu" || p.DeviceNote != "" || p.Body != "mannequin" || p.Vertices != models.Mannequin().VertexCount() ||
		!strings.HasPrefix(p.PoseModel, "standin") {
		t.Errorf("parts %+v", p)
	}
	p, err = open(t, func(o *Options) { o.RenderWorkers = 3 })
	if err != nil || len(p.Config.Renderers) != 3 {
		t.Fatalf("-render-workers 3: %v", err)
	}
	p, err = open(t, func(o *Options) { o.NoRender, o.Prefix = true, "-" })
	if err != nil || len(p.Config.Renderers) != 1 || p.Renderer != "none (-no-render)" {
		t.Fatalf("no-render: %v, %d workers, renderer %q", err, len(p.Config.Renderers), p.Renderer)
	}
	if p.Close() != nil || p.Close() != nil {
		t.Error("Close twice failed")
	}
}

// Open refuses what it cannot make, naming the option with the face's prefix, before any frame.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.onnx")
	for _, c := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Detector = "hog" }, `-detector "hog": want nanodet, bgsub, full, none or a YOLOX- or NanoDet-style .onnx file`},
		{func(o *Options) { o.Detector = missing }, "-detector: model " + missing},
		{func(o *Options) { o.PoseModel = "magic" }, `-pose-model "magic": want hmr2`},
		{func(o *Options) { o.PoseModel = "hmr2" }, "-pose-model hmr2: give the HMR2 model file with -model PATH.onnx"},
		{func(o *Options) { o.Model = missing }, "-model " + missing + ": only -pose-model hmr2 reads it, not standin"},
		{func(o *Options) { o.PoseModel = "full"; o.ModelDir = dir }, "-pose-model blazepose-full: blazepose-full.onnx not found; tried:\n  " + dir},
		{func(o *Options) { o.Body = missing }, "-body: body model " + missing},
		{func(o *Options) { o.Poses = filepath.Join(dir, "no", "poses.jsonl") }, "-poses: open " + dir},
		{func(o *Options) { o.Alpha = 2 }, "-alpha 2"},
	} {
		_, err := open(t, func(o *Options) { o.Prefix = "-"; c.mod(o) })
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Open: %v, want %q", err, c.want)
		}
	}
}

// frameWithPerson is a grey w x h frame and the whole-frame person the stand-in poses in it.
func frameWithPerson(t *testing.T, p *Parts, w, h int) (*rawvideo.Frame, []human.Person) {
	t.Helper()
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Pix {
		f.Pix[i] = 90
	}
	dets, err := p.Config.Detector.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	people := make([][]human.Person, 1)
	err = p.Config.Pose.EstimateInto([]*rawvideo.Frame{f}, [][]human.Detection{dets}, people)
	if err != nil || len(people[0]) != 1 {
		t.Fatalf("pose: %v", err)
	}
	return f, people[0]
}

// The render adapter draws the posed people under the contract's camera, with the look set:
// alpha 0 leaves the frame as it was, and the track colour differs from the default one.
func TestRenderLook(t *testing.T) {
	p, err := open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, people := frameWithPerson(t, p, 96, 64)
	people[0].TrackID = 3
	draw := func(alpha float64, color string) []byte {
		if err := p.SetLook(alpha, color); err != nil {
			t.Fatal(err)
		}
		g := &rawvideo.Frame{}
		g.CopyFrom(f)
		if err := p.Config.Renderers[0].Render(g, people); err != nil {
			t.Fatal(err)
		}
		return g.Pix
	}
	plain, track, none := draw(1, "default"), draw(1, "track"), draw(0, "default")
	if bytes.Equal(plain, f.Pix) || bytes.Equal(plain, track) || !bytes.Equal(none, f.Pix) {
		t.Errorf("drawn %v, track colour differs %v, alpha 0 untouched %v", !bytes.Equal(plain, f.Pix), !bytes.Equal(plain, track), bytes.Equal(none, f.Pix))
	}
	if err := p.SetLook(1.5, "default"); err == nil || !strings.HasPrefix(err.Error(), "alpha 1.5") {
		t.Errorf("SetLook(1.5): %v", err)
	}
	if err := p.SetLook(1, "pink"); err == nil || !strings.HasPrefix(err.Error(), `color "pink"`) {
		t.Errorf("SetLook(pink): %v", err)
	}
	if got := draw(1, "default"); !bytes.Equal(got, plain) {
		t.Error("a refused look changed the drawing")
	}
}

// More people than MaxPeople are cut to the largest; the first such frame is told, every one
// counted.
func TestMaxPeople(t *testing.T) {
	var told []int64
	p, err := open(t, func(o *Options) {
		o.Detector, o.MaxPeople = testenv.Shared(t, "models/yolox_nano.onnx"), 1
		o.OverMaxPeople = func(seq int64, found int) { told = append(told, seq) }
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), 3, func(f *rawvideo.Frame) {
		dets, err := p.Config.Detector.Detect(f)
		if err != nil || len(dets) != 1 {
			t.Fatalf("frame %d: %d people, %v; want 1", f.Seq, len(dets), err)
		}
		n++
	})
	if len(told) != 1 || told[0] != 0 || p.FramesOverMaxPeople() != int64(n) {
		t.Errorf("told of frames %v, %d counted; want frame 0 told and %d counted", told, p.FramesOverMaxPeople(), n)
	}
}

// The body option really reads the SMPL file: the pose model poses its vertices.
func TestSMPLBody(t *testing.T) {
	dir := t.TempDir()
	body := testenv.RandomBody(t, dir)
	p, err := open(t, func(o *Options) { o.Body = body })
	if err != nil {
		t.Fatal(err)
	}
	if p.Body != body || p.Vertices != 6890 {
		t.Fatalf("body %s with %d vertices, want %s with 6890", p.Body, p.Vertices, body)
	}
	_, people := frameWithPerson(t, p, 96, 64)
	if len(people[0].Vertices) != 3*6890 {
		t.Errorf("a person of %d vertices, want the body's 6890", len(people[0].Vertices)/3)
	}
}
