//go:build cgo

package preview

import (
	"errors"
	"image"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// split returns a w x h frame whose left half is a and right half b.
func split(w, h int, a, b [3]byte) *rawvideo.Frame {
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		panic(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := a
			if x >= w/2 {
				c = b
			}
			copy(f.Pix[y*f.Stride+3*x:], c[:])
		}
	}
	return f
}

// count returns how many pixels of img are c (within 8 levels a channel) and their mean x.
func count(img *image.RGBA, c [3]byte) (n int, meanX float64) {
	near := func(a, b byte) bool { return a-b < 9 || b-a < 9 }
	sum := 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			p := img.RGBAAt(x, y)
			if near(p.R, c[0]) && near(p.G, c[1]) && near(p.B, c[2]) {
				n++
				sum += x
			}
		}
	}
	if n > 0 {
		meanX = float64(sum) / float64(n)
	}
	return n, meanX
}

// waitScreen reads the X server's screen until ok accepts it, for up to 5 s (the server draws
// what the window sends asynchronously), and returns the last screen read.
func waitScreen(t *testing.T, x *testenv.XServer, ok func(*image.RGBA) bool) (*image.RGBA, bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		img := x.Screen(t)
		if ok(img) {
			return img, true
		}
		if time.Now().After(deadline) {
			return img, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWindowShowsFrames opens a window on a virtual X server and checks on the server's own
// screen that the frames shown appear there, the right way round, one after the other.
func TestWindowShowsFrames(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	x := testenv.Xvfb(t, 400, 300)
	const w, h = 160, 120
	win, err := Open("meshpipe preview test", w, h)
	if err != nil {
		t.Fatal(err)
	}
	defer win.Close()
	red, blue, green := [3]byte{230, 20, 20}, [3]byte{20, 20, 230}, [3]byte{20, 200, 40}
	if err := win.Show(split(w, h, red, blue)); err != nil {
		t.Fatal(err)
	}
	half := w * h / 2
	img, ok := waitScreen(t, x, func(img *image.RGBA) bool {
		r, _ := count(img, red)
		b, _ := count(img, blue)
		return r >= half*9/10 && b >= half*9/10
	})
	r, rx := count(img, red)
	b, bx := count(img, blue)
	if !ok {
		t.Fatalf("the screen shows %d red and %d blue pixels, want about %d of each", r, b, half)
	}
	if rx >= bx {
		t.Errorf("red (mean x %.0f) is not left of blue (mean x %.0f): the frame is mirrored", rx, bx)
	}
	// The window's rows: where the first frame shows.
	winTop, winBottom := img.Rect.Max.Y, 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if p := img.RGBAAt(x, y); p.R > 150 || p.B > 150 {
				winTop, winBottom = min(winTop, y), max(winBottom, y)
			}
		}
	}
	// Top and bottom: a frame with its top half green shows green above the rest.
	top, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < h/2*top.Stride; i += 3 {
		copy(top.Pix[i:], green[:])
	}
	if err := win.Show(top); err != nil {
		t.Fatal(err)
	}
	img, ok = waitScreen(t, x, func(img *image.RGBA) bool { n, _ := count(img, green); return n >= half*9/10 })
	if !ok {
		n, _ := count(img, green)
		t.Fatalf("second frame: %d green pixels on the screen, want about %d", n, half)
	}
	minY, maxY := img.Rect.Max.Y, 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if p := img.RGBAAt(x, y); p.G > 150 && p.R < 60 {
				minY, maxY = min(minY, y), max(maxY, y)
			}
		}
	}
	if minY < winTop || maxY > winTop+h/2 {
		t.Errorf("green spans rows %d..%d; the window has rows %d..%d and green should fill its top half", minY, maxY, winTop, winBottom)
	}
	if win.Shown() != 2 {
		t.Errorf("Shown() = %d, want 2", win.Shown())
	}
	if err := win.Show(split(w+2, h, red, blue)); err == nil || !strings.Contains(err.Error(), "want 160x120") {
		t.Errorf("a frame of the wrong size: %v", err)
	}
}

func TestOpenWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	_, err := Open("x", 64, 48)
	if !errors.Is(err, ErrNoDisplay) || !strings.Contains(err.Error(), "DISPLAY is not set") {
		t.Errorf("Open without DISPLAY: %v, want ErrNoDisplay saying DISPLAY is not set", err)
	}
}

func TestOpenUnreachableDisplay(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.Setenv("DISPLAY", ":987")
	win, err := Open("x", 64, 48)
	if err == nil {
		win.Close()
		t.Fatal("Open on a display with no server succeeded")
	}
	if !strings.Contains(err.Error(), ":987") {
		t.Errorf("error %q does not name the display", err)
	}
}
