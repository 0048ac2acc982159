package filter

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// fakeDetector returns boxes[seq] for frame seq and records the frames it saw.
type fakeDetector struct {
	boxes map[int64][]human.Box
	seen  []int64
	err   error
}

func (d *fakeDetector) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	d.seen = append(d.seen, f.Seq)
	if d.err != nil {
		return nil, d.err
	}
	var dets []human.Detection
	for _, b := range d.boxes[f.Seq] {
		dets = append(dets, human.Detection{Box: b, Score: 1})
	}
	return dets, nil
}

// fakePose gives each detection a one-vertex "body" at x = box.X1 and records how many calls
// were running at once.
type fakePose struct {
	mu               sync.Mutex
	running, maxRun  int
	calls            int
	wait             chan struct{} // if not nil, each call waits for it (or 2 s)
	panicOn, errorOn int           // box X1 that makes Estimate panic / fail; 0: never
}

func (p *fakePose) Estimate(f *rawvideo.Frame, dets []human.Detection) ([]human.Person, error) {
	p.mu.Lock()
	p.calls++
	p.running++
	p.maxRun = max(p.maxRun, p.running)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
	}()
	if p.wait != nil {
		select {
		case <-p.wait:
		case <-time.After(2 * time.Second):
		}
	}
	people := make([]human.Person, len(dets))
	for i, d := range dets {
		if int(d.Box.X1) == p.panicOn && p.panicOn != 0 {
			panic("fake pose panic")
		}
		if int(d.Box.X1) == p.errorOn && p.errorOn != 0 {
			return nil, errors.New("fake pose error")
		}
		people[i] = human.Person{Detection: d, Vertices: []float32{d.Box.X1, 0, 1}}
	}
	return people, nil
}

// fakeRenderer records what it was asked to draw.
type fakeRenderer struct {
	meshes []gl.Mesh
	alpha  float32
	cam    gl.Camera
	frames int
}

func (r *fakeRenderer) Render(f *rawvideo.Frame, cam gl.Camera, meshes []gl.Mesh, alpha float32) error {
	r.frames++
	r.meshes = append(r.meshes[:0], meshes...)
	r.alpha, r.cam = alpha, cam
	return nil
}

func box(x float32) human.Box { return human.Box{X1: x, Y1: 10, X2: x + 20, Y2: 60} }

func frame(t *testing.T, seq int64) *rawvideo.Frame {
	t.Helper()
	f, err := rawvideo.NewFrame(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	f.Seq = seq
	return f
}

// People come back in detection order, posed by two goroutines at once, with track ids and
// track colours, and the renderer gets the contract's camera and the alpha set.
func TestApplyOrderParallelColors(t *testing.T) {
	det := &fakeDetector{boxes: map[int64][]human.Box{
		0: {box(1), box(2), box(3), box(4), box(5)},
		1: {box(1), box(2), box(3), box(4), box(5)},
		2: nil,
	}}
	pose := &fakePose{wait: make(chan struct{})}
	r := &fakeRenderer{}
	f := New(Parts{Detector: det, Tracker: models.NewTracker(), Pose: pose, Renderer: r, PoseWorkers: 2})
	f.Alpha, f.Color = 0.25, ColorTrack

	// Frame 0: both pose calls must be in Estimate together before either may return.
	go func() {
		for {
			pose.mu.Lock()
			n := pose.running
			pose.mu.Unlock()
			if n == 2 {
				close(pose.wait)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	n, err := f.Apply(frame(t, 0))
	if err != nil || n != 5 {
		t.Fatalf("Apply: %d people, %v; want 5", n, err)
	}
	if pose.calls != 2 || pose.maxRun != 2 {
		t.Errorf("pose: %d calls, at most %d at once; want 2 calls running together", pose.calls, pose.maxRun)
	}
	if len(r.meshes) != 5 {
		t.Fatalf("%d meshes drawn, want 5", len(r.meshes))
	}
	for i, m := range r.meshes {
		if m.Vertices[0] != float32(i+1) {
			t.Errorf("mesh %d is person at x=%v: order lost", i, m.Vertices[0])
		}
		if want := gl.TrackColor(i + 1); m.Color != want {
			t.Errorf("mesh %d colour %v, want track %d's %v", i, m.Color, i+1, want)
		}
	}
	cam := models.NewCamera(64, 48)
	if r.alpha != 0.25 || r.cam != (gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}) {
		t.Errorf("renderer got alpha %v camera %+v", r.alpha, r.cam)
	}

	// Frame 1: the same people keep their ids; in default mode every mesh is gl.DefaultColor.
	f.Color = ColorDefault
	if _, err := f.Apply(frame(t, 1)); err != nil {
		t.Fatal(err)
	}
	for i, m := range r.meshes {
		if m.Color != gl.DefaultColor {
			t.Errorf("frame 1 mesh %d colour %v, want %v", i, m.Color, gl.DefaultColor)
		}
	}
	// Frame 2: nobody, so nothing is posed or drawn.
	calls, frames := pose.calls, r.frames
	if n, err := f.Apply(frame(t, 2)); err != nil || n != 0 || pose.calls != calls || r.frames != frames {
		t.Errorf("empty frame: %d people, %v, %d pose calls, %d renders", n, err, pose.calls-calls, r.frames-frames)
	}
	if fmt.Sprint(det.seen) != "[0 1 2]" {
		t.Errorf("detector saw frames %v, want [0 1 2]", det.seen)
	}
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		det  *fakeDetector
		pose *fakePose
		want string
	}{
		{"detect", &fakeDetector{err: errors.New("boom")}, &fakePose{}, "detect: frame 7: boom"},
		{"pose", &fakeDetector{boxes: map[int64][]human.Box{7: {box(1), box(2), box(3)}}}, &fakePose{errorOn: 3}, "pose: frame 7: fake pose error"},
		{"panic", &fakeDetector{boxes: map[int64][]human.Box{7: {box(1), box(2), box(3)}}}, &fakePose{panicOn: 3}, "pose: frame 7: pose estimator panicked: fake pose panic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New(Parts{Detector: tc.det, Pose: tc.pose, Renderer: &fakeRenderer{}})
			_, err := f.Apply(frame(t, 7))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	f := New(Parts{Detector: &fakeDetector{}, Pose: &fakePose{}, Renderer: &fakeRenderer{}})
	if _, err := f.Apply(&rawvideo.Frame{Width: 4, Height: 4, Stride: 12, Pix: make([]byte, 10)}); err == nil {
		t.Error("a short frame was accepted")
	}
	closed := 0
	f = New(Parts{Detector: &fakeDetector{}, Pose: &fakePose{}, Renderer: &fakeRenderer{},
		Closers: []func() error{func() error { closed++; return nil }}})
	if err := f.Close(); err != nil || closed != 1 {
		t.Fatalf("Close: %v, %d closers run", err, closed)
	}
	if err := f.Close(); err != nil || closed != 1 {
		t.Errorf("second Close: %v, %d closers run", err, closed)
	}
	if _, err := f.Apply(frame(t, 0)); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Apply after Close: %v", err)
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := DefaultOptions()
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Alpha = 1.5 }, "alpha 1.5"},
		{func(o *Options) { o.Alpha = -0.1 }, "alpha -0.1"},
		{func(o *Options) { o.Detector = "yolo.pt" }, `detector "yolo.pt"`},
		{func(o *Options) { o.Threads = -1 }, "threads -1"},
		{func(o *Options) { o.PoseWorkers = -2 }, "pose workers -2"},
		{func(o *Options) { o.Color = 7 }, "colour mode 7"},
	} {
		o := DefaultOptions()
		tc.mod(&o)
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check: %v, want an error with %q", err, tc.want)
		}
	}
	for s, want := range map[string]ColorMode{"": ColorDefault, "default": ColorDefault, "Track": ColorTrack} {
		if m, err := ParseColorMode(s); err != nil || m != want {
			t.Errorf("ParseColorMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseColorMode("rainbow"); err == nil || !strings.Contains(err.Error(), `"rainbow"`) {
		t.Errorf("ParseColorMode(rainbow): %v", err)
	}
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
