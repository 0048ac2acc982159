package filter

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/pipeline"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// index returns the index of the parameter called name.
func index(t testing.TB, name string) int {
	t.Helper()
	for i, p := range Params() {
		if p.Name == name {
			return i
		}
	}
	t.Fatalf("no parameter %s", name)
	return -1
}

// Every option both faces share is a parameter of the same name, with the pipe's default; the
// first five keep the positions ffmpeg users give them by.
func TestParams(t *testing.T) {
	var names []string
	for _, p := range Params() {
		names = append(names, p.Name)
		if (p.Kind == Double) != (p.Name == "alpha") {
			t.Errorf("%s: kind %v", p.Name, p.Kind)
		}
		if p.Explanation == "" {
			t.Errorf("%s: no explanation", p.Name)
		}
	}
	var shared []string
	for _, s := range pipeline.Shared {
		shared = append(shared, s.Name)
	}
	if !slices.Equal(names, shared) {
		t.Errorf("parameters %v, shared options %v", names, shared)
	}
	if got := strings.Join(names[:5], " "); got != "model detector alpha color body" {
		t.Errorf("first five parameters %q", got)
	}
	f, err := New(64, 48, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	d := pipeline.DefaultOptions()
	if o.Detector != d.Detector || o.MaxPeople != d.MaxPeople || o.Alpha != d.Alpha || o.Color != d.Color || o.Samples != d.Samples ||
		o.Threads != d.Threads || o.Device != d.Device || o.PoseModel != "" || o.Model != "" || o.Body != "" {
		t.Errorf("default parameters give %+v, want the pipe's defaults %+v", o, d)
	}
	for name, want := range map[string]Value{"detector": {}, "max-people": {Text: "16"}, "alpha": {Number: 1},
		"device": {Text: "auto"}, "threads": {Text: "1"}, "samples": {Text: "4"}, "pose-model": {}} {
		if got := f.Get(index(t, name)); got != want {
			t.Errorf("default %s = %+v, want %+v", name, got, want)
		}
	}
	if _, err := New(0, 48, "", nil); err == nil {
		t.Error("a 0x48 filter was made")
	}
}

// Each parameter reaches its option; a bad value is refused with an error naming the
// parameter.
func TestOptions(t *testing.T) {
	f, _ := New(64, 48, "/plugins", nil)
	for name, v := range map[string]string{"pose-model": "lite", "model-dir": "/m", "detector": "none", "body": "/b/smpl.npz",
		"max-people": " 3 ", "samples": "1", "threads": "2", "device": "cpu", "color": "track", "ort-lib": "/o/lib.so"} {
		f.Set(index(t, name), Value{Text: v})
	}
	f.Set(index(t, "alpha"), Value{Number: 0.5})
	o, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	if o.PoseModel != "lite" || o.ModelDir != "/m" || o.Detector != "none" || o.Body != "/b/smpl.npz" || o.MaxPeople != 3 ||
		o.Samples != 1 || o.Threads != 2 || o.Device != "cpu" || o.Color != "track" || o.ORTLib != "/o/lib.so" || o.Alpha != 0.5 ||
		o.SearchDir != "/plugins" || o.RenderWorkers != 1 || o.Prefix != "" {
		t.Errorf("options %+v", o)
	}
	for _, c := range []struct {
		name string
		v    Value
		want string
	}{
		{"max-people", Value{Text: "many"}, `max-people "many": want a whole number`},
		{"max-people", Value{Text: "0"}, "max-people 0: need at least 1"},
		{"samples", Value{Text: "99"}, "samples 99: want 1 (no anti-aliasing) to 16"},
		{"threads", Value{Text: "-1"}, "threads -1: must not be negative"},
		{"device", Value{Text: "gpu"}, `device: device "gpu"`},
		{"alpha", Value{Number: 1.5}, "alpha 1.5: must be within 0..1"},
		{"color", Value{Text: "rainbow"}, `color "rainbow": want default or track`},
	} {
		f, _ := New(64, 48, "", nil)
		f.Set(index(t, c.name), c.v)
		if _, err := f.options(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %+v: %v, want %q", c.name, c.v, err, c.want)
		}
	}
}

// lines collects what a Filter says.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) say(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, msg)
}

// with counts the lines that contain sub.
func (l *lines) with(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.all {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// newFilter makes a w x h Filter for the tests: the project's ONNX Runtime, the stand-in and
// the whole-frame detector unless set otherwise.
func newFilter(t testing.TB, w, h int, log *lines, set map[string]string) *Filter {
	t.Helper()
	f, err := New(w, h, "", log.say)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	f.Set(index(t, "ort-lib"), Value{Text: testenv.ORTLibrary(t)})
	f.Set(index(t, "pose-model"), Value{Text: "standin"})
	f.Set(index(t, "detector"), Value{Text: "full"})
	for name, v := range set {
		f.Set(index(t, name), Value{Text: v})
	}
	return f
}

func update(f *Filter, src []byte) []byte {
	dst := make([]byte, len(src))
	f.Update(src, dst)
	return dst
}

// A bad parameter value is said once, in one line naming the parameter; frames pass through
// untouched while it stands, and drawing comes back once it is put right.
func TestBadParameterPassesThrough(t *testing.T) {
	const w, h = 64, 48
	src := drawtest.RGBAPattern(w, h)
	for _, c := range []struct {
		name, bad, good string
		want            string
	}{
		{"max-people", "0", "16", "max-people 0: need at least 1"},
		{"samples", "lots", "4", `samples "lots": want a whole number`},
		{"threads", "-2", "1", "threads -2: must not be negative"},
		{"device", "tpu", "cpu", `device: device "tpu"`},
		{"color", "rainbow", "track", `color "rainbow": want default or track`},
		{"detector", "hog", "full", `detector "hog": want nanodet, bgsub, full, none or a YOLOX- or NanoDet-style .onnx file`},
		{"pose-model", "magic", "standin", `pose-model "magic": want hmr2`},
		{"body", "/nonexistent/smpl.npz", "", "body: body model /nonexistent/smpl.npz"},
		{"model", "/nonexistent/hmr2.onnx", "", "model /nonexistent/hmr2.onnx: only pose-model hmr2 reads it, not standin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := &lines{}
			f := newFilter(t, w, h, log, map[string]string{c.name: c.bad})
			for k := 0; k < 3; k++ {
				if dst := update(f, src); !bytes.Equal(dst, src) {
					t.Fatalf("frame %d changed with %s %q", k, c.name, c.bad)
				}
			}
			if n := log.with(c.want); n != 1 || len(log.all) != 1 {
				t.Errorf("said %q %d times in %d lines, want one line:\n%s", c.want, n, len(log.all), log)
			}
			f.Set(index(t, c.name), Value{Text: c.good})
			if dst := update(f, src); bytes.Equal(dst, src) {
				t.Errorf("%s %q: nothing drawn\n%s", c.name, c.good, log)
			}
		})
	}
	log := &lines{}
	f := newFilter(t, w, h, log, nil)
	f.Set(index(t, "alpha"), Value{Number: -0.5})
	for k := 0; k < 2; k++ {
		if dst := update(f, src); !bytes.Equal(dst, src) {
			t.Fatal("alpha -0.5: frame changed")
		}
	}
	if n := log.with("alpha -0.5: must be within 0..1"); n != 1 {
		t.Errorf("alpha said %d times:\n%s", n, log)
	}
}

// Whatever keeps the parts from being made is said once per set of parameters, naming the
// parameter or the file.
func TestCannotStart(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.onnx")
	for _, c := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"model", map[string]string{"pose-model": "hmr2", "model": missing}, "model " + missing},
		{"hmr2 without model", map[string]string{"pose-model": "hmr2"}, "pose-model hmr2: give the HMR2 model file with model PATH.onnx"},
		{"detector file", map[string]string{"detector": missing}, "detector: model " + missing},
		{"model-dir", map[string]string{"pose-model": "heavy", "model-dir": dir}, "pose-model blazepose-heavy: blazepose-heavy.onnx not found"},
		{"ort", map[string]string{"ort-lib": filepath.Join(dir, "libonnxruntime.so.1")}, "ONNX Runtime library not found; tried:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := &lines{}
			f := newFilter(t, 64, 48, log, c.set)
			src := drawtest.RGBAPattern(64, 48)
			for k := 0; k < 3; k++ {
				if dst := update(f, src); !bytes.Equal(dst, src) {
					t.Fatal("a frame changed though the filter cannot start")
				}
			}
			if n := log.with("cannot start, so frames pass through unchanged: " + c.want); n != 1 || len(log.all) != 1 {
				t.Errorf("want one line with %q:\n%s", c.want, log)
			}
		})
	}
}

// A drawn frame keeps the input's alpha; drawing in place gives the same; the look changes
// without the parts being made again, and a changed detector makes them again.
func TestUpdate(t *testing.T) {
	const w, h = 64, 48
	log := &lines{}
	f := newFilter(t, w, h, log, nil)
	src := drawtest.RGBAPattern(w, h)
	dst := update(f, src)
	drawtest.CheckRGBA(t, src, dst, w, h, 20)
	parts := f.parts
	inPlace := append([]byte(nil), src...)
	f.Update(inPlace, inPlace)
	if !bytes.Equal(inPlace, dst) {
		t.Error("drawing in place differs from drawing into another buffer")
	}
	f.Set(index(t, "alpha"), Value{Number: 0.3})
	f.Set(index(t, "color"), Value{Text: "track"})
	if got := update(f, src); bytes.Equal(got, dst) || f.parts != parts {
		t.Errorf("alpha and color: same frame %v, parts made again %v", bytes.Equal(got, dst), f.parts != parts)
	}
	f.Set(index(t, "detector"), Value{Text: "none"})
	if got := update(f, src); !bytes.Equal(got, src) || f.parts == parts {
		t.Errorf("detector none: frame changed %v, parts made again %v", !bytes.Equal(got, src), f.parts != parts)
	}
	if len(log.all) != 0 {
		t.Errorf("said: %s", log)
	}
}

// Two Filters in one process keep their own state: run side by side, frame by frame, each
// gives exactly what one Filter alone gives, and people are drawn.
func TestTwoFilters(t *testing.T) {
	const n = 20
	var frames [][]byte
	var w, h int
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), n, func(f *rawvideo.Frame) {
		w, h = f.Width, f.Height
		rgba := make([]byte, 4*w*h)
		for i := 0; i < w*h; i++ {
			copy(rgba[4*i:], f.Pix[3*i:3*i+3])
			rgba[4*i+3] = 255
		}
		frames = append(frames, rgba)
	})
	set := map[string]string{"detector": "bgsub", "color": "track"}
	run := func(fs ...*Filter) [][][]byte {
		out := make([][][]byte, len(fs))
		for _, src := range frames {
			for i, f := range fs {
				out[i] = append(out[i], update(f, src))
			}
		}
		return out
	}
	log := &lines{}
	alone := run(newFilter(t, w, h, log, set))[0]
	pair := run(newFilter(t, w, h, log, set), newFilter(t, w, h, log, set))
	drawn := 0
	for k := range frames {
		if !bytes.Equal(alone[k], frames[k]) {
			drawn++
		}
		for i := range pair {
			if !bytes.Equal(pair[i][k], alone[k]) {
				t.Fatalf("frame %d: filter %d of two differs from a filter alone", k, i)
			}
		}
	}
	if drawn < n/2 {
		t.Errorf("people drawn on %d of %d frames; want at least half", drawn, n)
	}
	t.Logf("%d of %d frames drawn on", drawn, n)
}

func TestRGBARoundTrip(t *testing.T) {
	const w, h = 5, 3
	src := make([]byte, 4*w*h)
	for i := range src {
		src[i] = byte(i*37 + 11)
	}
	var f rawvideo.Frame
	if err := FromRGBA(&f, src, w, h); err != nil {
		t.Fatal(err)
	}
	if f.Width != w || f.Height != h || f.Stride != 3*w || len(f.Pix) != 3*w*h {
		t.Fatalf("frame %dx%d stride %d, %d bytes", f.Width, f.Height, f.Stride, len(f.Pix))
	}
	for i := 0; i < w*h; i++ {
		if r, g, b := f.At(i%w, i/w); r != src[4*i] || g != src[4*i+1] || b != src[4*i+2] {
			t.Fatalf("pixel %d: %d %d %d from %v", i, r, g, b, src[4*i:4*i+4])
		}
	}
	f.Pix[0] = 1 // drawn over
	dst := make([]byte, 4*w*h)
	for i := range dst {
		dst[i] = 0xEE
	}
	if err := ToRGBA(dst, &f, src); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4*w*h; i++ {
		want := src[i]
		if i == 0 {
			want = 1
		}
		if dst[i] != want {
			t.Fatalf("byte %d: %d, want %d (alpha from the input)", i, dst[i], want)
		}
	}
	if err := FromRGBA(&f, src[:10], w, h); err == nil {
		t.Error("FromRGBA took a short image")
	}
	if err := FromRGBA(&f, src, 0, h); err == nil {
		t.Error("FromRGBA took width 0")
	}
	if err := ToRGBA(dst[:10], &f, src); err == nil {
		t.Error("ToRGBA wrote into a short image")
	}
	if err := ToRGBA(dst, &f, src[:10]); err == nil {
		t.Error("ToRGBA took a short alpha image")
	}
}

func BenchmarkRGBA(b *testing.B) {
	const w, h = 1280, 720
	src := make([]byte, 4*w*h)
	dst := make([]byte, 4*w*h)
	var f rawvideo.Frame
	b.SetBytes(4 * w * h)
	for b.Loop() {
		FromRGBA(&f, src, w, h)
		ToRGBA(dst, &f, src)
	}
}

// BenchmarkUpdate times a Filter (the plugin's whole frame: RGBA in and out, the background
// subtractor, the pose model, one render worker) on frames 0-39 of vtest.avi, with the stand-in
// and with BlazePose full.
func BenchmarkUpdate(b *testing.B) {
	var frames [][]byte
	var w, h int
	testenv.VideoFrames(b, testenv.Sample(b, "vtest.avi"), 40, func(f *rawvideo.Frame) {
		w, h = f.Width, f.Height
		rgba := make([]byte, 4*w*h)
		for i := 0; i < w*h; i++ {
			copy(rgba[4*i:], f.Pix[3*i:3*i+3])
		}
		frames = append(frames, rgba)
	})
	for _, model := range []string{"standin", "blazepose-full"} {
		b.Run(fmt.Sprintf("pose-model=%s", model), func(b *testing.B) {
			f := newFilter(b, w, h, &lines{}, map[string]string{"pose-model": model, "detector": "bgsub"})
			dst := make([]byte, 4*w*h)
			k := 0
			for b.Loop() {
				f.Update(frames[k%len(frames)], dst)
				k++
			}
			b.ReportMetric(float64(k)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
