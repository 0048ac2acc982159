package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/poses"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// Parts are what Open made: the stage graph's parts and sizes, and what to say about them.
type Parts struct {
	// Config holds the detector (capped at MaxPeople), the tracker, the pose estimator (and,
	// for BlazePose with DetectEvery above 0, the pose tracking that takes their place), the
	// people steps (with Smooth on, models.PoseSmoother; then models.PoseHold: a track keeps
	// its last found pose for models.DefaultHoldFrames frames while none is found), the render
	// workers (len(Config.Renderers) of them), the pose writer (nil without Poses) and
	// the graph's sizes, for stages.Run or stages.NewOneFrame.
	Config stages.Config
	// PoseModel names the pose model and the files it came from, for the log and -stats_file.
	PoseModel string
	// Device is where the pose model runs: "cpu" or "cuda:N".
	Device string
	// DeviceNote is why device auto runs on the CPU (one line); "" otherwise.
	DeviceNote string
	// Detector names the person detector run, for the log and -stats_file: "nanodet (PATH)",
	// "bgsub", "full", "none" or "PATH (YOLOX-style)" / "PATH (NanoDet-style)".
	Detector string
	// Renderer is the OpenGL renderer's name (gl.Renderer.Name), or "none (no-render)" with
	// Prefix before no-render.
	Renderer string
	// Body names the body model drawn: "mannequin" or its file; Vertices is its vertex count.
	Body     string
	Vertices int
	// Tracking is the pose tracker when the graph tracks people (Config.Tracking: a BlazePose
	// model with DetectEvery above 0), for its figures (TrackTimes); nil otherwise.
	Tracking *models.PoseTracker
	// BodyModel is that body model itself, for what else is made of the poses (the -motion
	// files); it must not be changed.
	BodyModel *models.Body

	prefix  string // Options.Prefix, for SetLook's errors
	closers []func() error
	meshes  []*meshRenderer
	overCap atomic.Int64
	closed  bool
}

// Open makes the parts o describes: it checks o, loads ONNX Runtime (once per process),
// resolves the device, reads the body model, opens the pose writer, the pose model and the
// detector (each a session of its own) and makes the tracker, the people steps (smoothing
// and hold) and the render workers, so that whatever cannot start fails here, before the first frame. Errors name the
// option at fault, with Prefix before its name, and why. On an error everything made so far is closed.
func Open(o Options) (_ *Parts, err error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	p := &Parts{prefix: o.Prefix}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := initORT(&o); err != nil {
		return nil, err
	}
	dev, _ := ort.ParseDevice(o.Device) // Check vetted it
	if dev, p.DeviceNote, err = ort.Resolve(dev); err != nil {
		return nil, err
	}
	opt := ort.Options{IntraOpThreads: o.Threads, Device: dev}
	p.Device = dev.String()

	body := models.Mannequin()
	p.Body = "mannequin"
	if o.Body != "" {
		if body, err = models.LoadBody(o.Body); err != nil {
			return nil, fmt.Errorf("%sbody: %w", o.Prefix, err)
		}
		p.Body = o.Body
	}
	p.Vertices, p.BodyModel = body.VertexCount(), body
	if o.Poses != "" {
		w, err := poses.Create(o.Poses)
		if err != nil {
			return nil, fmt.Errorf("%sposes: %w", o.Prefix, err)
		}
		p.closers = append(p.closers, w.Close)
		p.Config.Poses = w
	}

	pm, err := openPose(&o, opt, body, p.Body)
	p.closers = append(p.closers, pm.closers...)
	if err != nil {
		return nil, err
	}
	p.PoseModel, p.Config.Pose = pm.name, pm.est

	det, closeDet, detName, err := openDetector(&o, opt)
	if err != nil {
		return nil, err
	}
	p.Detector = detName
	if closeDet != nil {
		p.closers = append(p.closers, closeDet)
	}
	over := o.OverMaxPeople
	p.Config.Detector = &models.Capped{Detector: det, Max: o.MaxPeople, Over: func(f *rawvideo.Frame, found int) {
		if p.overCap.Add(1) == 1 && over != nil {
			over(f.Seq, found)
		}
	}}
	p.Config.Tracker = models.NewTracker()
	_, nobody := det.(models.Nobody)
	if pm.blazePose != nil && o.DetectEvery > 0 && !nobody { // with nobody to find, nothing to track
		t := models.NewPoseTracker(p.Config.Detector, pm.blazePose)
		t.Every, t.Workers, t.MaxPeople = o.DetectEvery, o.PoseWorkers, o.MaxPeople
		p.Config.Tracking, p.Tracking = t, t
	}
	hold := models.NewPoseHold(models.DefaultHoldFrames)
	if o.Smooth == "on" {
		p.Config.People = peopleSteps{models.NewPoseSmoother(body), hold}
	} else {
		p.Config.People = hold
	}
	p.Config.Batch, p.Config.PoseWorkers, p.Config.InFlight = o.Batch, o.PoseWorkers, o.InFlight

	if err := p.openRenderers(&o, body); err != nil {
		return nil, err
	}
	return p, nil
}

// FramesOverMaxPeople returns how many frames had more than MaxPeople people so far.
func (p *Parts) FramesOverMaxPeople() int64 { return p.overCap.Load() }

// Close releases the render workers' contexts, the sessions and the pose writer, last made
// first, and returns their errors joined. Calling it again does nothing.
func (p *Parts) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	return errors.Join(errs...)
}

// initORT loads ONNX Runtime: the ORTLib option, else $MESHPIPE_ORT_LIB, else the project's
// library searched from SearchDir (or the executable's folder) and the working directory.
func initORT(o *Options) error {
	in := ort.DefaultLibraryInputs(o.ORTLib)
	if o.SearchDir != "" {
		in.ExeDir = o.SearchDir
	}
	path, tried := ort.FindLibrary(in)
	if path == "" {
		return fmt.Errorf("ONNX Runtime library not found; tried:\n  %s\nrun scripts/setup.sh, or name the library with %sort-lib or %s",
			strings.Join(tried, "\n  "), o.Prefix, ort.LibraryEnv)
	}
	return ort.Init(path)
}

// detectorChoices says what a detector may be, for errors.
const detectorChoices = "want nanodet, bgsub, full, none or a YOLOX- or NanoDet-style .onnx file"

// openDetector returns the detector o.Detector names, the function that closes its session
// (nil for a detector without one) and its name for the log and -stats_file:
//   - "nanodet": NanoDet-g, the file models.NanoDetFile that scripts/setup.sh converts, found
//     by models.FindModel in ModelDir, else $MESHPIPE_MODELS, else .deps/models from
//     SearchDir and the working directory upwards (the error lists where it looked);
//   - "" (the default): nanodet when that file is found, else bgsub;
//   - "bgsub": a new background subtractor; "full": models.FullFrame; "none": models.Nobody;
//   - a file ending in .onnx: a YOLOX- or NanoDet-style detector of any input size
//     (models.DetectorForModel).
//
// A model is opened as a session of its own; ONNX Runtime must be loaded.
func openDetector(o *Options, opt ort.Options) (models.Detector, func() error, string, error) {
	spec := o.Detector
	if spec == "" || spec == "nanodet" {
		path, tried := models.FindModel(models.NanoDetFile, o.modelInputs())
		switch {
		case path != "":
			det, closeDet, _, err := openDetectorModel(o, path, opt)
			return det, closeDet, "nanodet (" + path + ")", err
		case spec == "nanodet":
			return nil, nil, "", fmt.Errorf("%sdetector nanodet: %s not found; tried:\n  %s\nrun scripts/setup.sh, or name its folder with %smodel-dir or %s",
				o.Prefix, models.NanoDetFile, strings.Join(tried, "\n  "), o.Prefix, models.ModelDirEnv)
		}
		spec = "bgsub"
	}
	switch {
	case spec == "bgsub":
		return models.NewBackgroundSubtractor(), nil, spec, nil
	case spec == "full":
		return models.FullFrame{}, nil, spec, nil
	case spec == "none":
		return models.Nobody{}, nil, spec, nil
	case strings.HasSuffix(spec, ".onnx"):
		det, closeDet, style, err := openDetectorModel(o, spec, opt)
		return det, closeDet, spec + " (" + style + ")", err
	}
	return nil, nil, "", fmt.Errorf("%sdetector %q: %s", o.Prefix, o.Detector, detectorChoices)
}

// openDetectorModel opens the detector model at path and tells its style.
func openDetectorModel(o *Options, path string, opt ort.Options) (models.Detector, func() error, string, error) {
	s, err := ort.Open(path, opt)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%sdetector: %w", o.Prefix, err)
	}
	det, style, err := models.DetectorForModel(path, s, s.Input(), s.Outputs())
	if err != nil {
		s.Close()
		return nil, nil, "", fmt.Errorf("%sdetector: %w", o.Prefix, err)
	}
	return det, s.Close, style, nil
}

// peopleSteps runs several stages.PeopleFilters on each frame's people, in order (the
// smoother, then the hold, which keeps the smoothed pose).
type peopleSteps []stages.PeopleFilter

func (s peopleSteps) FilterPeople(f *rawvideo.Frame, people []human.Person) error {
	for _, step := range s {
		if err := step.FilterPeople(f, people); err != nil {
			return err
		}
	}
	return nil
}
