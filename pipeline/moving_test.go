package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// sameBoxIoU is the box overlap from which a person drawn in one run is taken to be the same
// person as one drawn in another run on the same pixels.
const sameBoxIoU = 0.5

// vtestFrames decodes n frames of vtest.avi from frame first on, as rgb24 frames (768x576).
func vtestFrames(t *testing.T, first, n int) []*rawvideo.Frame {
	t.Helper()
	var frames []*rawvideo.Frame
	k := 0
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), first+n, func(f *rawvideo.Frame) {
		if k >= first {
			c := &rawvideo.Frame{}
			c.CopyFrom(f)
			frames = append(frames, c)
		}
		k++
	})
	return frames
}

// drawnPeople runs frames (all of one size, packed rgb24) through the stage graph with
// meshpipe's defaults (NanoDet-g, BlazePose full with pose tracking every
// models.DefaultDetectEvery frames, smoothing, hold; no rendering), fresh parts for each run,
// and returns what it drew per frame.
func drawnPeople(t *testing.T, frames []*rawvideo.Frame) *drawtest.Posed {
	t.Helper()
	testenv.Deps(t, "models/"+models.NanoDetFile)
	testenv.Deps(t, "models/"+models.BlazePoseFile("full"))
	p, err := open(t, func(o *Options) { o.PoseModel, o.Detector, o.NoRender = "", "", true })
	if err != nil {
		t.Fatal(err)
	}
	w, h := frames[0].Width, frames[0].Height
	var raw bytes.Buffer
	for _, f := range frames {
		for y := 0; y < h; y++ {
			raw.Write(f.Pix[y*f.Stride : y*f.Stride+3*w])
		}
	}
	src, err := rawvideo.NewReader(&raw, w, h)
	if err != nil {
		t.Fatal(err)
	}
	posed := &drawtest.Posed{}
	cfg := p.Config
	cfg.Poses = posed
	stats, err := stages.Run(context.Background(), cfg, src, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Frames != int64(len(frames)) || len(posed.Drawn) != len(frames) {
		t.Fatalf("%d frames run, %d recorded, want %d", stats.Frames, len(posed.Drawn), len(frames))
	}
	return posed
}

// crop returns the w x h window of f whose top-left corner is (x, y), as a new frame.
func crop(t *testing.T, f *rawvideo.Frame, x, y, w, h int) *rawvideo.Frame {
	t.Helper()
	c, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < h; r++ {
		copy(c.Pix[r*c.Stride:r*c.Stride+3*w], f.Pix[(y+r)*f.Stride+3*x:])
	}
	c.Seq = f.Seq
	return c
}

// bestMatch returns the highest IoU of b with any of boxes, and that box (the zero box when
// there is none).
func bestMatch(b human.Box, boxes []human.Box) (float32, human.Box) {
	var best float32
	var at human.Box
	for _, o := range boxes {
		if v := human.IoU(b, o); v > best {
			best, at = v, o
		}
	}
	return best, at
}

// A camera that pans: a 512x384 window moving steadily across 80 frames of vtest.avi, from
// its top-left corner to its bottom-right (3.2 pixels a frame right, 2.4 down), run with the
// defaults, draws the people that the fixed camera (the same frames uncropped) draws: of the
// fixed run's drawn people whose boxes, moved into the window, lie wholly inside it, at least
// 90% have a drawn box in the window with an IoU of at least 0.5. Skipped with -short: two runs of
// 80 frames through NanoDet-g and BlazePose (about 50 s on two cores).
func TestPanningCameraDrawsPeople(t *testing.T) {
	if testing.Short() {
		t.Skip("160 frames through NanoDet-g and BlazePose full; make test runs it")
	}
	const first, n, winW, winH = 100, 80, 512, 384
	full := vtestFrames(t, first, n)
	fw, fh := full[0].Width, full[0].Height
	offset := func(k int) (x, y int) {
		return ((fw-winW)*k*2/(n-1) + 1) / 2, ((fh-winH)*k*2/(n-1) + 1) / 2
	}
	panned := make([]*rawvideo.Frame, n)
	for k, f := range full {
		x, y := offset(k)
		panned[k] = crop(t, f, x, y, winW, winH)
	}
	fixed := drawnPeople(t, full)
	moving := drawnPeople(t, panned)

	want, found := 0, 0
	var missed []string
	for k := 0; k < n; k++ {
		x, y := offset(k)
		dx, dy := float32(x), float32(y)
		for _, b := range fixed.Drawn[k] {
			m := human.Box{X1: b.X1 - dx, Y1: b.Y1 - dy, X2: b.X2 - dx, Y2: b.Y2 - dy}
			if m.X1 < 0 || m.Y1 < 0 || m.X2 > winW || m.Y2 > winH {
				continue
			}
			want++
			iou, at := bestMatch(m, moving.Drawn[k])
			if iou >= sameBoxIoU {
				found++
				continue
			}
			_, other := bestMatch(m, moving.All[k])
			missed = append(missed, fmt.Sprintf("frame %d (vtest %d): box %v in the window; best drawn IoU %.2f (%v); nearest box of any status %v",
				k, first+k, m, iou, at, other))
		}
	}
	if want == 0 {
		t.Fatal("the fixed camera drew nobody inside the window: the check would show nothing")
	}
	ratio := float64(found) / float64(want)
	t.Logf("panning window: %d of %d people drawn by the fixed camera inside the window drawn (%.3f)", found, want, ratio)
	for _, m := range missed {
		t.Logf("missed: %s", m)
	}
	if ratio < 0.9 {
		t.Errorf("panning window drew %.3f of the fixed camera's people, want at least 0.9", ratio)
	}
}

// A person who stands still stays drawn: vtest.avi's frame 0 repeated 100 times (a still
// camera on people who do not move), run with the defaults, draws each person that the frame
// run alone draws (a box with an IoU of at least 0.5) on at least 90 of the 100 frames. With
// pose tracking the detector runs every 10 frames and each person's region comes from their
// own landmarks between runs; a still person must not drift away or be dropped. Skipped with
// -short: 101 frames through NanoDet-g and BlazePose (about 12 s on two cores, three times the
// rest of the package's short run).
func TestStillPersonStaysDrawn(t *testing.T) {
	if testing.Short() {
		t.Skip("101 frames through NanoDet-g and BlazePose full; make test runs it")
	}
	const n = 100
	still := vtestFrames(t, 0, 1)[0]
	alone := drawnPeople(t, []*rawvideo.Frame{still})
	if len(alone.Drawn[0]) == 0 {
		t.Fatal("vtest.avi's frame 0 alone draws nobody: the check would show nothing")
	}
	frames := make([]*rawvideo.Frame, n)
	for k := range frames {
		frames[k] = &rawvideo.Frame{}
		frames[k].CopyFrom(still)
		frames[k].Seq = int64(k)
	}
	repeated := drawnPeople(t, frames)
	for i, b := range alone.Drawn[0] {
		drawn := 0
		var missedAt []int
		for k := 0; k < n; k++ {
			if iou, _ := bestMatch(b, repeated.Drawn[k]); iou >= sameBoxIoU {
				drawn++
			} else {
				missedAt = append(missedAt, k)
			}
		}
		ratio := float64(drawn) / n
		t.Logf("person %d (box %v): drawn on %d of %d frames (%.2f); not on frames %v", i, b, drawn, n, ratio, missedAt)
		if ratio < 0.9 {
			t.Errorf("person %d (box %v) drawn on %.2f of the frames, want at least 0.9", i, b, ratio)
		}
	}
}
