package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/capture"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/pipeline"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a stage failed, the input was bad, or ffmpeg failed
	exitUsage = 2 // bad flags
	// exitSignal + N: stopped by signal N (130 for SIGINT, 143 for SIGTERM) after writing
	// every frame read, as shells report a process killed by N.
	exitSignal = 128
	// exitPipe: the reader of stdout went away (EPIPE); meshpipe stops quietly, with the
	// status a process killed by SIGPIPE has (128 + 13).
	exitPipe = exitSignal + int(syscall.SIGPIPE)
)

// options are the command-line settings, bound to flags by (*options).flags. The embedded
// pipeline.Options are what pipeline.Open makes the parts from; the rest is the pipe's own
// input, output and logging.
type options struct {
	pipeline.Options

	input, output string // -i, -o: "" or "-" for stdin, stdout
	in, out       streamOptions
	cur           *streamOptions // &in before -i, &out after it
	overwrite     bool
	file          fileOptions   // -an, -c:a (outfile.go)
	duration      time.Duration // -t; 0 for the whole input
	listDevices   bool
	preview       bool
	motion        string // -motion DIR (motion.go)

	logLevel  slog.Level
	stats     int    // statsAuto, statsOn or statsOff
	statsFile string // -stats_file: the run's figures as JSON (statsfile.go)
	version   bool
}

// streamOptions are ffmpeg's per-stream options; which stream they describe depends on
// where they stand: before -i the input, after it the output.
type streamOptions struct {
	format string // -f: "rawvideo" or "yuv4mpegpipe"; "" default
	size   string // -s
	pixFmt string // -pix_fmt
	rate   string // -r
}

const (
	statsAuto = iota // when stderr is a terminal and the log level is info or more
	statsOn
	statsOff
)

func defaultOptions() *options {
	o := &options{Options: pipeline.DefaultOptions(), logLevel: slog.LevelInfo}
	o.Prefix = "-"
	o.cur = &o.in
	return o
}

// flags defines every flag, grouped as -h shows them. A new flag is one line here; an option
// the plugin offers too is a line of pipeline.Shared, bound here by name.
func (o *options) flags(d *flagSet) {
	d.group("Input and output (as in ffmpeg, -f, -s, -pix_fmt and -r before -i describe the input, after -i the output)")
	d.fn("i", "IN", "input file, decoded by ffmpeg; testsrc, webcam, webcam:N or /dev/videoN: a live source (none or -: frames on stdin)", "", o.setInput)
	d.str(&o.output, "o", "OUT", "output file, encoded by ffmpeg with IN's audio (none or -: frames on stdout)")
	d.fn("f", "FMT", "rawvideo or yuv4mpegpipe (input: found from stdin's first bytes; output: the input's)", "", o.stream(func(s *streamOptions) *string { return &s.format }))
	d.fn("s,video_size", "WxH", "frame size of rawvideo input, or asked of a live source (y4m and files carry their own)", "", o.stream(func(s *streamOptions) *string { return &s.size }))
	d.fn("pix_fmt", "FMT", "pixel format: "+pixFmtNames()+" (input: rgb24; output: the input's); after -i with -o OUT: OUT's, any its encoder takes (default: yuv420p where the size allows)", "", o.stream(func(s *streamOptions) *string { return &s.pixFmt }))
	d.fn("r", "RATE", "frame rate, e.g. 25, 30000/1001, 29.97 or ntsc (input: for speed and the y4m header, or asked of a live source; output: the y4m header or encoder)", "", o.stream(func(s *streamOptions) *string { return &s.rate }))
	d.fn("t", "DURATION", "stop after DURATION of input: the frames whose time is below it (a camera: capture time); 5, 2.5, 500ms, 1:30", "", o.setDuration)
	d.boolean(&o.overwrite, "y", "overwrite OUT if it exists")
	o.fileFlags(d)
	d.boolean(&o.preview, "preview", "also show the output frames in a window (needs an X display, $DISPLAY); the output still gets every frame")

	d.group("People and meshes (the frei0r plugin has each of these as a parameter of the same name)")
	o.shared(d, "pose-model", "model", "model-dir", "detector", "detect-every", "alpha", "color", "samples", "max-people", "body", "smooth")
	d.str(&o.Poses, "poses", "FILE.jsonl", "also write each frame's people to FILE (schema in README.md)")
	d.str(&o.motion, "motion", "DIR", motionUsage)

	d.group("Performance")
	o.shared(d, "ort-lib")
	d.num(&o.PoseWorkers, "pose-workers", "N", "pose workers sharing one ONNX Runtime session")
	d.num(&o.RenderWorkers, "render-workers", "N", "render workers, each with its own OpenGL context (0: 1 on a software renderer such as llvmpipe, 4 on a GPU)")
	d.num(&o.InFlight, "in-flight", "N", "most frames between read and write (0: pose workers x batch + render workers + 4; live: + 2)")
	o.shared(d, "threads")
	d.num(&o.Batch, "batch", "N", "most person crops per pose-model run, gathered from consecutive frames")
	o.shared(d, "device")
	d.boolean(&o.NoRender, "no-render", "draw nothing and make no OpenGL context: people are still found and posed, frames pass through unchanged (to measure the rest)")

	d.group("Logging and information")
	d.fn("loglevel,v", "LEVEL", "quiet, error, warning, info, verbose or debug", "info", o.setLogLevel)
	d.boolFn("stats", "show the progress line and the stage summary even when stderr is not a terminal", func() error { o.stats = statsOn; return nil })
	d.boolFn("nostats", "show neither, even on a terminal", func() error { o.stats = statsOff; return nil })
	d.str(&o.statsFile, "stats_file", "FILE.json", "at the end, write the run's figures to FILE: frames, fps, and each stage's busy share and p50/p95 (schema in README.md)")
	d.boolean(&o.version, "version", "print the versions of meshpipe, ONNX Runtime and OpenGL found, and exit")
	d.boolean(&o.listDevices, "list_devices", "list the live sources: the test pattern and the cameras found, with their sizes and rates, and exit")
}

// shared binds the options of pipeline.Shared called names to flags of the same names.
func (o *options) shared(d *flagSet, names ...string) {
	for _, name := range names {
		s := pipeline.SharedOption(name)
		switch p := s.Field(&o.Options).(type) {
		case *string:
			d.str(p, s.Name, s.Arg, s.Usage)
		case *int:
			d.num(p, s.Name, s.Arg, s.Usage)
		case *float64:
			d.float(p, s.Name, s.Arg, s.Usage)
		}
	}
}

const usageHead = `usage: meshpipe [input options] [-i IN] [output options] [-o OUT] [options]

Draws the 3D body mesh of every person over each frame: frames in on stdin (or decoded from
IN by ffmpeg), the same frames, same size and order, out on stdout (or encoded into OUT).

  ffmpeg -i in.mp4 -f yuv4mpegpipe - | meshpipe | ffmpeg -i - out.mp4
  ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - | meshpipe -s 1280x720 | ffmpeg -f rawvideo -pix_fmt rgb24 -s 1280x720 -r 30 -i - out.mp4
  meshpipe -i in.mp4 -o out.mp4
  meshpipe -i webcam -f yuv4mpegpipe - | ffplay -
  meshpipe motion -poses poses.jsonl -o motion/   (BVH and glTF files per track; meshpipe motion -h)

Exit status: 0 every frame written; 1 failure (the message names the stage and frame);
2 bad flags; 3 the input holds no frame; 130/143 stopped by SIGINT/SIGTERM after writing
every frame read (a second signal exits at once); 141 the reader of stdout went away.
`

func pixFmtNames() string {
	s := make([]string, len(rawvideo.PixFmts))
	for i, p := range rawvideo.PixFmts {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// stream returns the setter of one stream option of whichever stream is current.
func (o *options) stream(field func(*streamOptions) *string) func(string) error {
	return func(v string) error { *field(o.cur) = v; return nil }
}

// setInput takes -i: the options after it describe the output.
func (o *options) setInput(v string) error {
	if o.cur == &o.out {
		return errors.New("only one input")
	}
	o.input, o.cur = v, &o.out
	return nil
}

// logLevels maps ffmpeg's -loglevel names to slog levels. verbose sits between info and debug.
var logLevels = map[string]slog.Level{
	"quiet": slog.LevelError + 100, "panic": slog.LevelError, "fatal": slog.LevelError, "error": slog.LevelError,
	"warning": slog.LevelWarn, "info": slog.LevelInfo, "verbose": slog.LevelInfo - 2, "debug": slog.LevelDebug, "trace": slog.LevelDebug,
}

const levelVerbose = slog.LevelInfo - 2

func (o *options) setLogLevel(v string) error {
	l, ok := logLevels[strings.ToLower(v)]
	if !ok {
		return errors.New("want quiet, error, warning, info, verbose or debug")
	}
	o.logLevel = l
	return nil
}

// logger writes meshpipe's messages to stderr at or above its level.
type logger struct {
	*slog.Logger
	w     io.Writer
	level slog.Level
}

func newLogger(w io.Writer, level slog.Level) *logger {
	return &logger{Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), w: w, level: level}
}

func (l *logger) printf(level slog.Level, format string, args ...any) {
	if level >= l.level {
		fmt.Fprintf(l.w, "meshpipe: "+format+"\n", args...)
	}
}

// Run is meshpipe's whole command: it parses args, builds the detector, pose model and
// renderers (failing before any frame is read if one cannot start), opens the input (stdin,
// rawvideo or y4m, or an ffmpeg decoding -i IN) and the output (stdout or an ffmpeg encoding
// -o OUT), runs the stage graph, logs to stderr and returns the exit status (see usageHead).
//
// Cancelling ctx stops reading: the frames already read are finished and written, and Run
// returns 128+N when context.Cause(ctx) is a stopSignal for signal N, else 1.
//
// With "motion" as the first argument Run is the motion subcommand instead (runMotion): motion
// files from a -poses file.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "motion" {
		return runMotion(args[1:], stderr)
	}
	o, extra, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	log := newLogger(stderr, o.logLevel)
	for _, a := range extra {
		switch {
		case a == "-" && (o.output == "" || o.output == "-"):
			o.output = "-"
		case a == "true" && o.listDevices:
			// ffmpeg's spelling, -list_devices true
		default:
			log.printf(slog.LevelError, "unexpected argument %q; frames come on stdin or from -i IN, and go to stdout (-) or to -o OUT", a)
			return exitUsage
		}
	}
	if o.version {
		printVersion(stdout, o)
		return exitOK
	}
	if o.listDevices {
		printDevices(stdout, capture.Devices())
		return exitOK
	}
	plan, err := o.check()
	if err != nil {
		log.printf(slog.LevelError, "%v", err)
		return exitUsage
	}
	if o.output != "" && o.output != "-" && !o.overwrite {
		if _, err := os.Stat(o.output); err == nil {
			log.printf(slog.LevelError, "-o %s: the file exists; add -y to overwrite it", o.output)
			return exitError
		}
	}
	if o.preview {
		if err := checkDisplay(os.Getenv("DISPLAY")); err != nil {
			log.printf(slog.LevelError, "-preview: %v", err)
			return exitError
		}
	}
	p, in, outPlan, code := startUp(ctx, o, plan, stdin, log)
	if p == nil {
		return code
	}
	defer p.Close()
	mo, err := openMotion(o, p)
	if err != nil {
		in.finish(true)
		log.printf(slog.LevelError, "%v", err)
		return exitError
	}
	out, err := openOutput(o, plan, in, outPlan, stdout)
	if err != nil {
		in.finish(true)
		log.printf(slog.LevelError, "%v", err)
		return exitError
	}
	if in.reader != nil {
		in.reader.SetKeepDecoded(out.writer != nil && out.info.PixFmt == rawvideo.YUV420P)
	}
	log.Info("streams", "input", in.describe(), "output", out.describe())
	var pv *previewer
	if o.preview {
		if pv, err = openPreview(in.info.Width, in.info.Height, log.Logger); err != nil {
			in.finish(true)
			out.finish()
			log.printf(slog.LevelError, "-preview: %v", err)
			return exitError
		}
		defer pv.close()
	}

	// A stop (signal) ends reading; the graph itself runs on to write what was read.
	src := stages.Until(in.source(), ctx.Done())
	var sink stages.Sink = out.writer
	if in.live != nil {
		sink = in.live.Sink(out.writer) // capture-to-output latency
		if o.InFlight == 0 {
			p.Config.InFlight = liveInFlight(p.Config)
		}
	} else if o.duration > 0 && in.split == nil { // the decoder of -i IN stops at -t itself
		src = limitDuration(src, o.duration, in.info.Rate)
	}
	stopWatch := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			log.printf(slog.LevelWarn, "%v: no more frames are read; finishing those in flight (again to exit at once)", stopName(ctx))
			in.interrupt()
		case <-stopWatch:
		}
	}()

	rec := stages.NewRecorder()
	p.Config.Recorder = rec
	prog := startProgress(o, log, stderr, rec, in.info.Rate.Float(), in.live)
	cpu0 := processCPU()
	stats, runErr := runGraph(context.WithoutCancel(ctx), p.Config, src, sink, pv)
	cpu := processCPU() - cpu0
	close(stopWatch)
	prog.stop()
	if runErr == nil {
		runErr = out.writer.Close()
	}
	stopped := ctx.Err() != nil
	inErr := in.finish(stopped || runErr != nil)
	outErr := out.finish()
	// What the error says of -o OUT, which holds the frames written unless the encoder failed.
	outNote, placeErr := out.settle(stats.Frames, runErr != nil || outErr != nil || inErr != nil && !stopped, stopped, outErr)
	prog.summary()

	secs := rec.Progress().Elapsed.Seconds()
	done := []any{"frames", stats.Frames, "seconds", fmt.Sprintf("%.2f", secs),
		"fps", fmt.Sprintf("%.1f", float64(stats.Frames)/max(secs, 1e-9)), "people", stats.People}
	if n := p.FramesOverMaxPeople(); n > 0 {
		done = append(done, "frames_over_max_people", n)
	}
	if in.live != nil {
		ls := in.live.Stats()
		done = append(done, "captured", ls.Captured, "dropped", ls.Dropped,
			"latency_p50", ms(ls.LatencyP50), "latency_p95", ms(ls.LatencyP95))
	}
	if p.Tracking != nil {
		t := p.Tracking.Times()
		done = append(done, "detector_runs", t.DetectorRuns, "new_regions", t.RegionsFound, "tracked_regions", t.Tracked)
	}
	log.Info("done", done...)
	motionErr := mo.write(in.info.Rate, log) // what was written, also after a stop or a failure
	var statsErr error
	if o.statsFile != "" {
		statsErr = writeStatsFile(o.statsFile, figures(o, p, rec, cpu, in.info.Width, in.info.Height, in.live))
	}
	switch {
	case runErr != nil && errors.Is(runErr, syscall.EPIPE) && out.isStdout:
		log.printf(slog.LevelDebug, "stdout closed by its reader after %d frames: stopping", stats.Frames)
		return exitPipe
	case runErr != nil:
		if outErr != nil && errors.Is(runErr, syscall.EPIPE) {
			runErr = outErr // the encoder died: its message says why
		}
		log.printf(slog.LevelError, "%v (%d frames written before it)%s", runErr, stats.Frames, outNote)
		return exitError
	case outErr != nil:
		log.printf(slog.LevelError, "%v%s", outErr, outNote)
		return exitError
	case inErr != nil && !stopped:
		log.printf(slog.LevelError, "%v%s", inErr, outNote)
		return exitError
	case placeErr != nil:
		log.printf(slog.LevelError, "%v", placeErr)
		return exitError
	case stopped:
		log.printf(slog.LevelWarn, "stopped by %v after %d frames: every frame read was written", stopName(ctx), stats.Frames)
		return stopStatus(ctx)
	case statsErr != nil:
		log.printf(slog.LevelError, "%v", statsErr)
		return exitError
	case motionErr != nil:
		log.printf(slog.LevelError, "%v", motionErr)
		return exitError
	}
	return exitOK
}

// openParts makes the detector, pose model, body and renderers (pipeline.Open), so that each
// fails, if it must, before the first frame is read, and logs what they are. More people than
// -max-people on a frame is warned about once.
func openParts(o *options, log *logger) (*pipeline.Parts, error) {
	o.OverMaxPeople = func(seq int64, found int) {
		log.printf(slog.LevelWarn, "frame %d: %d people found, more than -max-people %d: drawing the %d largest "+
			"(said once; the closing line counts the frames)", seq, found, o.MaxPeople, o.MaxPeople)
	}
	p, err := pipeline.Open(o.Options)
	if err != nil {
		return nil, err
	}
	if p.DeviceNote != "" {
		log.printf(slog.LevelInfo, "-device auto: CUDA is not available, running on the CPU (-loglevel verbose says why)")
		log.printf(levelVerbose, "-device auto: %s", p.DeviceNote)
	}
	log.Info("pose", "device", p.Device, "batch", o.Batch, "body", p.Body, "vertices", p.Vertices)
	log.Info("meshpipe", "onnxruntime", ort.Version(), "pose_model", p.PoseModel, "detector", p.Detector,
		"renderer", p.Renderer, "pose_workers", o.PoseWorkers, "render_workers", len(p.Config.Renderers))
	return p, nil
}

// parseArgs binds args to the options, as Run does first: it returns the options and the
// arguments that are not flags, in order (Run allows "-" for stdout and "true" after
// -list_devices). For -h it writes the help to stderr and returns flag.ErrHelp; for a bad or
// unknown flag the flag package has written the error, naming the flag, to stderr, and the
// error is returned. Nothing is opened or loaded.
func parseArgs(args []string, stderr io.Writer) (o *options, extra []string, err error) {
	o = defaultOptions()
	d := newFlags("meshpipe", stderr)
	o.flags(d)
	d.fs.Usage = func() { d.usage(stderr, usageHead) }
	// Go's flag package stops at the first argument that is not a flag; as in ffmpeg, a "-"
	// there is the output (stdout), and flags may follow it.
	for rest := args; ; {
		if err := d.fs.Parse(rest); err != nil {
			return o, extra, err
		}
		if d.fs.NArg() == 0 {
			return o, extra, nil
		}
		extra = append(extra, d.fs.Arg(0))
		rest = d.fs.Args()[1:]
	}
}

// stopSignal is the cause with which main cancels Run's context on SIGINT or SIGTERM.
type stopSignal struct{ sig syscall.Signal }

func (s stopSignal) Error() string { return s.sig.String() }

func stopName(ctx context.Context) string {
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		return strings.ToUpper("SIG" + signalNames[s.sig])
	}
	return "cancel"
}

var signalNames = map[syscall.Signal]string{syscall.SIGINT: "int", syscall.SIGTERM: "term"}

// stopStatus is the exit status of a run stopped through ctx.
func stopStatus(ctx context.Context) int {
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		return exitSignal + int(s.sig)
	}
	return exitError
}

// plan is what check made of the stream flags.
type plan struct {
	live     bool            // -i names a live source (capture.IsLive)
	inFormat string          // "rawvideo", "yuv4mpegpipe" or "" (sniff stdin / pick for IN)
	inPixFmt rawvideo.PixFmt // 0: rgb24 for rawvideo, the header's for y4m, picked for IN
	inW, inH int             // 0: not given
	inRate   rawvideo.Ratio

	outFormat string
	outPixFmt rawvideo.PixFmt // 0: the input's
	outRate   rawvideo.Ratio
}

func (o *options) check() (plan, error) {
	var pl plan
	if err := o.Options.Check(); err != nil {
		return pl, err
	}
	pl.live = capture.IsLive(o.input)
	file := o.input != "" && o.input != "-" && !pl.live
	if pl.live {
		switch {
		case o.in.format != "":
			return pl, fmt.Errorf("-f %s before -i %s: a live source has no format to give", o.in.format, o.input)
		case o.in.pixFmt != "":
			return pl, fmt.Errorf("-pix_fmt %s before -i %s: meshpipe picks the camera's format and converts it to rgb24", o.in.pixFmt, o.input)
		case o.in.size != "" && o.out.size != "" && o.in.size != o.out.size:
			return pl, fmt.Errorf("-s %s before -i %s and -s %s after it: meshpipe does not scale; give the size once", o.in.size, o.input, o.out.size)
		}
		// A live source is captured at the output's size, and at its rate unless -r before
		// -i says otherwise: -s and -r after -i ask the camera.
		if o.out.size != "" {
			o.in.size, o.out.size = o.out.size, ""
		}
		if o.in.rate == "" {
			o.in.rate = o.out.rate
		}
	}
	var err error
	if pl.inFormat, err = parseFormat(o.in.format, "input"); err != nil {
		return pl, err
	}
	if pl.outFormat, err = parseFormat(o.out.format, "output"); err != nil {
		return pl, err
	}
	if o.in.pixFmt != "" {
		if pl.inPixFmt, err = rawvideo.ParsePixFmt(o.in.pixFmt); err != nil {
			return pl, fmt.Errorf("-pix_fmt: %w", err)
		}
	}
	if err := o.checkFile(pl.live); err != nil {
		return pl, err
	}
	if o.out.pixFmt != "" && !o.fileOut() { // OUT's pix_fmt is ffmpeg's to check (outfile.go)
		if pl.outPixFmt, err = rawvideo.ParsePixFmt(o.out.pixFmt); err != nil {
			return pl, fmt.Errorf("-pix_fmt (output): %w", err)
		}
	}
	if pl.inRate, err = parseRate(o.in.rate, "-r"); err != nil {
		return pl, err
	}
	if pl.outRate, err = parseRate(o.out.rate, "-r (output)"); err != nil {
		return pl, err
	}
	if o.out.size != "" {
		return pl, fmt.Errorf("-s %s after -i: meshpipe does not scale; the output has the input's size", o.out.size)
	}
	if file && (o.in.size != "" || o.in.format != "") {
		return pl, fmt.Errorf("-i %s: -s and -f describe raw input on stdin; a file carries its own", o.input)
	}
	if pl.inFormat == "yuv4mpegpipe" && o.in.size != "" {
		return pl, fmt.Errorf("-s %s: a yuv4mpegpipe stream carries its own size", o.in.size)
	}
	if o.in.size != "" {
		if pl.inW, pl.inH, err = parseSize(o.in.size, pl.inPixFmt); err != nil {
			return pl, err
		}
	} else if pl.inFormat == "rawvideo" {
		return pl, errors.New("-s WxH is required: rawvideo carries no frame size")
	}
	if pl.outFormat == "yuv4mpegpipe" && pl.outPixFmt != 0 && pl.outPixFmt != rawvideo.YUV420P && pl.outPixFmt != rawvideo.Gray {
		return pl, fmt.Errorf("-pix_fmt %v: yuv4mpegpipe output carries yuv420p or gray", pl.outPixFmt)
	}
	if pl.inFormat == "yuv4mpegpipe" && pl.inPixFmt != 0 && pl.inPixFmt != rawvideo.YUV420P && pl.inPixFmt != rawvideo.Gray {
		return pl, fmt.Errorf("-pix_fmt %v: yuv4mpegpipe input carries yuv420p or gray", pl.inPixFmt)
	}
	return pl, nil
}

func parseFormat(s, which string) (string, error) {
	switch s {
	case "", "rawvideo", "yuv4mpegpipe":
		return s, nil
	case "y4m":
		return "yuv4mpegpipe", nil
	}
	return "", fmt.Errorf("-f %q (%s): want rawvideo or yuv4mpegpipe", s, which)
}

// parseSize reads "WxH" into a frame size that pix_fmt p (rgb24 when 0) can hold.
func parseSize(s string, p rawvideo.PixFmt) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		_, err = fmt.Sscanf(a+" "+b, "%d %d", &w, &h)
	}
	if !ok || err != nil || w <= 0 || h <= 0 || strings.ContainsAny(a+b, "+ ") {
		return 0, 0, fmt.Errorf("-s %q: want a frame size WxH with positive integers, e.g. 1280x720", s)
	}
	if p == 0 {
		p = rawvideo.RGB24
	}
	if _, err := p.FrameSize(w, h); err != nil {
		return 0, 0, fmt.Errorf("-s %q: %w", s, err)
	}
	return w, h, nil
}

// parseRate reads a frame rate as ffmpeg writes one: "25", "30000/1001", "29.97", or the
// abbreviations ntsc (30000/1001), pal (25), film (24) and ntsc-film (24000/1001). Decimals
// near an NTSC rate (n*1000/1001) are taken as that rate.
func parseRate(s, flagName string) (rawvideo.Ratio, error) {
	if s == "" {
		return rawvideo.Ratio{}, nil
	}
	bad := fmt.Errorf("%s %q: want a frame rate such as 25, 30000/1001, 29.97 or ntsc", flagName, s)
	switch strings.ToLower(s) {
	case "ntsc":
		return rawvideo.Ratio{Num: 30000, Den: 1001}, nil
	case "pal":
		return rawvideo.Ratio{Num: 25, Den: 1}, nil
	case "film":
		return rawvideo.Ratio{Num: 24, Den: 1}, nil
	case "ntsc-film":
		return rawvideo.Ratio{Num: 24000, Den: 1001}, nil
	}
	if a, b, ok := strings.Cut(s, "/"); ok {
		var n, d int
		if _, err := fmt.Sscanf(a+" "+b, "%d %d", &n, &d); err != nil || n <= 0 || d <= 0 {
			return rawvideo.Ratio{}, bad
		}
		return rawvideo.Ratio{Num: n, Den: d}, nil
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil || !(f > 0 && f < 1e6) {
		return rawvideo.Ratio{}, bad
	}
	for _, k := range []int{24, 30, 48, 60, 120} {
		if ntsc := float64(k) * 1000 / 1001; f != float64(k) && f > ntsc-0.006 && f < ntsc+0.006 {
			return rawvideo.Ratio{Num: k * 1000, Den: 1001}, nil
		}
	}
	n := int(f*1000 + 0.5)
	g := gcd(n, 1000)
	return rawvideo.Ratio{Num: n / g, Den: 1000 / g}, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// printVersion writes meshpipe's version and the ONNX Runtime and OpenGL it finds to stdout.
func printVersion(stdout io.Writer, o *options) {
	fmt.Fprintf(stdout, "meshpipe %s\n", version)
	path, tried := ort.FindLibrary(ort.DefaultLibraryInputs(o.ORTLib))
	switch {
	case path == "":
		fmt.Fprintf(stdout, "ONNX Runtime: not found (tried %s)\n", strings.Join(tried, ", "))
	case ort.Init(path) != nil:
		fmt.Fprintf(stdout, "ONNX Runtime: %s does not load: %v\n", path, ort.Init(path))
	default:
		fmt.Fprintf(stdout, "ONNX Runtime %s (%s)\n", ort.Version(), path)
	}
	fmt.Fprintf(stdout, "OpenGL: %s\n", glVersion())
}
