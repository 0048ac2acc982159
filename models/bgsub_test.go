package models_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// TestBackgroundSubtractorVTest compares the background subtractor with YOLOX on vtest.avi.
// Figures when written (defaults): frames 100-140, recall 0.96, precision 0.98, mean IoU 0.64;
// frames 50-99, recall 0.95, precision 0.97.
func TestBackgroundSubtractorVTest(t *testing.T) {
	const (
		frames    = 141 // 0..140
		tallPx    = 60  // YOLOX people at least this tall must be found
		minIoU    = 0.3
		minRecall = 0.85
		minPrec   = 0.85
	)
	y := openYOLOX(t)
	bg := models.NewBackgroundSubtractor()
	type score struct {
		tall, found, boxes, right int
		iouSum                    float64
	}
	var early, late score // frames 50..99, 100..140
	var bgTime, yTime time.Duration
	bgFrames, yFrames := 0, 0
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), frames, func(f *rawvideo.Frame) {
		start := time.Now()
		got, err := bg.Detect(f)
		if err != nil {
			t.Fatalf("frame %d: %v", f.Seq, err)
		}
		bgTime += time.Since(start)
		bgFrames++
		if f.Seq < 50 {
			return
		}
		start = time.Now()
		people, err := y.Detect(f)
		if err != nil {
			t.Fatalf("frame %d: %v", f.Seq, err)
		}
		yTime += time.Since(start)
		yFrames++
		s := &late
		if f.Seq < 100 {
			s = &early
		}
		for _, p := range people {
			if p.Box.Height() < tallPx {
				continue
			}
			s.tall++
			best := float32(0)
			for _, q := range got {
				best = max(best, human.IoU(p.Box, q.Box))
			}
			if best >= minIoU {
				s.found++
				s.iouSum += float64(best)
			}
		}
		for _, q := range got {
			s.boxes++
			for _, p := range people {
				if human.IoU(p.Box, q.Box) >= minIoU {
					s.right++
					break
				}
			}
			if q.Score <= 0 || q.Score > 1 || q.Box.X1 < 0 || q.Box.Y1 < 0 || q.Box.X2 > 768 || q.Box.Y2 > 576 || q.Box.Area() <= 0 {
				t.Errorf("frame %d: bad detection %+v", f.Seq, q)
			}
		}
	})
	for _, c := range []struct {
		name string
		s    score
	}{{"frames 50-99", early}, {"frames 100-140", late}} {
		t.Logf("%s: YOLOX people >= %d px tall found by background subtraction (IoU >= %.1f): %d/%d = %.2f (mean IoU %.2f); background boxes on a YOLOX person: %d/%d = %.2f",
			c.name, tallPx, minIoU, c.s.found, c.s.tall, fraction(c.s.found, c.s.tall), c.s.iouSum/float64(max(1, c.s.found)),
			c.s.right, c.s.boxes, fraction(c.s.right, c.s.boxes))
	}
	t.Logf("per frame (768x576): background subtraction %.2f ms, YOLOX %.1f ms", millis(bgTime)/float64(bgFrames), millis(yTime)/float64(yFrames))
	if late.tall < 100 {
		t.Fatalf("only %d tall YOLOX people on frames 100-140; the comparison needs more", late.tall)
	}
	if r := fraction(late.found, late.tall); r < minRecall {
		t.Errorf("frames 100-140: background subtraction found %.2f of YOLOX's people, want >= %.2f", r, minRecall)
	}
	if p := fraction(late.right, late.boxes); p < minPrec {
		t.Errorf("frames 100-140: %.2f of background boxes lie on a YOLOX person, want >= %.2f", p, minPrec)
	}
}

func fraction(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// texturedFrame returns a w x h frame of a static pattern (values 40..139), plus noise of
// +-noise grey levels drawn from rng.
func texturedFrame(t *testing.T, w, h, noise int, rng *rand.Rand) *rawvideo.Frame {
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := 40 + (x*7+y*13+c*31)%100
				if noise > 0 {
					v += rng.IntN(2*noise+1) - noise
				}
				f.Pix[y*f.Stride+3*x+c] = byte(v)
			}
		}
	}
	return f
}

// fillRect paints box (frame pixels, integer corners) in grey level v.
func paintBox(f *rawvideo.Frame, b human.Box, v byte) {
	for y := int(b.Y1); y < int(b.Y2); y++ {
		for x := int(b.X1); x < int(b.X2); x++ {
			i := y*f.Stride + 3*x
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = v, v, v
		}
	}
}

func TestBackgroundSubtractorMovingRectangle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bg := models.NewBackgroundSubtractor()
	// A still, slightly noisy scene past the warm-up: never a box.
	for i := 0; i < 80; i++ {
		got, err := bg.Detect(texturedFrame(t, 322, 241, 4, rng))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("still frame %d: %d boxes %v, want none", i, len(got), got)
		}
	}
	// A bright 18x50 rectangle walks right 5 px a frame: one box on it each frame.
	for i := 0; i < 30; i++ {
		f := texturedFrame(t, 322, 241, 4, rng)
		x := float32(21 + 5*i)
		r := human.Box{X1: x, Y1: 101, X2: x + 18, Y2: 151}
		paintBox(f, r, 250)
		got, err := bg.Detect(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || human.IoU(got[0].Box, r) < 0.6 {
			t.Fatalf("moving frame %d: boxes %v, want one on %v", i, got, r)
		}
	}
	// It stops at the bottom-right corner, partly outside the 4x4 blocks of a 322x241 frame:
	// the box stays inside the frame.
	r := human.Box{X1: 302, Y1: 191, X2: 322, Y2: 241}
	f := texturedFrame(t, 322, 241, 4, rng)
	paintBox(f, r, 250)
	got, err := bg.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || human.IoU(got[0].Box, r) < 0.6 || got[0].Box.X2 > 322 || got[0].Box.Y2 > 241 {
		t.Fatalf("corner: boxes %v, want one on %v inside 322x241", got, r)
	}
}

func TestBackgroundSubtractorStill(t *testing.T) {
	bg := models.NewBackgroundSubtractor()
	f := texturedFrame(t, 160, 120, 0, nil)
	for i := 0; i < 100; i++ {
		f.Seq = int64(i)
		got, err := bg.Detect(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("frame %d: %v, want no boxes", i, got)
		}
	}
}

func TestBackgroundSubtractorShapeFilters(t *testing.T) {
	bg := models.NewBackgroundSubtractor()
	base := texturedFrame(t, 320, 240, 0, nil)
	for i := 0; i < 70; i++ {
		if _, err := bg.Detect(base); err != nil {
			t.Fatal(err)
		}
	}
	f := &rawvideo.Frame{}
	f.CopyFrom(base)
	paintBox(f, human.Box{X1: 20, Y1: 20, X2: 120, Y2: 60}, 250)    // wide: not a person
	paintBox(f, human.Box{X1: 200, Y1: 20, X2: 208, Y2: 28}, 250)   // small
	paintBox(f, human.Box{X1: 200, Y1: 100, X2: 224, Y2: 180}, 250) // a person
	got, err := bg.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	want := human.Box{X1: 200, Y1: 100, X2: 224, Y2: 180}
	if len(got) != 1 || human.IoU(got[0].Box, want) < 0.9 {
		t.Fatalf("boxes %v, want only %v", got, want)
	}
	if got[0].Score < 0.9 {
		t.Errorf("a filled rectangle scored %v, want a fill ratio near 1", got[0].Score)
	}
}

func TestBackgroundSubtractorErrors(t *testing.T) {
	f, _ := rawvideo.NewFrame(64, 48)
	bg := models.NewBackgroundSubtractor()
	if _, err := bg.Detect(nil); err == nil || !strings.Contains(err.Error(), "nil frame") {
		t.Errorf("nil frame: %v", err)
	}
	short := &rawvideo.Frame{Width: 64, Height: 48, Stride: 192, Pix: make([]byte, 10)}
	if _, err := bg.Detect(short); err == nil || !strings.Contains(err.Error(), "need 9216") {
		t.Errorf("short frame: %v", err)
	}
	bad := models.NewBackgroundSubtractor()
	bad.Scale = 0
	if _, err := bad.Detect(f); err == nil || !strings.Contains(err.Error(), "Scale 0") {
		t.Errorf("Scale 0: %v", err)
	}
	bad = models.NewBackgroundSubtractor()
	bad.MaxAspect = 0
	if _, err := bad.Detect(f); err == nil || !strings.Contains(err.Error(), "MaxAspect") {
		t.Errorf("MaxAspect 0: %v", err)
	}
	// A new frame size restarts the model: its first frame finds nothing.
	if _, err := bg.Detect(f); err != nil {
		t.Fatal(err)
	}
	g := texturedFrame(t, 100, 80, 0, nil)
	got, err := bg.Detect(g)
	if err != nil || len(got) != 0 {
		t.Fatalf("new size: %v, %v; want no boxes and no error", got, err)
	}
	// Scale 1 works on full-size frames.
	one := models.NewBackgroundSubtractor()
	one.Scale = 1
	for i := 0; i < 3; i++ {
		if _, err := one.Detect(g); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBackgroundSubtractorAllocs(t *testing.T) {
	bg := models.NewBackgroundSubtractor()
	a := texturedFrame(t, 320, 240, 0, nil)
	b := &rawvideo.Frame{}
	b.CopyFrom(a)
	paintBox(b, human.Box{X1: 100, Y1: 100, X2: 124, Y2: 180}, 250)
	for i := 0; i < 70; i++ {
		if _, err := bg.Detect(a); err != nil {
			t.Fatal(err)
		}
	}
	// One allocation: the returned slice.
	if n := testing.AllocsPerRun(10, func() {
		if _, err := bg.Detect(b); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Detect allocates %v times a frame, want at most 1", n)
	}
}
