package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a stage failed, or the input was bad
	exitUsage = 2 // bad flags
)

// options are the command-line settings, bound to flags by newFlagSet.
type options struct {
	size          string
	model         string
	detector      string
	ortLib        string
	poseWorkers   int
	renderWorkers int
	inFlight      int
	threads       int
	alpha         float64

	// Look and preview.
	color   string // "default" or "track"
	samples int    // multisample anti-aliasing samples per pixel
	preview bool
}

func defaultOptions() options {
	return options{detector: "bgsub", poseWorkers: 2, renderWorkers: 4, threads: 1, alpha: 1, color: "default", samples: gl.DefaultSamples}
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("meshpipe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.size, "s", o.size, "frame size `WxH` of the rgb24 input, e.g. 1280x720 (required)")
	fs.StringVar(&o.model, "model", o.model, "pose model `PATH.onnx` that keeps the HMR2 contract (default: the built-in stand-in, a fixed standing pose)")
	fs.StringVar(&o.detector, "detector", o.detector, "person detector: `bgsub` (background subtraction, for fixed cameras), full (the whole frame is one person), or a YOLOX-style PATH.onnx")
	fs.StringVar(&o.ortLib, "ort-lib", o.ortLib, "ONNX Runtime library `PATH` (default: $"+ort.LibraryEnv+", then the project's "+ort.ProjectLibrary+")")
	fs.IntVar(&o.poseWorkers, "pose-workers", o.poseWorkers, "pose workers sharing one ONNX Runtime session")
	fs.IntVar(&o.renderWorkers, "render-workers", o.renderWorkers, "render workers, each with its own OpenGL context")
	fs.IntVar(&o.inFlight, "in-flight", o.inFlight, "most frames between read and write (0: pose + render workers + 4)")
	fs.IntVar(&o.threads, "threads", o.threads, "ONNX Runtime intra-op threads per session (0: one per core)")
	fs.Float64Var(&o.alpha, "alpha", o.alpha, "mesh opacity over the frame, 0..1")
	// Look and preview.
	fs.StringVar(&o.color, "color", o.color, "mesh colour: `default` (4D-Humans' light blue) or track (a stable colour per track id)")
	fs.IntVar(&o.samples, "samples", o.samples, "anti-aliasing samples per pixel, 1 (off; about a third of the CPU time on a CPU renderer) to 16")
	fs.BoolVar(&o.preview, "preview", o.preview, "also show the output frames in a window (needs an X display, $DISPLAY); stdout still gets every frame")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ffmpeg -i IN -f rawvideo -pix_fmt rgb24 - | meshpipe -s WxH [flags] | ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -i - OUT\n\nflags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseSize reads "WxH" into positive width and height.
func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("-s %q: want a frame size WxH with positive integers, e.g. 1280x720", s)
	}
	if _, err := rawvideo.FrameSize(w, h); err != nil {
		return 0, 0, fmt.Errorf("-s %q: %w", s, err)
	}
	return w, h, nil
}

// Run is meshpipe's whole command: it parses args, builds the detector, pose model and
// renderers (failing before any frame is read if one cannot start), runs the stage graph from
// stdin to stdout, logs to stderr and returns the exit status: 0 when every frame was written,
// 1 on a failure (the message names the stage and the frame), 2 on bad flags.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := defaultOptions()
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshpipe: unexpected argument %q; frames come on stdin\n", fs.Arg(0))
		return exitUsage
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "meshpipe: %v\n", err)
		return exitUsage
	}
	w, h, err := parseSize(o.size)
	if err != nil {
		fmt.Fprintf(stderr, "meshpipe: %v\n", err)
		return exitUsage
	}
	var pv *previewer
	if o.preview {
		if pv, err = openPreview(w, h, log); err != nil {
			fmt.Fprintf(stderr, "meshpipe: -preview: %v\n", err)
			return exitError
		}
		defer pv.close()
	}
	p, err := build(o, log)
	if err != nil {
		fmt.Fprintf(stderr, "meshpipe: %v\n", err)
		return exitError
	}
	defer p.close()

	src, err := rawvideo.NewReader(stdin, w, h)
	if err != nil {
		fmt.Fprintf(stderr, "meshpipe: %v\n", err)
		return exitUsage
	}
	start := time.Now()
	stats, err := runGraph(ctx, p.cfg, src, rawvideo.NewWriter(stdout), pv)
	secs := time.Since(start).Seconds()
	log.Info("done", "frames", stats.Frames, "seconds", fmt.Sprintf("%.2f", secs),
		"fps", fmt.Sprintf("%.1f", float64(stats.Frames)/max(secs, 1e-9)), "people", stats.People)
	if err != nil {
		fmt.Fprintf(stderr, "meshpipe: %v (%d frames written before it)\n", err, stats.Frames)
		return exitError
	}
	return exitOK
}

func (o options) check() error {
	switch {
	case o.size == "":
		return errors.New("-s WxH is required: raw video carries no frame size")
	case o.poseWorkers < 1:
		return fmt.Errorf("-pose-workers %d: need at least 1", o.poseWorkers)
	case o.renderWorkers < 1:
		return fmt.Errorf("-render-workers %d: need at least 1", o.renderWorkers)
	case o.inFlight < 0:
		return fmt.Errorf("-in-flight %d: must not be negative", o.inFlight)
	case o.threads < 0:
		return fmt.Errorf("-threads %d: must not be negative", o.threads)
	case !(o.alpha >= 0 && o.alpha <= 1):
		return fmt.Errorf("-alpha %v: must be within 0..1", o.alpha)
	case o.color != "default" && o.color != "track":
		return fmt.Errorf("-color %q: want default or track", o.color)
	case o.samples < 1 || o.samples > 16:
		return fmt.Errorf("-samples %d: want 1 (no anti-aliasing) to 16", o.samples)
	}
	return nil
}
