package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/capture"
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
// ffmpeg decoding IN into a pipe. Nothing but a y4m header is read.
func openInput(o *options, pl plan, stdin io.Reader) (*input, error) {
	if pl.live {
		return openLive(o, pl)
	}
	in := &input{raw: stdin}
	format := pl.inFormat
	if o.input != "" && o.input != "-" {
		var err error
		if format, err = in.startDecoder(o, pl); err != nil {
			return nil, err
		}
	}
	br := bufio.NewReaderSize(in.raw, 1<<16)
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
			if hp := in.reader.Info().PixFmt; pl.inPixFmt != 0 && pl.inPixFmt != hp && in.dec == nil {
				err = fmt.Errorf("-pix_fmt %v, but the yuv4mpegpipe header says %v", pl.inPixFmt, hp)
			}
		}
	} else {
		p := pl.inPixFmt
		if p == 0 {
			p = rawvideo.RGB24
		}
		info := rawvideo.StreamInfo{Width: pl.inW, Height: pl.inH, PixFmt: p, Rate: pl.inRate}
		if in.dec != nil {
			info = in.info
		}
		in.reader, err = rawvideo.NewRawReader(br, info)
	}
	if err != nil {
		if in.dec != nil {
			in.finish(true)
			return nil, fmt.Errorf("-i %s: %w%s", in.file, err, in.dec.stderrTail())
		}
		return nil, fmt.Errorf("input: %w", err)
	}
	in.info = in.reader.Info()
	if !pl.inRate.IsZero() {
		in.info.Rate = pl.inRate
	}
	return in, nil
}

// probe is what ffprobe says of a file's first video stream.
type probe struct {
	w, h   int
	pixFmt string
	rate   rawvideo.Ratio
}

func ffprobe(file string) (probe, error) {
	var p probe
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height,pix_fmt,r_frame_rate,avg_frame_rate", "-of", "default=nw=1", file).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return p, fmt.Errorf("ffprobe %s: %s", file, strings.TrimSpace(string(ee.Stderr)))
		}
		return p, fmt.Errorf("ffprobe (from PATH): %w", err)
	}
	var avg, r rawvideo.Ratio
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "width":
			p.w, _ = strconv.Atoi(v)
		case "height":
			p.h, _ = strconv.Atoi(v)
		case "pix_fmt":
			p.pixFmt = v
		case "avg_frame_rate":
			avg, _ = parseRate(v, "")
		case "r_frame_rate":
			r, _ = parseRate(v, "")
		}
	}
	if p.w <= 0 || p.h <= 0 {
		return p, fmt.Errorf("ffprobe %s: no video stream", file)
	}
	// r_frame_rate is the rate ffmpeg's output runs at for a constant-rate file; avg_frame_rate
	// only when the former is unknown.
	p.rate = r
	if p.rate.IsZero() {
		p.rate = avg
	}
	return p, nil
}

// startDecoder probes IN and starts `ffmpeg -i IN` writing its video to a pipe: as y4m when
// the file is 4:2:0 or gray (so that undrawn blocks come out exactly as decoded), else as
// rgb24 rawvideo; -pix_fmt before -i picks the format instead. It returns the pipe's format.
func (in *input) startDecoder(o *options, pl plan) (string, error) {
	in.file = o.input
	pr, err := ffprobe(in.file)
	if err != nil {
		return "", fmt.Errorf("-i: %w", err)
	}
	args := []string{"-nostdin", "-v", "error"}
	if !pl.inRate.IsZero() {
		args = append(args, "-r", pl.inRate.String())
	}
	if o.duration > 0 {
		args = append(args, "-t", ffmpegDuration(o.duration))
	}
	args = append(args, "-i", in.file, "-map", "0:v:0")
	p := pl.inPixFmt
	ffFmt, format := "", "rawvideo"
	switch {
	case p == 0 && (pr.pixFmt == "yuv420p" || pr.pixFmt == "yuvj420p"):
		ffFmt, format = pr.pixFmt, "yuv4mpegpipe"
	case p == 0 && pr.pixFmt == "gray":
		ffFmt, format = "gray", "yuv4mpegpipe"
	case p == 0:
		p = rawvideo.RGB24
	case p == rawvideo.YUV420P || p == rawvideo.Gray:
		format = "yuv4mpegpipe"
	}
	if ffFmt == "" {
		ffFmt = p.String()
	}
	if format == "rawvideo" {
		if _, err := p.FrameSize(pr.w, pr.h); err != nil {
			return "", fmt.Errorf("-i %s: %w", in.file, err)
		}
		in.info = rawvideo.StreamInfo{Width: pr.w, Height: pr.h, PixFmt: p, Rate: pr.rate}
	}
	args = append(args, "-f", format, "-pix_fmt", ffFmt, "-")
	in.dec, err = startChild(args, nil)
	if err != nil {
		return "", err
	}
	in.raw = in.dec.stdout
	return format, nil
}

// output is where frames go: stdout, or an ffmpeg child encoding -o OUT.
type output struct {
	writer   *rawvideo.Writer
	info     rawvideo.StreamInfo
	y4m      bool
	isStdout bool
	file     string
	enc      *child
}

func (out *output) describe() string { return describe(out.info, out.y4m, out.file, "stdout") }

// finish closes the encoder's input and waits for it; its failure comes back with the end of
// what it printed.
func (out *output) finish() error {
	if out.enc == nil {
		return nil
	}
	out.enc.stdin.Close()
	if err := out.enc.wait(); err != nil {
		return fmt.Errorf("ffmpeg encoding %s: %w%s", out.file, err, out.enc.stderrTail())
	}
	return nil
}

// openOutput makes the output stream: the format and pix_fmt given after -i, else the
// input's (yuv420p for y4m output of an input y4m cannot carry), the input's rate unless -r
// after -i says otherwise, and the input's y4m fields. For -o OUT it starts ffmpeg reading
// that stream on a pipe and encoding it, with the audio of -i IN copied.
func openOutput(o *options, pl plan, src *input, stdout io.Writer) (*output, error) {
	out := &output{isStdout: o.output == "" || o.output == "-"}
	in := src.info
	out.y4m = pl.outFormat == "yuv4mpegpipe" || (pl.outFormat == "" && src.y4m)
	info := rawvideo.StreamInfo{Width: in.Width, Height: in.Height, PixFmt: pl.outPixFmt, Rate: in.Rate,
		Interlace: in.Interlace, Aspect: in.Aspect}
	if info.PixFmt == 0 {
		info.PixFmt = in.PixFmt
		if out.y4m && info.PixFmt != rawvideo.YUV420P && info.PixFmt != rawvideo.Gray {
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
		return nil, fmt.Errorf("output: %w", err)
	}
	out.info = info
	w := stdout
	if !out.isStdout {
		out.file = o.output
		enc, err := startEncoder(o, out)
		if err != nil {
			return nil, err
		}
		out.enc, w = enc, enc.stdin
	}
	var err error
	if out.y4m {
		out.writer, err = rawvideo.NewY4MWriter(w, info)
	} else {
		out.writer, err = rawvideo.NewRawWriter(w, info)
	}
	if err != nil {
		if out.enc != nil {
			out.enc.signal(syscall.SIGKILL)
			out.enc.wait()
		}
		return nil, err
	}
	return out, nil
}

// startEncoder starts ffmpeg reading out's stream on its stdin and writing OUT, with the
// audio streams of -i IN (if any) copied as they are.
func startEncoder(o *options, out *output) (*child, error) {
	args := []string{"-nostdin", "-v", "error"}
	if o.overwrite {
		args = append(args, "-y")
	} else {
		args = append(args, "-n")
	}
	info := out.info
	if out.y4m {
		args = append(args, "-f", "yuv4mpegpipe", "-i", "-")
	} else {
		rate := info.Rate
		if rate.IsZero() {
			rate = rawvideo.Ratio{Num: 25, Den: 1}
		}
		pf := info.PixFmt.String()
		if info.PixFmt == rawvideo.YUV420P && info.FullRange {
			pf = "yuvj420p"
		}
		args = append(args, "-f", "rawvideo", "-pix_fmt", pf, "-s", fmt.Sprintf("%dx%d", info.Width, info.Height),
			"-r", rate.String(), "-i", "-")
	}
	if o.input != "" && o.input != "-" && !capture.IsLive(o.input) {
		args = append(args, "-i", o.input, "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy")
		if o.duration > 0 {
			args = append(args, "-t", ffmpegDuration(o.duration)) // the audio too
		}
	} else {
		args = append(args, "-map", "0:v:0")
	}
	args = append(args, o.output)
	stdin := true
	return startChild(args, &stdin)
}

// child is an ffmpeg process, in its own process group so that a Ctrl-C on the terminal
// reaches meshpipe alone, which then ends the children in order.
type child struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser  // decoder: its output
	stdin  io.WriteCloser // encoder: its input
	stderr tailBuffer
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

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - 4096; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
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
