package stages

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/meshpipe/meshpipe/internal/fakes"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// OneFrame draws exactly what Run with Batch 1 writes, frame by frame: each frame's people go
// to the pose estimator as one batch of that frame alone, frames without people are left
// untouched and not rendered, and the pose writer sees every frame in order.
func TestOneFrameAsRunBatch1(t *testing.T) {
	const n = 40
	var out atomic.Int64
	runPoses := fakes.NewPoses()
	sink := &keepSink{}
	_, err := Run(context.Background(), Config{Detector: peopleDetector(), Pose: fakes.NewPose(nil), Batch: 1,
		Renderers: []Renderer{fakes.NewRenderer(nil), fakes.NewRenderer(nil)}, Poses: runPoses}, &stampedSource{n: n, out: &out}, sink)
	if err != nil {
		t.Fatal(err)
	}

	pose, r, poses := fakes.NewPose(nil), fakes.NewRenderer(nil), fakes.NewPoses()
	one, err := NewOneFrame(Config{Detector: peopleDetector(), Pose: pose, Renderers: []Renderer{r}, Poses: poses})
	if err != nil {
		t.Fatal(err)
	}
	src := &stampedSource{n: n, out: &out}
	f := &rawvideo.Frame{}
	drawn := 0
	for k := 0; k < n; k++ {
		if err := src.Read(f); err != nil {
			t.Fatal(err)
		}
		people, err := one.Run(f)
		if err != nil || people != k%4 {
			t.Fatalf("frame %d: %d people, %v; want %d", k, people, err, k%4)
		}
		if !bytes.Equal(f.Pix, sink.frames[k]) {
			t.Fatalf("frame %d differs from Run's", k)
		}
		if people > 0 {
			drawn++
		}
	}
	if r.Frames != drawn || drawn != n*3/4 {
		t.Errorf("rendered %d frames, %d had people; want %d", r.Frames, drawn, n*3/4)
	}
	batches, crops := pose.Batches()
	for i, b := range batches {
		if len(b) != 1 || crops[i] != int(b[0]%4) {
			t.Fatalf("pose run %d: frames %v with %d people; want one frame with all its people", i, b, crops[i])
		}
	}
	if len(batches) != drawn {
		t.Errorf("%d pose runs for %d frames with people", len(batches), drawn)
	}
	if len(poses.Frames) != n || !slices.Equal(poses.Frames, runPoses.Frames) {
		t.Errorf("pose records %v, Run's %v", poses.Frames, runPoses.Frames)
	}
}

// A failing or panicking stage comes back as that stage's error for that frame, leaves the
// frame as it was (unless rendering failed), and the next frame is drawn again.
func TestOneFrameFailures(t *testing.T) {
	for _, c := range []struct {
		stage string
		set   func(*fakes.Detector, *fakes.Pose, *fakes.Renderer, *fakes.Poses)
		want  string
	}{
		{"detect", func(d *fakes.Detector, _ *fakes.Pose, _ *fakes.Renderer, _ *fakes.Poses) { d.Fail = 5 }, "detect: frame 5: detector broke"},
		{"detect", func(d *fakes.Detector, _ *fakes.Pose, _ *fakes.Renderer, _ *fakes.Poses) { d.Panic = 5 }, "detect: frame 5: panic: runtime error: index out of range"},
		{"pose", func(_ *fakes.Detector, p *fakes.Pose, _ *fakes.Renderer, _ *fakes.Poses) { p.Fail = 5 }, "pose: frame 5: pose broke"},
		{"pose", func(_ *fakes.Detector, p *fakes.Pose, _ *fakes.Renderer, _ *fakes.Poses) { p.Panic = 5 }, "pose: frame 5: panic: assignment to entry in nil map"},
		{"render", func(_ *fakes.Detector, _ *fakes.Pose, r *fakes.Renderer, _ *fakes.Poses) { r.Fail = 5 }, "render: frame 5: renderer broke"},
		{"render", func(_ *fakes.Detector, _ *fakes.Pose, r *fakes.Renderer, _ *fakes.Poses) { r.Panic = 5 }, "render: frame 5: panic: runtime error: invalid memory address"},
		{"poses", func(_ *fakes.Detector, _ *fakes.Pose, _ *fakes.Renderer, w *fakes.Poses) { w.Fail = 5 }, "poses: frame 5: disk full"},
	} {
		d, p, r, w := fakes.NewDetector(), fakes.NewPose(nil), fakes.NewRenderer(nil), fakes.NewPoses()
		c.set(d, p, r, w)
		one, err := NewOneFrame(Config{Detector: d, Pose: p, Renderers: []Renderer{r}, Poses: w})
		if err != nil {
			t.Fatal(err)
		}
		var out atomic.Int64
		src := &stampedSource{n: 8, out: &out}
		f := &rawvideo.Frame{}
		for k := int64(0); k < 8; k++ {
			src.Read(f)
			people, err := one.Run(f)
			if k != 5 {
				if err != nil || people != 1 || f.Pix[8] != fakes.Mark {
					t.Fatalf("%s failing at 5: frame %d: %d people, %v", c.stage, k, people, err)
				}
				continue
			}
			var se *StageError
			if !errors.As(err, &se) || se.Stage != c.stage || se.Frame != 5 || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("frame 5: %v, want %q", err, c.want)
			}
			if marked := f.Pix[8] == fakes.Mark; marked != (c.stage == "poses") {
				t.Errorf("%s failing: frame 5 drawn on %v", c.stage, marked)
			}
		}
	}
	if _, err := NewOneFrame(Config{Detector: fakes.NewDetector(), Pose: fakes.NewPose(nil)}); err == nil {
		t.Error("a OneFrame without a renderer was made")
	}
}
