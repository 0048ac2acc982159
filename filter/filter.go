// Package filter is meshpipe's one-frame core: detect, track, pose and render for one frame at
// a time, synchronously, so that each call returns its own frame with its own people drawn. It
// is what the frei0r plugin (plugin/frei0r) runs for each f0r_update; the pipe (cmd/meshpipe)
// runs the same parts through the stage graph instead.
//
// A Core owns everything it uses: its ONNX Runtime sessions, its detector state (a background
// model), its tracker and its OpenGL renderer (one context on its own locked OS thread). Two
// Cores in one process share nothing but ONNX Runtime's process-wide environment and the EGL
// display. The package itself is pure Go; the cgo lives in models/ort and gl.
package filter

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// ColorMode chooses the colour each person's mesh is drawn in.
type ColorMode int

const (
	// ColorDefault draws every mesh in gl.DefaultColor.
	ColorDefault ColorMode = iota
	// ColorTrack draws each track in its own colour (gl.TrackColor), stable across frames.
	ColorTrack
)

// ParseColorMode reads "default" or "track" ("" means "default").
func ParseColorMode(s string) (ColorMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return ColorDefault, nil
	case "track":
		return ColorTrack, nil
	}
	return 0, fmt.Errorf("colour mode %q: want default or track", s)
}

// String returns "default" or "track".
func (m ColorMode) String() string {
	if m == ColorTrack {
		return "track"
	}
	return "default"
}

// Options say what a Core is built from. Build with them; Alpha and Color may also be
// changed on a built Core between frames.
type Options struct {
	// Model is the pose model file (.onnx) keeping the HMR2 contract; "" runs the built-in
	// stand-in (models.StandIn: one fixed standing pose).
	Model string
	// Detector is "bgsub" (background subtraction, for fixed cameras; "" means bgsub), "full"
	// (the whole frame is one person) or a YOLOX-style detector file ending in .onnx.
	Detector string
	// Body is a body model file. SMPL files are not read yet: a body file that exists is noted
	// (see Core.Notes) and the built-in mannequin is drawn; "" draws the mannequin quietly.
	Body string
	// Alpha is the mesh opacity over the frame, in [0, 1].
	Alpha float64
	// Color is the colour mode.
	Color ColorMode
	// ORTLib is the ONNX Runtime library; "" searches as ort.FindLibrary does, with
	// ORTSearchDir in place of the executable's directory.
	ORTLib string
	// ORTSearchDir is where the ONNX Runtime search starts when ORTLib is "" and
	// MESHPIPE_ORT_LIB is unset (the plugin passes its own folder); "" uses the executable's.
	ORTSearchDir string
	// Threads is ONNX Runtime's intra-op thread count per session; 0 leaves ORT's default (one
	// per core).
	Threads int
	// PoseWorkers is the most goroutines that pose the people of one frame at once, each
	// running a share of them as one batch through the shared session; 0 means 2.
	PoseWorkers int
}

// DefaultOptions returns the defaults: stand-in pose model, bgsub detector, mannequin, alpha
// 1, default colour, one ORT thread per session and two pose workers (DESIGN.md measured two
// single-threaded users of one session as fastest on 2 cores).
func DefaultOptions() Options {
	return Options{Detector: "bgsub", Alpha: 1, Threads: 1, PoseWorkers: 2}
}

// Check returns an error naming the first option out of range.
func (o Options) Check() error {
	switch {
	case !(o.Alpha >= 0 && o.Alpha <= 1):
		return fmt.Errorf("alpha %v: must be within 0..1", o.Alpha)
	case o.Color != ColorDefault && o.Color != ColorTrack:
		return fmt.Errorf("colour mode %d: want ColorDefault or ColorTrack", o.Color)
	case o.Threads < 0:
		return fmt.Errorf("threads %d: must not be negative", o.Threads)
	case o.PoseWorkers < 0:
		return fmt.Errorf("pose workers %d: must not be negative", o.PoseWorkers)
	}
	switch d := o.Detector; {
	case d == "", d == "bgsub", d == "full", strings.HasSuffix(d, ".onnx"):
	default:
		return fmt.Errorf("detector %q: want bgsub, full or a YOLOX-style .onnx file", d)
	}
	return nil
}

// Parts are what a Core runs; Build makes the real ones, tests give fakes.
type Parts struct {
	// Detector finds people; it is called once per frame, in frame order.
	Detector models.Detector
	// Tracker, if not nil, gives the detections stable track ids (models.Tracker).
	Tracker interface {
		Update(dets []human.Detection) []human.Detection
	}
	// Pose recovers the bodies of some detections of a frame (models.PoseEstimator). It is
	// called from several goroutines at once when a frame has several people, so it must be
	// safe for concurrent use.
	Pose interface {
		Estimate(f *rawvideo.Frame, dets []human.Detection) ([]human.Person, error)
	}
	// Renderer draws meshes over a frame in place (gl.Renderer).
	Renderer interface {
		Render(f *rawvideo.Frame, cam gl.Camera, meshes []gl.Mesh, alpha float32) error
	}
	// PoseWorkers is the most goroutines posing one frame's people at once; 0 means 2.
	PoseWorkers int
	// Closers are called by Close, last first.
	Closers []func() error
}

// Core draws the meshes of the people in one frame at a time. Apply must not be called from
// two goroutines at once; Alpha and Color may be changed between calls.
type Core struct {
	// Alpha is the mesh opacity over the frame, in [0, 1].
	Alpha float64
	// Color is the colour mode.
	Color ColorMode

	p      Parts
	notes  []string
	desc   string
	meshes []gl.Mesh // reused between frames
	chunks []chunk   // reused between frames
	closed bool
}

// chunk is one pose worker's share of a frame's detections and what came back.
type chunk struct {
	dets   []human.Detection
	people []human.Person
	err    error
}

// New returns a Core over parts, drawing with alpha 1 in ColorDefault.
func New(p Parts) *Core {
	if p.PoseWorkers <= 0 {
		p.PoseWorkers = 2
	}
	return &Core{Alpha: 1, p: p}
}

// Build loads ONNX Runtime (once per process), the pose model and the detector into sessions of
// this Core's own, and creates its renderer, so that whatever cannot start fails here, not at
// the first frame. Errors name the option at fault (model, detector, body, ort_lib) and why.
func Build(o Options) (_ *Core, err error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	var p Parts
	defer func() {
		if err != nil {
			closeAll(p.Closers)
		}
	}()
	var notes []string
	if o.Body != "" {
		if _, err := os.Stat(o.Body); err != nil {
			return nil, fmt.Errorf("body file: %w", err)
		}
		notes = append(notes, fmt.Sprintf("body file %s: SMPL body files are not read yet; drawing the built-in mannequin", o.Body))
	}
	if err := initORT(o); err != nil {
		return nil, err
	}
	opt := ort.Options{IntraOpThreads: o.Threads}
	body := models.Mannequin()
	pose, closePose, modelName, err := OpenPose(o.Model, body, opt)
	if err != nil {
		return nil, err
	}
	p.Closers = append(p.Closers, closePose)
	p.Pose = pose
	det, closeDet, err := OpenDetector(o.Detector, opt)
	if err != nil {
		return nil, err
	}
	if closeDet != nil {
		p.Closers = append(p.Closers, closeDet)
	}
	p.Detector = det
	p.Tracker = models.NewTracker()
	r, err := gl.NewRenderer(body.Faces, body.VertexCount())
	if err != nil {
		return nil, fmt.Errorf("renderer: %w", err)
	}
	p.Closers = append(p.Closers, r.Close)
	p.Renderer = r
	p.PoseWorkers = o.PoseWorkers

	f := New(p)
	f.Alpha, f.Color, f.notes = o.Alpha, o.Color, notes
	detName := o.Detector
	if detName == "" {
		detName = "bgsub"
	}
	f.desc = fmt.Sprintf("onnxruntime %s, pose model %s, detector %s, renderer %s, %d pose workers",
		ort.Version(), modelName, detName, r.Name(), f.p.PoseWorkers)
	return f, nil
}

// initORT loads ONNX Runtime: the ORTLib option, else MESHPIPE_ORT_LIB, else the project's
// library searched from ORTSearchDir (or the executable's folder) and the working directory.
func initORT(o Options) error {
	in := ort.DefaultLibraryInputs(o.ORTLib)
	if o.ORTSearchDir != "" {
		in.ExeDir = o.ORTSearchDir
	}
	path, tried := ort.FindLibrary(in)
	if path == "" {
		return fmt.Errorf("ONNX Runtime library not found; tried:\n  %s\nrun scripts/setup.sh, or name the library with the ort_lib parameter or %s",
			strings.Join(tried, "\n  "), ort.LibraryEnv)
	}
	return ort.Init(path)
}

// OpenPose opens the pose model (model "" is the built-in stand-in) as a session of its own,
// checks it keeps the pose-model contract, and returns an estimator posing body, the function
// that closes the session, and the model's name for logs. ONNX Runtime must be loaded.
func OpenPose(model string, body *models.Body, opt ort.Options) (*models.PoseEstimator, func() error, string, error) {
	name := "built-in stand-in (fixed standing pose)"
	var sess *ort.Session
	var err error
	if model == "" {
		sess, err = ort.OpenData(name, models.StandIn, opt)
	} else {
		name = model
		sess, err = ort.Open(model, opt)
	}
	if err != nil {
		return nil, nil, "", err
	}
	if err := models.CheckPoseContract(name, sess.Input(), sess.Outputs()); err != nil {
		sess.Close()
		return nil, nil, "", err
	}
	// The filter draws the mannequin (body files are not read yet).
	if err := models.CheckPoseVertices(name, sess.Outputs(), body, "mannequin"); err != nil {
		sess.Close()
		return nil, nil, "", err
	}
	return models.NewPoseEstimator(name, sess, body), sess.Close, name, nil
}

// OpenDetector returns the detector spec names: "bgsub" or "" (a new background subtractor),
// "full" (models.FullFrame), "none" (models.Nobody: frames pass through untouched) or a
// YOLOX-style .onnx file (opened as a session of its own,
// returned with the function that closes it; nil for the others). ONNX Runtime must be loaded
// for a .onnx detector.
func OpenDetector(spec string, opt ort.Options) (models.Detector, func() error, error) {
	switch {
	case spec == "" || spec == "bgsub":
		return models.NewBackgroundSubtractor(), nil, nil
	case spec == "full":
		return models.FullFrame{}, nil, nil
	case spec == "none":
		return models.Nobody{}, nil, nil
	case strings.HasSuffix(spec, ".onnx"):
		s, err := ort.Open(spec, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("detector: %w", err)
		}
		size, err := models.CheckYOLOXContract(spec, s.Input(), s.Outputs())
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		return models.NewYOLOX(s, size), s.Close, nil
	}
	return nil, nil, fmt.Errorf("detector %q: want bgsub, full, none or a YOLOX-style .onnx file", spec)
}

// Notes returns what Build chose to say once about its options (such as a body file that is
// not read yet); nil when there is nothing to say.
func (f *Core) Notes() []string { return f.notes }

// String describes what the Core runs (ONNX Runtime version, models, renderer); "" for a
// Core made by New.
func (f *Core) String() string { return f.desc }

// Apply draws the meshes of the people in fr over fr, in place, and returns how many people
// it drew. fr must be an rgb24 frame as rawvideo.Frame documents, and frames must come in
// stream order (the detector and the tracker keep state between frames). The people of one
// frame are posed by up to PoseWorkers goroutines at once. On an error fr may be partly drawn
// over only if rendering itself failed; the error names the stage and fr.Seq.
func (f *Core) Apply(fr *rawvideo.Frame) (int, error) {
	if f.closed {
		return 0, errors.New("filter: Apply after Close")
	}
	if fr == nil || fr.Width <= 0 || fr.Height <= 0 || fr.Stride < 3*fr.Width || len(fr.Pix) < (fr.Height-1)*fr.Stride+3*fr.Width {
		return 0, errors.New("filter: Apply: nil or malformed frame")
	}
	dets, err := f.p.Detector.Detect(fr)
	if err != nil {
		return 0, fmt.Errorf("detect: frame %d: %w", fr.Seq, err)
	}
	if f.p.Tracker != nil {
		dets = f.p.Tracker.Update(dets)
	}
	if len(dets) == 0 {
		return 0, nil
	}
	people, err := f.pose(fr, dets)
	if err != nil {
		return 0, fmt.Errorf("pose: frame %d: %w", fr.Seq, err)
	}
	f.meshes = f.meshes[:0]
	for i := range people {
		c := gl.DefaultColor
		if f.Color == ColorTrack {
			c = gl.TrackColor(people[i].TrackID)
		}
		f.meshes = append(f.meshes, gl.Mesh{Vertices: people[i].Vertices, Color: c})
	}
	cam := models.NewCamera(fr.Width, fr.Height)
	alpha := float32(min(max(f.Alpha, 0), 1))
	if err := f.p.Renderer.Render(fr, gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, f.meshes, alpha); err != nil {
		return 0, fmt.Errorf("render: frame %d: %w", fr.Seq, err)
	}
	return len(people), nil
}

// pose splits dets into up to PoseWorkers contiguous shares, poses each share as one batch in
// its own goroutine (the first on this one) and returns the people in the order of dets.
func (f *Core) pose(fr *rawvideo.Frame, dets []human.Detection) ([]human.Person, error) {
	n := min(f.p.PoseWorkers, len(dets))
	if n <= 1 {
		return f.p.Pose.Estimate(fr, dets)
	}
	if cap(f.chunks) < n {
		f.chunks = make([]chunk, n)
	}
	f.chunks = f.chunks[:n]
	for i := range f.chunks {
		lo, hi := i*len(dets)/n, (i+1)*len(dets)/n
		f.chunks[i] = chunk{dets: dets[lo:hi]}
	}
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func(c *chunk) {
			defer wg.Done()
			c.people, c.err = estimate(f.p.Pose, fr, c.dets)
		}(&f.chunks[i])
	}
	c0 := &f.chunks[0]
	c0.people, c0.err = estimate(f.p.Pose, fr, c0.dets)
	wg.Wait()
	people := make([]human.Person, 0, len(dets))
	for i := range f.chunks {
		c := &f.chunks[i]
		if c.err != nil {
			return nil, c.err
		}
		if len(c.people) != len(c.dets) {
			return nil, fmt.Errorf("the pose estimator gave %d people for %d detections", len(c.people), len(c.dets))
		}
		people = append(people, c.people...)
		c.people, c.dets = nil, nil
	}
	return people, nil
}

// estimate calls Estimate, turning a panic into an error, since a panic in a goroutine of a
// plugin would take the host program down.
func estimate(p interface {
	Estimate(*rawvideo.Frame, []human.Detection) ([]human.Person, error)
}, fr *rawvideo.Frame, dets []human.Detection) (people []human.Person, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pose estimator panicked: %v", r)
		}
	}()
	return p.Estimate(fr, dets)
}

// Close releases the renderer and the sessions. Calling it again does nothing.
func (f *Core) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return closeAll(f.p.Closers)
}

func closeAll(closers []func() error) error {
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i]())
	}
	return errors.Join(errs...)
}
