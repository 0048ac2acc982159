package pipeline

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// frameScene returns the benchmark's frame: COCO val2017 image 5001 (a crowd, 640x480, in
// ../shared/images) scaled by 1.5 (nearest pixel) to 960x720 and centred in a black 1280x720
// frame, with the boxes of its four largest people as YOLOX-Nano finds them.
func frameScene(b *testing.B) (*rawvideo.Frame, []human.Detection) {
	b.Helper()
	img := testenv.LoadImage(b, testenv.Shared(b, "images/000000005001.jpg"))
	f, err := rawvideo.NewFrame(1280, 720)
	if err != nil {
		b.Fatal(err)
	}
	const scale, left = 1.5, 160
	for y := 0; y < f.Height; y++ {
		for x := left; x < f.Width-left; x++ {
			sx, sy := min(int(float64(x-left)/scale), img.Width-1), min(int(float64(y)/scale), img.Height-1)
			copy(f.Pix[y*f.Stride+3*x:y*f.Stride+3*x+3], img.Pix[sy*img.Stride+3*sx:])
		}
	}
	s, err := ort.Open(testenv.Shared(b, "models/yolox_nano.onnx"), ort.Options{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	size, err := models.YOLOXInputSize(s.Input())
	if err != nil {
		b.Fatal(err)
	}
	dets, err := models.NewYOLOX(s, size).Detect(f)
	if err != nil {
		b.Fatal(err)
	}
	slices.SortFunc(dets, func(a, c human.Detection) int { return int(c.Box.Area() - a.Box.Area()) })
	if len(dets) < 4 {
		b.Fatalf("YOLOX-Nano found %d people in the scene, want at least 4", len(dets))
	}
	return f, dets[:4]
}

// fixedDetector gives the same people in every frame.
type fixedDetector []human.Detection

func (d fixedDetector) Detect(*rawvideo.Frame) ([]human.Detection, error) { return d, nil }

// repeatStream is an endless rgb24 stream of one frame's bytes.
type repeatStream struct {
	frame []byte
	off   int
}

func (r *repeatStream) Read(p []byte) (int, error) {
	n := copy(p, r.frame[r.off:])
	r.off = (r.off + n) % len(r.frame)
	return n, nil
}

// timedSink is a Sink that discards frames and times frames from..from+b.N-1 of a benchmark:
// it resets b's timer and allocation counters when frame from is written and stops them after
// frame from+b.N-1, then ends the graph with io.EOF. The benchmark's goroutine waits in
// stages.Run meanwhile, so b is used by one goroutine at a time.
type timedSink struct {
	b    *testing.B
	from int64
}

func (s *timedSink) Write(f *rawvideo.Frame) error {
	if f.Seq == s.from {
		s.b.ResetTimer()
	}
	if f.Seq == s.from+int64(s.b.N)-1 {
		s.b.StopTimer()
		return io.EOF
	}
	return nil
}

// BenchmarkFramePoseRender reports what meshpipe allocates on the Go heap per frame in steady
// state, for a 1280x720 frame with four people (frameScene), with meshpipe's default pose model
// (BlazePose full with its detector, on ONNX Runtime with one intra-op thread) and renderer
// (gl.Renderer with DefaultSamples, through meshRenderer):
//   - pose: one frame's people through the pose model, as a pose worker runs them;
//   - render: one frame's meshes drawn by one render worker;
//   - graph: the whole stage graph (stages.Run with 2 pose workers, batch 4, 4 render workers
//     and the tracker; the detector gives the four boxes, read is rawvideo over memory, write
//     discards), timed from frame 2*in-flight on, so that the jobs' frame buffers and the
//     workers' first-frame buffers are already made.
//
// One op is one frame: allocs/op and B/op (-benchmem) are per frame, ns/op is a frame's time
// (the graph's: its throughput, with pose and render overlapping).
//
//	go test ./pipeline -run '^$' -bench FramePoseRender -benchmem -benchtime 20x
func BenchmarkFramePoseRender(b *testing.B) {
	if err := ort.Init(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	scene, dets := frameScene(b)
	opt := ort.Options{IntraOpThreads: 1}
	open := func(name string) *ort.Session {
		s, err := ort.Open(testenv.Deps(b, "models/"+name), opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	body := models.Mannequin()
	bp := models.NewBlazePose("blazepose-full", open(models.BlazePoseFile("full")), body,
		models.BlazePoseOptions{Detector: open(models.BlazePoseDetectorFile)})
	renderers := make([]stages.Renderer, 4)
	for i := range renderers {
		r, err := gl.NewRendererOptions(body.Faces, body.VertexCount(), gl.Options{Samples: gl.DefaultSamples})
		if err != nil && strings.Contains(err.Error(), "no usable EGL") {
			b.Skipf("no EGL on this machine: %v", err)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		renderers[i] = &meshRenderer{r: r, alpha: 1, trackColors: true}
	}

	b.Run("pose", func(b *testing.B) {
		frames, batch, people := []*rawvideo.Frame{scene}, [][]human.Detection{dets}, make([][]human.Person, 1)
		if err := bp.EstimateInto(frames, batch, people); err != nil { // warm up
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			people[0] = people[0][:0]
			if err := bp.EstimateInto(frames, batch, people); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("render", func(b *testing.B) {
		people, err := bp.EstimateBatch([]*rawvideo.Frame{scene}, [][]human.Detection{dets})
		if err != nil {
			b.Fatal(err)
		}
		f, _ := rawvideo.NewFrame(scene.Width, scene.Height)
		r := renderers[0]
		if err := r.Render(f, people[0]); err != nil { // sizes the framebuffers
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			copy(f.Pix, scene.Pix)
			if err := r.Render(f, people[0]); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("graph", func(b *testing.B) {
		cfg := stages.Config{Detector: fixedDetector(dets), Tracker: models.NewTracker(), Pose: bp,
			PoseWorkers: 2, Batch: 4, Renderers: renderers}
		src, err := rawvideo.NewReader(&repeatStream{frame: scene.Pix}, scene.Width, scene.Height)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		sink := &timedSink{b: b, from: int64(2 * cfg.FramesInFlight())}
		if _, err := stages.Run(b.Context(), cfg, src, sink); !errors.Is(err, io.EOF) {
			b.Fatalf("the graph ended with %v, want the sink's io.EOF after frame %d", err, sink.from+int64(b.N)-1)
		}
	})
}
