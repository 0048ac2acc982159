package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/capture"
	"github.com/meshpipe/meshpipe/internal/tail"
	"github.com/meshpipe/meshpipe/mkvraw"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// input is where frames come from: stdin, an ffmpeg child decoding -i IN, or a live source.
type input struct {
	reader *rawvideo.Reader // nil for a live source
	info   rawvideo.StreamInfo
	y4m    bool
	file   string // IN, or "" for stdin
	// raw is the byte stream under reader: stdin or the decoder's stdout.
	raw io.Reader
	dec *child // the decoder, or nil
	// live and cam are the live source and its camera, or nil.
	live *stages.Live
	cam  *capture.Camera
	// probe and split, for -i IN: what ffprobe says of IN, and the decoder's Matroska
	// stream, which the encoder of -o OUT gets back around the new frames (outfile.go).
	probe *fileProbe
	split *mkvraw.Splitter
}

// source returns what the graph reads: the stream reader or the live source.
func (in *input) source() stages.Source {
	if in.live != nil {
		return in.live
	}
	return in.reader
}

// interrupt makes a read blocked on the input return, so that a stop takes effect even when
// no more data comes: through a read deadline where the stream has one (a pipe made
// pollable, the decoder's stdout), and by stopping the decoder.
func (in *input) interrupt() {
	if in.live != nil {
		in.live.Stop()
		return
	}
	if d, ok := in.raw.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Now())
	}
	if in.dec != nil {
		in.dec.signal(syscall.SIGTERM)
	}
}

// finish ends the decoder, if any (killing it first when kill is set, as after a stop or a
// failure, when it may be blocked writing frames no one reads), and returns its failure.
func (in *input) finish(kill bool) error {
	if in.live != nil {
		in.live.Close() // capture has stopped: the camera can close
		if err := in.cam.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", in.cam.Name(), err)
		}
		return nil
	}
	if in.dec == nil {
		return nil
	}
	if kill {
		in.dec.signal(syscall.SIGKILL)
	}
	io.Copy(io.Discard, in.raw) // let it exit if it is still writing
	err := in.dec.wait()
	if err != nil && !kill {
		return fmt.Errorf("ffmpeg decoding %s: %w", in.file, err)
	}
	return nil
}

func (in *input) describe() string {
	if in.probe != nil {
		return in.probe.describe(in.file)
	}
	if in.cam != nil {
		return fmt.Sprintf("live %s %dx%d %s fps (%s from %s)", in.info.PixFmt, in.info.Width, in.info.Height,
			in.info.Rate, in.cam.Mode().Format, in.cam.Name())
	}
	return describe(in.info, in.y4m, in.file, "stdin")
}

func describe(info rawvideo.StreamInfo, y4m bool, file, std string) string {
	f := "rawvideo"
	if y4m {
		f = "yuv4mpegpipe"
	}
	s := fmt.Sprintf("%s %s %dx%d", f, info.PixFmt, info.Width, info.Height)
	if !info.Rate.IsZero() {
		s += " " + info.Rate.String() + " fps"
	}
	if file == "" {
		file = std
	}
	return s + " (" + file + ")"
}

// openInput opens stdin (y4m found by its header unless -f says which) or, for -i IN, starts
// ffmpeg decoding IN into a pipe (infile.go). Nothing but a y4m header and the first bytes
// of the first frame is read; an input without a frame is an emptyInputError.
func openInput(o *options, pl plan, stdin io.Reader) (*input, error) {
	if pl.live {
		return openLive(o, pl)
	}
	if o.input != "" && o.input != "-" {
		return openFile(o, pl)
	}
	in := &input{raw: stdin}
	format := pl.inFormat
	br := bufio.NewReaderSize(in.raw, 1<<16)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil, emptyInputError{"stdin is empty: no frame came (did the command before the | fail?)"}
	}
	if format == "" {
		isY4M, err := rawvideo.SniffY4M(br)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		format = "rawvideo"
		if isY4M {
			format = "yuv4mpegpipe"
		} else if pl.inW == 0 {
			return nil, usageError{errors.New("-s WxH is required: rawvideo carries no frame size (a yuv4mpegpipe stream on stdin needs none)")}
		}
	}
	var err error
	if format == "yuv4mpegpipe" {
		in.y4m = true
		in.reader, err = rawvideo.NewY4MReader(br)
		if err == nil {
			if hp := in.reader.Info().PixFmt; pl.inPixFmt != 0 && pl.inPixFmt != hp {
				err = fmt.Errorf("-pix_fmt %v, but the yuv4mpegpipe header says %v", pl.inPixFmt, hp)
			}
		}
		if err == nil {
			if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
				return nil, emptyInputError{"stdin holds a yuv4mpegpipe header and no frame"}
			}
		}
	} else {
		p := pl.inPixFmt
		if p == 0 {
			p = rawvideo.RGB24
		}
		in.reader, err = rawvideo.NewRawReader(br, rawvideo.StreamInfo{Width: pl.inW, Height: pl.inH, PixFmt: p, Rate: pl.inRate})
	}
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	in.info = in.reader.Info()
	if !pl.inRate.IsZero() {
		in.info.Rate = pl.inRate
	}
	return in, nil
}

// output is where frames go: stdout, or an ffmpeg child encoding -o OUT (outfile.go).
type output struct {
	writer   *rawvideo.Writer
	info     rawvideo.StreamInfo
	y4m      bool
	isStdout bool
	file     string
	enc      *child
	// For -o OUT: the plan made before the run, the Matroska stream the frames go back into
	// (file input), and -y.
	plan      *outPlan
	joiner    *mkvraw.Joiner
	overwrite bool
}

func (out *output) describe() string {
	if out.plan == nil {
		return describe(out.info, out.y4m, out.file, "stdout")
	}
	s := out.file + " (video: "
	switch v := out.plan.video; {
	case len(v) == 2 && v[0] == "-pix_fmt":
		s += v[1]
	case len(v) == 2 && v[1] == "format=yuv420p":
		s += "yuv420p"
	case out.info.PixFmt == rawvideo.YUV420P:
		s += "yuv420p as decoded"
	default:
		s += "the encoder's choice (no 4:2:0 at an odd size)"
	}
	for _, a := range out.plan.audio {
		s += "; " + a.String()
	}
	return s + ")"
}

// finish ends the frames' stream to the encoder (the rest of the Matroska stream first, when
// every frame got through) and waits for it; its failure comes back with the end of what it
// printed.
func (out *output) finish() error {
	if out.enc == nil {
		return nil
	}
	var jerr error
	if out.joiner != nil {
		jerr = out.joiner.Close()
	}
	out.enc.stdin.Close()
	if err := out.enc.wait(); err != nil {
		return fmt.Errorf("ffmpeg encoding %s: %w%s", out.file, err, out.enc.stderrTail())
	}
	if jerr != nil {
		return fmt.Errorf("encoding %s: %w", out.file, jerr)
	}
	return nil
}

// outputStream is the stream meshpipe writes: to -o OUT from -i IN, the decoder's own frames
// (they go back into its Matroska stream); else the format and pix_fmt given after -i (for
// stdout), else the input's (yuv420p for y4m output of an input y4m cannot carry), the
// input's rate unless -r after -i says otherwise, and the input's y4m fields.
func outputStream(o *options, pl plan, src *input) (info rawvideo.StreamInfo, y4m bool, err error) {
	if src.split != nil && o.output != "" && o.output != "-" {
		return src.reader.Info(), false, nil
	}
	in := src.info
	y4m = pl.outFormat == "yuv4mpegpipe" || (pl.outFormat == "" && src.y4m)
	info = rawvideo.StreamInfo{Width: in.Width, Height: in.Height, PixFmt: pl.outPixFmt, Rate: in.Rate,
		Interlace: in.Interlace, Aspect: in.Aspect}
	if info.PixFmt == 0 {
		info.PixFmt = in.PixFmt
		if y4m && info.PixFmt != rawvideo.YUV420P && info.PixFmt != rawvideo.Gray {
			info.PixFmt = rawvideo.YUV420P
		}
	}
	if info.PixFmt == in.PixFmt {
		info.Chroma, info.Extra, info.FullRange = in.Chroma, in.Extra, in.FullRange
	}
	if !pl.outRate.IsZero() {
		info.Rate = pl.outRate
	}
	if _, err := info.PixFmt.FrameSize(info.Width, info.Height); err != nil {
		return info, false, fmt.Errorf("output: %w", err)
	}
	return info, y4m, nil
}

// openOutput makes the output stream (outputStream). For -o OUT it starts ffmpeg reading that
// stream on a pipe and encoding it as plan says, into the plan's file beside OUT (settle
// renames it).
func openOutput(o *options, pl plan, src *input, plan *outPlan, stdout io.Writer) (*output, error) {
	out := &output{isStdout: o.output == "" || o.output == "-", plan: plan, overwrite: o.overwrite}
	var err error
	if out.info, out.y4m, err = outputStream(o, pl, src); err != nil {
		return nil, err
	}
	info := out.info
	w := stdout
	if !out.isStdout {
		out.file = o.output
		stdin := true
		if out.enc, err = startChild(encoderArgs(o, pl, src, out), &stdin); err != nil {
			return nil, err
		}
		w = out.enc.stdin
		if src.split != nil {
			size, _ := info.PixFmt.FrameSize(info.Width, info.Height)
			out.joiner = mkvraw.NewJoiner(w, src.split, size)
			w = out.joiner
		}
	}
	if out.y4m {
		out.writer, err = rawvideo.NewY4MWriter(w, info)
	} else {
		out.writer, err = rawvideo.NewRawWriter(w, info)
	}
	if err != nil {
		if out.enc != nil {
			out.enc.signal(syscall.SIGKILL)
			out.enc.wait()
			os.Remove(plan.tmp)
		}
		return nil, err
	}
	return out, nil
}

// child is an ffmpeg process, in its own process group so that a Ctrl-C on the terminal
// reaches meshpipe alone, which then ends the children in order.
type child struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser  // decoder: its output
	stdin  io.WriteCloser // encoder: its input
	stderr tail.Buffer
	done   chan struct{}
	err    error
	once   sync.Once
}

// startChild starts ffmpeg with args and a pipe on its stdout, or on its stdin when wantStdin
// is set (its stdout then goes to /dev/null). What it prints on stderr is kept for errors.
func startChild(args []string, wantStdin *bool) (*child, error) {
	c := &child{cmd: exec.Command("ffmpeg", args...), done: make(chan struct{})}
	c.cmd.Stderr = &c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if wantStdin != nil {
		c.stdin, err = c.cmd.StdinPipe()
	} else {
		c.stdout, err = c.cmd.StdoutPipe()
	}
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
	}
	return c, nil
}

func (c *child) signal(s syscall.Signal) {
	select {
	case <-c.done:
	default:
		c.cmd.Process.Signal(s)
	}
}

// wait waits for the process once and returns why it failed, if it did.
func (c *child) wait() error {
	c.once.Do(func() {
		c.err = c.cmd.Wait()
		close(c.done)
	})
	return c.err
}

// stderrTail returns ": " and the last lines ffmpeg printed, or "" when it printed nothing.
func (c *child) stderrTail() string {
	s := strings.TrimSpace(c.stderr.String())
	if s == "" {
		return ""
	}
	return ":\n" + s
}

// pollableStdin returns stdin as a file whose reads a deadline can interrupt, when it is a
// pipe: it sets O_NONBLOCK on fd 0 (Go's poller then waits on it), and restore puts the
// blocking mode back. Other stdins (terminal, file) are returned as they are.
func pollableStdin() (stdin *os.File, restore func()) {
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return os.Stdin, func() {}
	}
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin, func() {}
	}
	return os.NewFile(0, "/dev/stdin"), func() { syscall.SetNonblock(0, false) }
}

// usageError is a missing or wrong flag found only once the input was looked at.
type usageError struct{ error }
