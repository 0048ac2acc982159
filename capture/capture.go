// Package capture opens live video sources through github.com/pion/mediadevices — V4L2
// cameras (its camera driver) and its test-pattern driver (videotest) — and hands their
// frames over as rgb24 rawvideo.Frames, converted once, into the caller's buffer. A Camera is
// a stages.Camera, for stages.Live.
//
// The camera driver is Linux's V4L2 through cgo (it includes <linux/videodev2.h>, from
// Debian's linux-libc-dev); built without cgo, or for another system, only the test pattern
// is there (CameraDriver says which). The driver looks for cameras once, when the program
// starts (mediadevices registers them from its package init): /dev/v4l/by-id/*,
// /dev/v4l/by-path/* and /dev/video*. This package has no cgo of its own.
package capture

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/camera"    // V4L2 cameras (linux && cgo); registers them at start
	_ "github.com/pion/mediadevices/pkg/driver/videotest" // the test pattern; registers at start
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// TestSource is the name of the test-pattern source: mediadevices' videotest driver, 4:2:2
// colour bars over a gray ramp and a patch of noise, at any size with an even width and at
// any rate, paced by a ticker as a camera is.
const TestSource = "testsrc"

// The test pattern's defaults, and the size a camera is asked for when none is given (or the
// nearest it offers).
const (
	DefaultWidth, DefaultHeight = 640, 480
	DefaultRate                 = 30
)

// IsLive reports whether an input name (-i) is a live source: TestSource, "webcam",
// "webcam:N", or a V4L2 device path (/dev/video*, /dev/v4l/...). A file by one of these
// names is reached as ./NAME.
func IsLive(name string) bool {
	return name == TestSource || name == "webcam" || strings.HasPrefix(name, "webcam:") ||
		strings.HasPrefix(name, "/dev/video") || strings.HasPrefix(name, "/dev/v4l/")
}

// Options are what is asked of a live source; zero fields leave the choice to Open.
type Options struct {
	// Width and Height are the frame size in pixels (-s); 0 for the default.
	Width, Height int
	// Rate is the frame rate (-r); zero for the default.
	Rate rawvideo.Ratio
}

// Mode is one way a camera can deliver frames.
type Mode struct {
	// Width and Height are the frame size in pixels.
	Width, Height int
	// Format is the camera's pixel format as mediadevices names it: "YUYV" (4:2:2), "UYVY"
	// (4:2:2), "I420", "NV12", "NV21" (4:2:0) or "MJPEG" (JPEG frames, full range).
	Format string
	// FPS is the frame rate in frames per second; 0 when the camera does not say.
	FPS float64
}

// String writes the mode as "YUYV 640x480 at 30 fps" (without the rate when it is unknown).
func (m Mode) String() string {
	s := fmt.Sprintf("%s %dx%d", m.Format, m.Width, m.Height)
	if m.FPS > 0 {
		s += " at " + strconv.FormatFloat(m.FPS, 'g', 6, 64) + " fps"
	}
	return s
}

// Device is a camera found at start.
type Device struct {
	// Node is the device node's name, "video0" for /dev/video0: "webcam:0" opens it.
	Node string
	// Path is the device node, /dev/video0.
	Path string
	// Link is the name of the /dev/v4l/by-id or /dev/v4l/by-path link it was found under
	// (e.g. usb-Vendor_Camera-video-index0), or "" when it was found as /dev/videoN.
	Link string
	// Name is what the driver calls it: the card name and bus, when the device said.
	Name string
	// Modes are the sizes, rates and formats it offers that meshpipe reads, in the driver's
	// order; empty for a node that delivers no video (a UVC camera's metadata node).
	Modes []Mode
	// Err is why the modes could not be read (the device is busy, or gone), else nil.
	Err error
}

// decodable lists the camera formats whose frames come out as *image.YCbCr or *image.Gray,
// which rawvideo.Frame.FromImage converts; the first are cheaper (no JPEG decoding).
var decodable = []frame.Format{frame.FormatYUYV, frame.FormatYUY2, frame.FormatUYVY, frame.FormatI420,
	frame.FormatNV12, frame.FormatNV21, frame.FormatMJPEG}

// cameras returns the camera drivers mediadevices registered, by device node name.
func cameras() []driver.Driver {
	var ds []driver.Driver
	for _, d := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
		if d.Info().Label != videotestLabel {
			ds = append(ds, d)
		}
	}
	slices.SortFunc(ds, func(a, b driver.Driver) int { return compareNodes(node(a), node(b)) })
	return ds
}

// videotestLabel is the label mediadevices' videotest driver registers under.
const videotestLabel = "VideoTest"

// node returns the device node name ("video0") of a camera driver: its label is
// "<name found>;<node>" (camera.LabelSeparator).
func node(d driver.Driver) string {
	l := d.Info().Label
	return l[strings.LastIndex(l, ";")+1:]
}

// compareNodes orders "video2" before "video10".
func compareNodes(a, b string) int {
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "video"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "video"))
	if ea == nil && eb == nil && na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

// Devices returns the cameras found when the program started, each with the modes it offers,
// ordered by node number. Reading a camera's modes opens it for a moment; a camera that cannot
// be opened (busy, gone) comes back with Err set.
func Devices() []Device {
	var out []Device
	for _, d := range cameras() {
		dev := Device{Node: node(d), Name: strings.Trim(strings.ReplaceAll(d.Info().Name, ";", " "), " ")}
		label := d.Info().Label
		dev.Path = "/dev/" + dev.Node
		if first := label[:max(strings.Index(label, ";"), 0)]; first != dev.Node {
			dev.Link = first // mediadevices keeps only the link's base name
		}
		if err := d.Open(); err != nil {
			dev.Err = err
		} else {
			dev.Modes = modes(d.Properties())
			d.Close()
		}
		out = append(out, dev)
	}
	return out
}

// modes keeps the video properties in formats meshpipe reads.
func modes(ps []prop.Media) []Mode {
	var ms []Mode
	for _, p := range ps {
		if !slices.Contains(decodable, p.FrameFormat) || p.Width <= 0 || p.Height <= 0 {
			continue
		}
		m := Mode{Width: p.Width, Height: p.Height, Format: string(p.FrameFormat), FPS: float64(p.FrameRate)}
		if !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	return ms
}

// Camera is an open live source. One goroutine captures from it (stages.Live's).
type Camera struct {
	name   string // what was asked for: "testsrc", "webcam:0", "/dev/video0"
	node   string // the device node, "" for the test pattern
	d      driver.Driver
	r      video.Reader
	mode   Mode
	rate   rawvideo.Ratio
	full   bool // Y'CbCr in full range (MJPEG)
	frames int64
}

// Open opens a live source by name (see IsLive) and starts it: TestSource at o's size
// (default DefaultWidth x DefaultHeight; the width must be even) and rate (default
// DefaultRate); "webcam" (the first camera found that delivers video), "webcam:N"
// (/dev/videoN) or a device path, in the mode that best fits o (see pick). Errors say what
// was looked for and what there is.
func Open(name string, o Options) (*Camera, error) {
	if o.Width < 0 || o.Height < 0 || (o.Width == 0) != (o.Height == 0) {
		return nil, fmt.Errorf("%s: size %dx%d: want both positive, or neither", name, o.Width, o.Height)
	}
	if name == TestSource {
		return openTestSource(o)
	}
	d, err := findCamera(name)
	if err != nil {
		return nil, err
	}
	c := &Camera{name: name, node: node(d), d: d}
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("%s (/dev/%s): %w", name, c.node, err)
	}
	ms := modes(d.Properties())
	m, err := pick(ms, o)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%s (/dev/%s): %w", name, c.node, err)
	}
	c.mode, c.full = m, m.Format == frame.FormatMJPEG
	c.rate = o.Rate
	if c.rate.IsZero() {
		c.rate = RateOf(m.FPS)
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// findCamera returns the camera driver that name asks for.
func findCamera(name string) (driver.Driver, error) {
	if CameraDriver == "" {
		return nil, fmt.Errorf("-i %s: this meshpipe has no camera driver (%s); -i %s gives a test pattern", name, noCameraDriver, TestSource)
	}
	ds := cameras()
	found := func() string {
		if len(ds) == 0 {
			return "no cameras were found (/dev/video*)"
		}
		ns := make([]string, len(ds))
		for i, d := range ds {
			ns[i] = "/dev/" + node(d)
		}
		return "cameras found: " + strings.Join(ns, ", ")
	}
	want := ""
	switch {
	case name == "webcam":
		for _, d := range ds {
			if err := d.Open(); err == nil {
				ok := len(modes(d.Properties())) > 0
				d.Close()
				if ok {
					return d, nil
				}
			}
		}
		if len(ds) == 0 {
			return nil, fmt.Errorf("-i webcam: %s; -list_devices lists them, -i %s gives a test pattern", found(), TestSource)
		}
		return nil, fmt.Errorf("-i webcam: none of the cameras delivers video meshpipe reads (%s)", found())
	case strings.HasPrefix(name, "webcam:"):
		n, err := strconv.Atoi(strings.TrimPrefix(name, "webcam:"))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-i %s: want webcam:N with N the number of /dev/videoN", name)
		}
		want = "video" + strconv.Itoa(n)
	default:
		p, err := filepath.EvalSymlinks(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("-i %s: no such device; %s", name, found())
			}
			return nil, fmt.Errorf("-i %s: %w", name, err)
		}
		want = filepath.Base(p)
	}
	for _, d := range ds {
		if node(d) == want {
			return d, nil
		}
	}
	return nil, fmt.Errorf("-i %s: no camera at /dev/%s; %s", name, want, found())
}

// pick chooses the mode that best fits o among ms: the size asked for (an error lists the
// sizes offered when none has it), else DefaultWidth x DefaultHeight or the size nearest to
// it in area; then the rate nearest to the one asked for, else the highest up to DefaultRate
// (the lowest above it when none is that low); then the format first in decodable
// (uncompressed before MJPEG).
func pick(ms []Mode, o Options) (Mode, error) {
	if len(ms) == 0 {
		return Mode{}, errors.New("the device offers no video in a format meshpipe reads (" + formatNames() + "); a camera's second node is often metadata only")
	}
	sized := ms
	if o.Width > 0 {
		sized = nil
		for _, m := range ms {
			if m.Width == o.Width && m.Height == o.Height {
				sized = append(sized, m)
			}
		}
		if len(sized) == 0 {
			return Mode{}, fmt.Errorf("no mode of %dx%d; sizes offered: %s", o.Width, o.Height, sizes(ms))
		}
	} else {
		area := func(m Mode) float64 {
			return math.Abs(math.Log(float64(m.Width*m.Height) / (DefaultWidth * DefaultHeight)))
		}
		best := slices.MinFunc(ms, func(a, b Mode) int { return cmpFloat(area(a), area(b)) })
		sized = nil
		for _, m := range ms {
			if m.Width == best.Width && m.Height == best.Height {
				sized = append(sized, m)
			}
		}
	}
	rateCost := func(m Mode) float64 {
		switch {
		case m.FPS == 0:
			return 1e9 // unknown: last
		case !o.Rate.IsZero():
			return math.Abs(m.FPS - o.Rate.Float())
		case m.FPS <= DefaultRate:
			return DefaultRate - m.FPS
		}
		return 1e6 + m.FPS
	}
	return slices.MinFunc(sized, func(a, b Mode) int {
		if c := cmpFloat(rateCost(a), rateCost(b)); c != 0 {
			return c
		}
		return slices.Index(decodable, frame.Format(a.Format)) - slices.Index(decodable, frame.Format(b.Format))
	}), nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sizes(ms []Mode) string {
	var s []string
	for _, m := range ms {
		if v := fmt.Sprintf("%dx%d", m.Width, m.Height); !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return strings.Join(s, ", ")
}

func formatNames() string {
	s := make([]string, len(decodable))
	for i, f := range decodable {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// RateOf turns a frame rate in frames per second into a ratio: whole numbers as N/1, rates
// within 0.006 of an NTSC rate N*1000/1001 as that, others to a thousandth. 0 gives the zero
// (unknown) Ratio.
func RateOf(fps float64) rawvideo.Ratio {
	if !(fps > 0) {
		return rawvideo.Ratio{}
	}
	if n := math.Round(fps); math.Abs(fps-n) < 1e-3 {
		return rawvideo.Ratio{Num: int(n), Den: 1}
	}
	if n := math.Round(fps * 1001 / 1000); math.Abs(fps-n*1000/1001) < 0.006 {
		return rawvideo.Ratio{Num: int(n) * 1000, Den: 1001}
	}
	return rawvideo.Ratio{Num: int(math.Round(fps * 1000)), Den: 1000}
}

// openTestSource starts mediadevices' videotest driver at o's size and rate.
func openTestSource(o Options) (*Camera, error) {
	var d driver.Driver
	for _, v := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
		if v.Info().Label == videotestLabel {
			d = v
		}
	}
	if d == nil {
		return nil, errors.New("-i testsrc: mediadevices' videotest driver is not registered")
	}
	w, h := o.Width, o.Height
	if w == 0 {
		w, h = DefaultWidth, DefaultHeight
	}
	if w%2 != 0 {
		return nil, fmt.Errorf("-i testsrc: size %dx%d: the test pattern is 4:2:2 and needs an even width", w, h)
	}
	if _, err := rawvideo.FrameSize(w, h); err != nil {
		return nil, fmt.Errorf("-i testsrc: %w", err)
	}
	rate := o.Rate
	if rate.IsZero() {
		rate = rawvideo.Ratio{Num: DefaultRate, Den: 1}
	}
	if rate.Float() > 1000 {
		return nil, fmt.Errorf("-i testsrc: rate %v: at most 1000 fps", rate)
	}
	c := &Camera{name: TestSource, d: d, rate: rate,
		mode: Mode{Width: w, Height: h, Format: frame.FormatYUYV, FPS: rate.Float()}}
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("-i testsrc: %w", err)
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// start asks the opened driver for c.mode; on failure it closes the driver.
func (c *Camera) start() error {
	p := prop.Media{Video: prop.Video{Width: c.mode.Width, Height: c.mode.Height,
		FrameFormat: frame.Format(c.mode.Format), FrameRate: float32(c.rate.Float())}}
	vr, ok := c.d.(driver.VideoRecorder)
	if !ok {
		c.d.Close()
		return fmt.Errorf("-i %s: the driver records no video", c.name)
	}
	r, err := vr.VideoRecord(p)
	if err != nil {
		c.d.Close()
		return fmt.Errorf("-i %s: starting %v: %w", c.name, c.mode, err)
	}
	c.r = r
	return nil
}

// Name is the source as it was asked for, with its device node when it is a camera.
func (c *Camera) Name() string {
	if c.node != "" && c.name != "/dev/"+c.node {
		return c.name + " (/dev/" + c.node + ")"
	}
	return c.name
}

// Mode is the mode the source runs in.
func (c *Camera) Mode() Mode { return c.mode }

// Info describes the frames Capture gives: rgb24 of the mode's size, at the rate asked for
// (or the mode's), progressive.
func (c *Camera) Info() rawvideo.StreamInfo {
	return rawvideo.StreamInfo{Width: c.mode.Width, Height: c.mode.Height, PixFmt: rawvideo.RGB24, Rate: c.rate, Interlace: 'p'}
}

// Capture reads the source's next frame into f as rgb24 (rawvideo.Frame.FromImage: BT.601,
// limited range, full range for MJPEG), reusing f.Pix. It returns io.EOF once the source is
// closed, and an error naming the frame when the driver fails (a camera gives up after
// PION_MEDIADEVICES_CAMERA_READ_TIMEOUT seconds without a frame, 5 by default) or a frame is
// not of the mode's size.
func (c *Camera) Capture(f *rawvideo.Frame) error {
	img, release, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("%s: frame %d: %w", c.Name(), c.frames, err)
	}
	err = f.FromImage(img, c.full)
	release()
	if err != nil {
		return fmt.Errorf("%s: frame %d: %w", c.Name(), c.frames, err)
	}
	if f.Width != c.mode.Width || f.Height != c.mode.Height {
		return fmt.Errorf("%s: frame %d is %dx%d; the camera was asked for %dx%d", c.Name(), c.frames, f.Width, f.Height, c.mode.Width, c.mode.Height)
	}
	c.frames++
	return nil
}

// Close stops the source. Stop capturing first (stages.Live.Close): a Capture running when
// the camera closes may fail or, for the test pattern, never return.
func (c *Camera) Close() error { return c.d.Close() }
