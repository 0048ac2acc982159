// Package drawtest holds the checks that the end-to-end tests of meshpipe, its frei0r filter and
// its stream formats share: where the people of a frame are (the detector meshpipe runs, run
// again in the test on the same frames), and whether the output frames are drawn where those
// people are and untouched everywhere else.
package drawtest

import (
	"bytes"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Boxes records the person boxes that a detector (a fresh models.BackgroundSubtractor unless
// told otherwise) finds in each frame it is given, in frame order. Frames must come in stream
// order, as meshpipe sees them.
type Boxes struct {
	det models.Detector
	// PerFrame holds frame k's boxes at index k (empty for a frame without people).
	PerFrame [][]human.Box
}

// NewBoxes returns an empty recorder with the default background subtractor (-detector bgsub).
func NewBoxes() *Boxes { return NewBoxesOf(models.NewBackgroundSubtractor()) }

// NewBoxesOf returns an empty recorder that runs det, a detector of the test's own (such as
// the NanoDet that meshpipe runs by default, over a session of the test's).
func NewBoxesOf(det models.Detector) *Boxes { return &Boxes{det: det} }

// Add runs the detector on f and records its boxes; a detector error fails the test.
func (b *Boxes) Add(t testing.TB, f *rawvideo.Frame) {
	t.Helper()
	dets, err := b.det.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	var bs []human.Box
	for _, d := range dets {
		bs = append(bs, d.Box)
	}
	b.PerFrame = append(b.PerFrame, bs)
}

// CropReach is where the HMR2 stand-in draws a person: inside the person's crop window
// (models.WindowOf), give or take 2 pixels.
func CropReach(b human.Box) models.Window {
	w := models.WindowOf(b)
	w.Side += 4
	return w
}

// BodyReach is where a pose model that follows the person (BlazePose, HMR2) may draw them: a
// body stays within BlazePose's region of interest, 1.25 times the box's longer side around the
// box's centre; twice that side leaves room for the fit of the camera translation.
func BodyReach(b human.Box) models.Window {
	return models.Window{CX: (b.X1 + b.X2) / 2, CY: (b.Y1 + b.Y2) / 2, Side: 2 * max(b.Width(), b.Height())}
}

// BodyShare is the share of a person's box that a posed body surely covers, as the divisor
// Check takes: a body covers less of its box than the stand-in does, and background
// subtraction sometimes gives two people walking together one box, of whom one is drawn.
const BodyShare = 20

// Check compares rgb24 output frames with the input frames (w x h, packed, one after another):
// every pixel outside the square reach gives for each of the frame's boxes must be unchanged,
// and inside each box at least 1/minDiv of the pixels must have changed. It fails the test on
// the first pixel changed away from everyone, when the sizes or frame counts differ, or when no
// frame holds a person (the check would show nothing). It logs and returns how many people it
// checked.
func Check(t testing.TB, in, out []byte, w, h int, boxes [][]human.Box, reach func(human.Box) models.Window, minDiv int) (people int) {
	t.Helper()
	n := w * h * 3
	if len(out) != len(in) {
		t.Fatalf("%d bytes out for %d bytes in (%d frames in)", len(out), len(in), len(in)/n)
	}
	if len(boxes) != len(in)/n {
		t.Fatalf("boxes for %d frames, %d frames in", len(boxes), len(in)/n)
	}
	drawnPeople := 0
	inside := make([]bool, w*h)
	for k := 0; k < len(in)/n; k++ {
		fi, fo := in[k*n:(k+1)*n], out[k*n:(k+1)*n]
		clear(inside)
		for _, b := range boxes[k] {
			win := reach(b)
			x0, x1 := int(win.CX-win.Side/2), int(win.CX+win.Side/2)
			y0, y1 := int(win.CY-win.Side/2), int(win.CY+win.Side/2)
			for y := max(y0, 0); y < min(y1, h); y++ {
				for x := max(x0, 0); x < min(x1, w); x++ {
					inside[y*w+x] = true
				}
			}
		}
		for i := 0; i < w*h; i++ {
			if !inside[i] && !bytes.Equal(fi[3*i:3*i+3], fo[3*i:3*i+3]) {
				t.Fatalf("frame %d: pixel (%d, %d) changed, away from every person", k, i%w, i/w)
			}
		}
		for _, b := range boxes[k] {
			changed, total := 0, 0
			for y := max(int(b.Y1), 0); y < min(int(b.Y2), h); y++ {
				for x := max(int(b.X1), 0); x < min(int(b.X2), w); x++ {
					total++
					if i := 3 * (y*w + x); !bytes.Equal(fi[i:i+3], fo[i:i+3]) {
						changed++
					}
				}
			}
			if changed < total/minDiv {
				t.Errorf("frame %d: only %d of %d pixels drawn in the box %v", k, changed, total, b)
			}
			drawnPeople++
		}
	}
	if drawnPeople == 0 {
		t.Fatal("no person in any frame: the test shows nothing")
	}
	t.Logf("%d frames, %d people drawn", len(in)/n, drawnPeople)
	return drawnPeople
}

// RGBAPattern is a w x h RGBA8888 image with varied colours and alpha bytes, for the frei0r
// filter's tests.
func RGBAPattern(w, h int) []byte {
	b := make([]byte, 4*w*h)
	for i := range b {
		b[i] = byte(i*31 + i/7)
	}
	return b
}

// CheckRGBA checks dst, the w x h RGBA8888 image src with a whole-frame person drawn over it:
// every pixel keeps src's alpha byte, and at least 1/minDiv of the pixels changed colour. It
// fails the test otherwise.
func CheckRGBA(t testing.TB, src, dst []byte, w, h, minDiv int) {
	t.Helper()
	changed := 0
	for i := 0; i < w*h; i++ {
		if dst[4*i+3] != src[4*i+3] {
			t.Fatalf("pixel %d: alpha %d, want the input's %d", i, dst[4*i+3], src[4*i+3])
		}
		if !bytes.Equal(dst[4*i:4*i+3], src[4*i:4*i+3]) {
			changed++
		}
	}
	if changed < w*h/minDiv {
		t.Errorf("%d of %d pixels drawn on, want at least 1/%d: the whole-frame person should show", changed, w*h, minDiv)
	}
}
