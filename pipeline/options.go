// Package pipeline turns one set of Options into the parts of meshpipe's stage graph, for both
// of meshpipe's faces: the pipe (cmd/meshpipe) and the frei0r plugin (filter, plugin/frei0r).
// Open loads ONNX Runtime and resolves the device, reads the body model, opens the pose model,
// the person detector (capped at MaxPeople people a frame) and the tracker, makes the render
// workers (the adapter that turns people into meshes, or a pass-through under NoRender) and the
// pose writer, so that whatever cannot start fails before the first frame, naming the option
// at fault; Parts.Close releases them. The faces only translate their own parameters (flags;
// frei0r parameters) into Options, and move frames in and out: stages.Run (the pipe) or
// stages.OneFrame (the plugin) runs the parts. The options both faces offer are listed once,
// in Shared, with their names, defaults and explanations.
//
// The package is pure Go; the cgo lives in models/ort (ONNX Runtime) and gl (OpenGL).
package pipeline

import (
	"fmt"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
)

// Options say what the parts are made of. DefaultOptions gives both faces the same defaults.
type Options struct {
	// PoseModel is the pose model: "hmr2" (the Model file, HMR2 contract), "blazepose-lite",
	// "blazepose-full" or "blazepose-heavy" (BlazePose GHUM; "lite", "full" and "heavy" for
	// short), or "standin" (built in: one fixed standing pose). "" picks hmr2 when Model is
	// set, else blazepose-full when its file is found, else standin.
	PoseModel string
	// Model is the HMR2 pose model file (.onnx keeping the pose-model contract); only
	// PoseModel hmr2 reads it.
	Model string
	// ModelDir is the folder of the model files scripts/setup.sh converts (BlazePose, NanoDet);
	// "" looks in $MESHPIPE_MODELS, then in .deps/models from SearchDir and the working
	// directory upwards (models.FindModel).
	ModelDir string
	// Detector is the person detector: "nanodet" (NanoDet-g, models.NanoDetFile in the model
	// folder), "bgsub" (background subtraction), "full" (the whole frame is one person), "none"
	// (nobody: frames pass through) or a YOLOX- or NanoDet-style PATH.onnx. "" picks nanodet
	// when its file is found, else bgsub.
	Detector string
	// Body is an SMPL body model file in the smplx .npz layout (models.LoadBody); "" draws
	// meshpipe's own mannequin.
	Body string
	// MaxPeople is the most people drawn in a frame: when more are found, the MaxPeople
	// largest (models.Capped). At least 1.
	MaxPeople int
	// Alpha is the mesh opacity over the frame, in [0, 1].
	Alpha float64
	// Color is the mesh colour: "default" (gl.DefaultColor) or "track" (gl.TrackColor of each
	// person's track id).
	Color string
	// Samples is the multisample anti-aliasing samples per pixel, 1 (off) to 16.
	Samples int
	// Smooth is "on" to smooth each track's found poses over time (models.PoseSmoother: One
	// Euro filters on the joint rotations and the translation), "off" to draw each frame's
	// poses as the pose model gives them.
	Smooth string
	// DetectEvery is, for the BlazePose models, how often the person detector runs while
	// people are tracked (models.PoseTracker: each person's region comes from their landmarks
	// on the frame before): every DetectEvery frames, and at once when nobody is tracked, a
	// track is lost or the scene cuts. 0 turns pose tracking off: the detector runs on every
	// frame and each of its boxes is posed on its own, as for HMR2 and the stand-in, which
	// always work so, and detector none (nobody to track). Background subtraction, which
	// learns from every frame, runs on every frame either way.
	DetectEvery int
	// Threads is ONNX Runtime's intra-op threads per session; 0 leaves ONNX Runtime's default
	// (one per core).
	Threads int
	// Device is where ONNX Runtime runs: "auto" (CUDA if it starts, else the CPU), "cpu",
	// "cuda" or "cuda:N" (ort.ParseDevice).
	Device string
	// ORTLib is the ONNX Runtime library; "" looks in $MESHPIPE_ORT_LIB, then for the
	// project's library from SearchDir and the working directory upwards (ort.FindLibrary).
	ORTLib string

	// Batch is the most person crops per pose-model run, gathered from consecutive frames
	// (stages.Config.Batch); at least 1. Only the graph reads it: one frame at a time is one
	// frame's people a run.
	Batch int
	// PoseWorkers is the number of goroutines sharing the pose model's session in the graph;
	// at least 1.
	PoseWorkers int
	// RenderWorkers is the number of render workers, each with its own OpenGL context; 0
	// picks gl.DefaultWorkers for the renderer found (1 under NoRender).
	RenderWorkers int
	// InFlight caps the frames between read and write in the graph; 0 lets stages size it.
	InFlight int
	// NoRender makes no OpenGL context and draws nothing: people are still found and posed,
	// and frames pass through unchanged.
	NoRender bool
	// Poses, when not "", is the file to write each frame's people to (package poses).
	Poses string

	// SearchDir is where the searches for the ONNX Runtime library and the BlazePose files
	// start, before the working directory; "" means the executable's folder. The plugin
	// passes its own folder, since its executable is the host's.
	SearchDir string
	// Prefix goes before an option's name in messages: "-" for the pipe's flags, "" for the
	// plugin's parameters.
	Prefix string
	// OverMaxPeople, if not nil, is called on the first frame on which more than MaxPeople
	// people were found, with the frame's number and how many; Parts.FramesOverMaxPeople
	// counts them all. It is called from the detect stage.
	OverMaxPeople func(seq int64, found int)
}

// DefaultOptions returns the defaults both faces share: the pose model picked, the detector
// picked (nanodet when its file is found, else bgsub), pose tracking with the detector every
// models.DefaultDetectEvery frames, smoothing on, the mannequin, at most models.DefaultMaxPeople people, alpha 1, the
// default colour, gl.DefaultSamples, one ONNX Runtime thread per session and device auto;
// for the graph, batches of 4 crops, 2 pose workers (docs/design.md measured two single-threaded
// users of one session as fastest on 2 cores) and the render workers picked.
func DefaultOptions() Options {
	return Options{
		MaxPeople: models.DefaultMaxPeople, Alpha: 1, Color: "default",
		Samples: gl.DefaultSamples, Smooth: "on", DetectEvery: models.DefaultDetectEvery, Threads: 1, Device: "auto",
		Batch: 4, PoseWorkers: 2,
	}
}

// Check returns an error naming the first option whose value is out of range (Prefix before
// its name). The pose model, detector and files are checked by Open, which opens them.
func (o *Options) Check() error {
	p := o.Prefix
	if err := checkLook(o.Alpha, o.Color, p); err != nil {
		return err
	}
	switch {
	case o.Smooth != "on" && o.Smooth != "off":
		return fmt.Errorf("%ssmooth %q: want on or off", p, o.Smooth)
	case o.DetectEvery < 0:
		return fmt.Errorf("%sdetect-every %d: want 0 (no pose tracking: the detector on every frame) or more", p, o.DetectEvery)
	case o.Samples < 1 || o.Samples > 16:
		return fmt.Errorf("%ssamples %d: want 1 (no anti-aliasing) to 16", p, o.Samples)
	case o.MaxPeople < 1:
		return fmt.Errorf("%smax-people %d: need at least 1", p, o.MaxPeople)
	case o.Threads < 0:
		return fmt.Errorf("%sthreads %d: must not be negative", p, o.Threads)
	case o.Batch < 1:
		return fmt.Errorf("%sbatch %d: need at least 1", p, o.Batch)
	case o.PoseWorkers < 1:
		return fmt.Errorf("%spose-workers %d: need at least 1", p, o.PoseWorkers)
	case o.RenderWorkers < 0:
		return fmt.Errorf("%srender-workers %d: must not be negative", p, o.RenderWorkers)
	case o.InFlight < 0:
		return fmt.Errorf("%sin-flight %d: must not be negative", p, o.InFlight)
	}
	if _, err := ort.ParseDevice(o.Device); err != nil {
		return fmt.Errorf("%sdevice: %w", p, err)
	}
	return nil
}

// Option is one option that both faces offer under one name: the pipe as the flag -Name, the
// frei0r plugin as the parameter Name. Its default is the field's value in DefaultOptions.
type Option struct {
	// Name is the flag's and the parameter's name.
	Name string
	// Arg names the value in the pipe's -h: "PATH.onnx", "N", ...
	Arg string
	// Usage explains the option, in -h and in the plugin's parameter list.
	Usage string
	// Field returns the field of o that holds the option: a *string, *int or *float64.
	Field func(o *Options) any
}

// Shared lists the options both faces offer, in the plugin's parameter order (ffmpeg sets
// frei0r parameters by position, so the first five keep the places they had before the others
// came).
var Shared = []Option{
	{"model", "PATH.onnx", "HMR2 pose model file keeping the HMR2 contract (pose-model hmr2)",
		func(o *Options) any { return &o.Model }},
	{"detector", "D", "person detector: nanodet (NanoDet-g, COCO-trained, converted by scripts/setup.sh into " + models.NanoDetFile +
		"; any footage), bgsub (background subtraction, for fixed cameras), full (the whole frame is one person), " +
		"none (nobody: frames pass through untouched), or PATH.onnx, a YOLOX- or NanoDet-style model of any input size. " +
		"Empty: nanodet when its file is found (model-dir), else bgsub",
		func(o *Options) any { return &o.Detector }},
	{"alpha", "A", "mesh opacity over the frame, 0..1",
		func(o *Options) any { return &o.Alpha }},
	{"color", "C", "mesh colour: default (4D-Humans' light blue) or track (a stable colour per track id)",
		func(o *Options) any { return &o.Color }},
	{"body", "PATH.npz", "SMPL body model in the smplx layout (empty: meshpipe's own mannequin)",
		func(o *Options) any { return &o.Body }},
	{"ort-lib", "PATH", "ONNX Runtime library (empty: $" + ort.LibraryEnv + ", then the project's " + ort.ProjectLibrary +
		" from the program's folder upwards, then from the working directory upwards)",
		func(o *Options) any { return &o.ORTLib }},
	{"pose-model", "M", "pose model: hmr2 (the model file, HMR2 contract), blazepose-lite, blazepose-full or blazepose-heavy " +
		"(BlazePose GHUM, converted by scripts/setup.sh; lite, full, heavy for short), or standin (a fixed standing pose). " +
		"Empty: hmr2 with a model file, else blazepose-full when its file is found, else standin",
		func(o *Options) any { return &o.PoseModel }},
	{"model-dir", "DIR", "folder of the model files that scripts/setup.sh converts: BlazePose and NanoDet (empty: $" + models.ModelDirEnv + ", then the project's " +
		models.ProjectModelDir + ")",
		func(o *Options) any { return &o.ModelDir }},
	{"max-people", "N", "most people drawn in a frame: when more are found, the N largest (a warning says so once)",
		func(o *Options) any { return &o.MaxPeople }},
	{"samples", "N", "anti-aliasing samples per pixel, 1 (off; about a third of the CPU time on a CPU renderer) to 16",
		func(o *Options) any { return &o.Samples }},
	{"threads", "N", "ONNX Runtime intra-op threads per session (0: one per core)",
		func(o *Options) any { return &o.Threads }},
	{"device", "DEV", "where ONNX Runtime runs: auto (CUDA if it starts, else the CPU), cpu, cuda or cuda:N",
		func(o *Options) any { return &o.Device }},
	{"smooth", "on|off", "smooth each person's pose over time (One Euro filters on the joint rotations and the translation, per track): on or off",
		func(o *Options) any { return &o.Smooth }},
	{"detect-every", "N", "BlazePose: run the person detector every N frames while people are tracked, and at once when nobody is, a track is lost or the scene cuts; " +
		"in between each person's region comes from their landmarks on the frame before. 0: the detector on every frame, each box posed on its own (no pose tracking)",
		func(o *Options) any { return &o.DetectEvery }},
}

// SharedOption returns the option of Shared called name; it panics when there is none, since
// the names are the program's own.
func SharedOption(name string) Option {
	for _, s := range Shared {
		if s.Name == name {
			return s
		}
	}
	panic("pipeline: no shared option " + name)
}

// checkLook checks the options a built Parts can still change (SetLook): Alpha and Color.
func checkLook(alpha float64, color, prefix string) error {
	switch {
	case !(alpha >= 0 && alpha <= 1):
		return fmt.Errorf("%salpha %v: must be within 0..1", prefix, alpha)
	case color != "default" && color != "track":
		return fmt.Errorf("%scolor %q: want default or track", prefix, color)
	}
	return nil
}
