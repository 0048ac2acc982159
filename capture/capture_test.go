package capture

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// The test pattern comes as rgb24 frames of the size asked for: seven colour bars of 75%
// over the top three quarters (BT.601 limited range, so the first bar is 75% gray and the
// second yellow) and a gray ramp at the bottom left.
func TestTestSource(t *testing.T) {
	const w, h = 70, 48
	c, err := Open(TestSource, Options{Width: w, Height: h, Rate: rawvideo.Ratio{Num: 200, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Info(); got.Width != w || got.Height != h || got.PixFmt != rawvideo.RGB24 || got.Rate != (rawvideo.Ratio{Num: 200, Den: 1}) {
		t.Fatalf("info %+v: want %dx%d rgb24 at 200/1", got, w, h)
	}
	var f rawvideo.Frame
	for i := 0; i < 3; i++ {
		if err := c.Capture(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if f.Width != w || f.Height != h || len(f.Pix) != w*h*3 {
		t.Fatalf("frame %dx%d with %d bytes, want %dx%d", f.Width, f.Height, len(f.Pix), w, h)
	}
	// Y' 176 (235 at 75%), Cb = Cr = 128 in limited range: (176-16)*255/219 = 186.
	if r, g, b := f.At(0, 0); r != 186 || g != 186 || b != 186 {
		t.Errorf("first bar is %d,%d,%d, want 75%% gray 186,186,186", r, g, b)
	}
	if r, g, b := f.At(w*3/14, 0); !(r > 150 && g > 150 && b < 40) {
		t.Errorf("second bar is %d,%d,%d, want yellow", r, g, b)
	}
	for y := 0; y < h*3/4; y++ {
		for x := 1; x < w; x++ {
			if x*7/w == (x-1)*7/w && x%2 == 1 { // same bar, same chroma pair
				r0, g0, b0 := f.At(x-1, y)
				if r, g, b := f.At(x, y); r != r0 || g != g0 || b != b0 {
					t.Fatalf("pixel (%d, %d) differs from its left neighbour inside a bar", x, y)
				}
			}
		}
	}
	if r0, _, _ := f.At(0, h-1); r0 > 5 {
		t.Errorf("the ramp starts at %d, want black", r0)
	}
	if r1, _, _ := f.At(w*5/7-1, h-1); r1 < 240 {
		t.Errorf("the ramp ends at %d, want white", r1)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Capture(&f); err != io.EOF {
		t.Fatalf("Capture after Close: %v, want io.EOF", err)
	}
	// The driver can be opened again, at the default size and rate.
	c, err = Open(TestSource, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Capture(&f); err != nil || f.Width != DefaultWidth || f.Height != DefaultHeight || c.Info().Rate.Float() != DefaultRate {
		t.Fatalf("default test pattern: %v, %dx%d at %v", err, f.Width, f.Height, c.Info().Rate)
	}
}

func TestOpenErrors(t *testing.T) {
	noCams := len(cameras()) == 0
	for _, c := range []struct {
		name string
		o    Options
		want string
		only bool // only where no camera is plugged in
	}{
		{TestSource, Options{Width: 63, Height: 48}, "needs an even width", false},
		{TestSource, Options{Width: 64}, "want both positive, or neither", false},
		{TestSource, Options{Width: 40000, Height: 40000}, "over the", false},
		{TestSource, Options{Rate: rawvideo.Ratio{Num: 5000, Den: 1}}, "at most 1000 fps", false},
		{"webcam:x", Options{}, "want webcam:N", false},
		{"/dev/video-not-there", Options{}, "no such device", false},
		{"webcam", Options{}, "no cameras were found", true},
		{"webcam:7", Options{}, "no camera at /dev/video7", true},
	} {
		if c.only && !noCams {
			continue
		}
		if CameraDriver == "" && !strings.HasPrefix(c.name, TestSource) {
			c.want = "no camera driver"
		}
		cam, err := Open(c.name, c.o)
		if err == nil {
			cam.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q, %+v): %v, want an error containing %q", c.name, c.o, err, c.want)
		}
	}
}

// The V4L2 driver is built in wherever cgo is (CI included), and it finds what /dev holds.
func TestCameraDriver(t *testing.T) {
	if CameraDriver == "" {
		t.Skipf("no camera driver in this build: %s", noCameraDriver)
	}
	nodes, _ := filepath.Glob("/dev/video*")
	devs := Devices()
	t.Logf("%d device nodes, %d cameras found: %+v", len(nodes), len(devs), devs)
	if len(devs) != len(nodes) {
		t.Fatalf("%d cameras found for %d /dev/video* nodes", len(devs), len(nodes))
	}
}

func TestPick(t *testing.T) {
	ms := []Mode{
		{1280, 720, "MJPEG", 30}, {1280, 720, "YUYV", 10},
		{640, 480, "MJPEG", 30}, {640, 480, "YUYV", 30}, {640, 480, "YUYV", 15},
		{320, 240, "YUYV", 60}, {320, 240, "YUYV", 30},
	}
	for _, c := range []struct {
		o    Options
		want Mode
	}{
		{Options{}, Mode{640, 480, "YUYV", 30}},
		{Options{Width: 1280, Height: 720}, Mode{1280, 720, "MJPEG", 30}}, // the rate before the format
		{Options{Width: 1280, Height: 720, Rate: rawvideo.Ratio{Num: 10, Den: 1}}, Mode{1280, 720, "YUYV", 10}},
		{Options{Width: 320, Height: 240}, Mode{320, 240, "YUYV", 30}},
		{Options{Width: 320, Height: 240, Rate: rawvideo.Ratio{Num: 50, Den: 1}}, Mode{320, 240, "YUYV", 60}},
		{Options{Rate: rawvideo.Ratio{Num: 15, Den: 1}}, Mode{640, 480, "YUYV", 15}},
	} {
		got, err := pick(ms, c.o)
		if err != nil || got != c.want {
			t.Errorf("pick(%+v) = %v, %v; want %v", c.o, got, err, c.want)
		}
	}
	// Without 640x480, the nearest size in area.
	if got, _ := pick([]Mode{{1920, 1080, "YUYV", 5}, {800, 600, "YUYV", 20}, {160, 120, "YUYV", 30}}, Options{}); got != (Mode{800, 600, "YUYV", 20}) {
		t.Errorf("nearest size: %v, want 800x600", got)
	}
	if _, err := pick(ms, Options{Width: 800, Height: 600}); err == nil || !strings.Contains(err.Error(), "sizes offered: 1280x720, 640x480, 320x240") {
		t.Errorf("absent size: %v", err)
	}
	if _, err := pick(nil, Options{}); err == nil || !strings.Contains(err.Error(), "offers no video") {
		t.Errorf("no modes: %v", err)
	}
}

func TestRateOf(t *testing.T) {
	for fps, want := range map[float64]rawvideo.Ratio{
		30: {Num: 30, Den: 1}, 29.97: {Num: 30000, Den: 1001}, 59.94: {Num: 60000, Den: 1001},
		7.5: {Num: 7500, Den: 1000}, 0: {},
	} {
		if got := RateOf(fps); got != want {
			t.Errorf("RateOf(%v) = %v, want %v", fps, got, want)
		}
	}
}

func TestIsLive(t *testing.T) {
	for name, want := range map[string]bool{
		"testsrc": true, "webcam": true, "webcam:1": true, "/dev/video0": true, "/dev/v4l/by-id/usb-x": true,
		"in.mp4": false, "-": false, "./testsrc": false, "webcams": false,
	} {
		if IsLive(name) != want {
			t.Errorf("IsLive(%q) = %v", name, !want)
		}
	}
}
