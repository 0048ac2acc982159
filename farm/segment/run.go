package segment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshpipe/meshpipe/internal/tail"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Intermediate formats of segment files. Both are lossless, so the join gives back exactly the
// frames meshpipe wrote.
const (
	// Raw is the pipe's own stream in a file (YUV4MPEG2 or rawvideo): no CPU time, 1.5 bytes a
	// pixel for 4:2:0 (about 660 KB a 768x576 frame, 3.1 MB a 1080p one).
	Raw = "raw"
	// FFVHuff is ffmpeg's lossless intra-frame codec ffvhuff in NUT: about half the size of
	// Raw, for a few ms of CPU a frame to encode and to decode.
	FFVHuff = "ffvhuff"
)

// CheckIntermediate returns an error naming the allowed values when name is not Raw or FFVHuff.
func CheckIntermediate(name string) error {
	if name != Raw && name != FFVHuff {
		return fmt.Errorf("intermediate %q: want %s or %s", name, Raw, FFVHuff)
	}
	return nil
}

// Job is one segment to run on this machine.
type Job struct {
	// Input is the video file, Probe what ProbeFile found in it.
	Input string
	Probe Probe
	// Range is the segment: the frames written and the warm-up before them.
	Range Range
	// Meshpipe is the meshpipe binary; Options its flags (people, models, performance), without
	// flags about input and output, which Run adds (see CheckOptions).
	Meshpipe string
	Options  []string
	// Intermediate is Raw or FFVHuff; Out the segment file to write (through a temporary file
	// beside it, renamed when whole, so that a reader never sees half a segment).
	Intermediate string
	Out          string
	// Progress, when set, is called after each frame written with the number written so far.
	Progress func(written int)
}

// Result is what a segment run wrote.
type Result struct {
	// Frames is the number of the range's frames in Out: Range.Len() unless the stream ended
	// first.
	Frames int
	// Skip is the number of frames at the start of Out that precede the range (the warm-up
	// frames, kept in Raw segment files, where dropping them costs a copy of every frame; the
	// join skips them).
	Skip int
	// EOF says that the stream ended before the range did (always true for the last segment).
	EOF bool
	// Seeked says that the decoder seeked to the first frame instead of decoding the frames
	// before it (see Probe.Seekable).
	Seeked bool
}

// OptionsError is meshpipe refusing its options or a model file they name: exit status 2
// (bad flags), or a failure before its first frame whose message names a file given in the
// options (a model that is missing or breaks the contract). Every segment and every retry
// would fail alike.
type OptionsError struct {
	Reason string
}

func (e *OptionsError) Error() string { return "meshpipe refused the job's options: " + e.Reason }

// Run runs the segment: ffmpeg decodes Input from the first warm-up frame (seeking there when
// the probe allows it, else decoding the frames before it, which Run drops), meshpipe draws
// the warm-up frames and the range, and its output goes to the segment file. Frames go from
// ffmpeg to meshpipe, and from meshpipe into a Raw segment file, without passing through this
// process (Result.Skip then counts the warm-up frames in the file); an FFVHuff segment file
// gets the range's frames only. Every child runs in its own process group, killed when ctx
// ends and when this process dies. Errors: *OptionsError for options meshpipe refuses, ctx's
// error when it ended, else an error naming the child that failed and what it printed.
func Run(ctx context.Context, job Job) (Result, error) {
	var res Result
	if err := CheckIntermediate(job.Intermediate); err != nil {
		return res, err
	}
	r := job.Range
	pipe := job.Probe.Pipe()
	skip := r.Start - r.Warmup // frames decoded before the first one meshpipe sees
	want := -1                 // frames meshpipe sees; -1: to the end of the stream
	if !r.Last {
		want = r.Warmup + r.Len()
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	decArgs := []string{"-nostdin", "-v", "error"}
	if skip > 0 && job.Probe.Seekable {
		t, err := job.Probe.SeekTime(skip)
		if err != nil {
			return res, fmt.Errorf("%s: seeking to frame %d: %w", job.Input, skip, err)
		}
		decArgs = append(decArgs, "-ss", t)
		res.Seeked, skip = true, 0
	}
	decArgs = append(decArgs, "-i", job.Input, "-map", "0:V:0")
	if want >= 0 {
		decArgs = append(decArgs, "-frames:v", strconv.Itoa(skip+want))
	}
	decArgs = append(decArgs, pipe.decoderArgs()...)
	dec := command(ctx, "ffmpeg", decArgs...)
	var decErr tail.Buffer
	dec.Stderr = &decErr
	decFailed := func(err error) error {
		if parent.Err() != nil {
			return parent.Err()
		}
		return fmt.Errorf("ffmpeg decoding %s: %w%s", job.Input, err, colonTail(decErr.String()))
	}

	mpArgs := append(append(append([]string{}, job.Options...), "-nostats", "-loglevel", "warning"), pipe.meshpipeInput()...)
	mp := command(ctx, job.Meshpipe, mpArgs...)
	var mpErr tail.Buffer
	mp.Stderr = &mpErr

	// ffmpeg -> meshpipe: one pipe between them, or, to drop the frames before the segment,
	// through this process.
	var fr *frameReader
	var mpIn io.WriteCloser
	var buf []byte
	var pipeEnds []*os.File // the direct pipe's ends, closed here once both children have them
	if skip == 0 {
		pr, pw, err := os.Pipe()
		if err != nil {
			return res, err
		}
		dec.Stdout, mp.Stdin = pw, pr
		pipeEnds = []*os.File{pr, pw}
		defer pr.Close()
		defer pw.Close()
		if err := dec.Start(); err != nil {
			return res, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
		}
	} else {
		decOut, err := dec.StdoutPipe()
		if err != nil {
			return res, err
		}
		if err := dec.Start(); err != nil {
			return res, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
		}
		fr, err = newFrameReader(decOut, pipe)
		for i := 0; err == nil && i < skip; i++ {
			buf, err = fr.next(buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				cancel()
			}
			werr := dec.Wait()
			if errors.Is(err, io.EOF) && werr == nil {
				// The stream ended before the segment: nothing to write but an empty stream.
				res.EOF = true
				return res, writeEmpty(job, fr)
			}
			if werr != nil {
				return res, decFailed(werr)
			}
			return res, decFailed(err)
		}
		if mpIn, err = mp.StdinPipe(); err != nil {
			return res, err
		}
	}

	// meshpipe -> segment file: the file itself for Raw, else through this process (which
	// drops the warm-up frames) into the encoder.
	dst, err := createSegment(ctx, job, pipe)
	if err != nil {
		cancel()
		dec.Wait()
		return res, err
	}
	var mpOut io.ReadCloser
	if dst.file != nil {
		mp.Stdout = dst.file
	} else if mpOut, err = mp.StdoutPipe(); err != nil {
		dst.close(false)
		cancel()
		dec.Wait()
		return res, err
	}
	if err := mp.Start(); err != nil {
		dst.close(false)
		cancel()
		dec.Wait()
		return res, fmt.Errorf("starting meshpipe %s: %w", job.Meshpipe, err)
	}
	for _, f := range pipeEnds {
		f.Close() // the children hold them now
	}

	var wg sync.WaitGroup
	var feedErr, decWaitErr, drainErr, mpWaitErr error
	fed := -1    // frames fed through this process; -1 when they went straight to meshpipe
	drained := 0 // frames meshpipe wrote through this process
	wg.Add(2)
	go func() { // the decoder, and the frames it sends through this process
		defer wg.Done()
		if fr != nil {
			fed = 0
			fw := &frameWriter{w: mpIn, y4m: pipe.Y4M, header: fr.header}
			for want < 0 || fed < want {
				var ferr error
				buf, ferr = fr.next(buf)
				if errors.Is(ferr, io.EOF) {
					break
				}
				if ferr == nil {
					ferr = fw.write(buf)
				}
				if ferr != nil {
					feedErr = ferr
					cancel()
					break
				}
				fed++
			}
			if feedErr == nil {
				feedErr = fw.flushHeader()
			}
			if err := mpIn.Close(); err != nil && feedErr == nil {
				feedErr = err
			}
			io.Copy(io.Discard, fr.br) // -frames:v has ended it; let it finish
		}
		decWaitErr = dec.Wait()
		if decWaitErr != nil {
			cancel()
		}
	}()
	stopProgress := func() {}
	if mpOut == nil {
		stopProgress = watchProgress(dst.tmp, pipe, r.Warmup, job.Progress)
	}
	go func() { // meshpipe, and its frames when they go through this process
		defer wg.Done()
		if mpOut != nil {
			drained, drainErr = drain(mpOut, pipe, dst, r.Warmup, &res, job.Progress)
			if drainErr != nil {
				cancel()
			}
			io.Copy(io.Discard, mpOut)
		}
		mpWaitErr = mp.Wait()
		if mpWaitErr != nil && exitCode(mpWaitErr) != exitNoFrame {
			cancel() // (with no frame to read, the decoder ends by itself)
		}
	}()
	wg.Wait()
	stopProgress()
	ok := drainErr == nil && mpWaitErr == nil && feedErr == nil && decWaitErr == nil
	var total int // frames meshpipe wrote, warm-up included
	var countErr error
	if dst.file != nil {
		// On a failure, the whole frames written so far (for the error's classification).
		if total, countErr = countFrames(dst.file, pipe, ok); ok && countErr == nil {
			res.Skip = min(r.Warmup, total)
			res.Frames = total - res.Skip
		}
		ok = ok && countErr == nil
	} else {
		total = drained
	}
	closeErr := dst.close(ok)

	if exitCode(mpWaitErr) == exitNoFrame && decWaitErr == nil && feedErr == nil && parent.Err() == nil {
		// The stream ended before the segment's first frame: an empty segment.
		return Result{EOF: true, Seeked: res.Seeked}, writeEmpty(job, fr)
	}
	// The child that exited with a status of its own failed first; the others were killed.
	switch {
	case exitedWithStatus(mpWaitErr):
		return res, meshpipeFailed(job, mpWaitErr, mpErr.String(), total)
	case exitedWithStatus(decWaitErr):
		return res, decFailed(decWaitErr)
	case parent.Err() != nil:
		return res, parent.Err()
	case feedErr != nil:
		return res, fmt.Errorf("feeding meshpipe: %w%s", feedErr, colonTail(mpErr.String()))
	case drainErr != nil:
		return res, fmt.Errorf("reading meshpipe's output: %w%s", drainErr, colonTail(mpErr.String()))
	case mpWaitErr != nil:
		return res, meshpipeFailed(job, mpWaitErr, mpErr.String(), total)
	case decWaitErr != nil:
		return res, decFailed(decWaitErr)
	case countErr != nil:
		return res, countErr
	case closeErr != nil:
		return res, closeErr
	}
	if fed >= 0 && total != fed {
		return res, fmt.Errorf("meshpipe wrote %d frames for the %d it was given", total, fed)
	}
	res.EOF = r.Last || (want >= 0 && total < want)
	return res, nil
}

// drain reads meshpipe's output, drops the first warmup frames and writes the others to dst,
// counting them in res.Frames and reporting them to progress. It returns the number of frames
// meshpipe wrote.
func drain(mpOut io.Reader, pipe Pipe, dst *segmentFile, warmup int, res *Result, progress func(int)) (int, error) {
	mr, err := newFrameReader(mpOut, pipe)
	if errors.Is(err, io.EOF) {
		return 0, nil // meshpipe wrote nothing; its exit status says why
	}
	if err != nil {
		return 0, err
	}
	fw := &frameWriter{w: dst, y4m: pipe.Y4M, header: mr.header}
	var frame []byte
	for {
		frame, err = mr.next(frame)
		if errors.Is(err, io.EOF) {
			return mr.frames, fw.flushHeader()
		}
		if err != nil {
			return mr.frames, err
		}
		if mr.frames <= warmup {
			continue
		}
		if err := fw.write(frame); err != nil {
			return mr.frames, fmt.Errorf("writing %s: %w", dst.name(), err)
		}
		res.Frames++
		if progress != nil {
			progress(res.Frames)
		}
	}
}

// frameLayout returns the header's length and the bytes of one frame (its FRAME line
// included) of a stream in pipe's layout that starts with head (a y4m stream's header line;
// nothing for rawvideo).
func frameLayout(head []byte, pipe Pipe) (headerLen, frameLen int, err error) {
	if !pipe.Y4M {
		pf, err := rawvideo.ParsePixFmt(pipe.PixFmt)
		if err == nil {
			frameLen, err = pf.FrameSize(pipe.Width, pipe.Height)
		}
		return 0, frameLen, err
	}
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return 0, 0, errors.New("no yuv4mpegpipe header line")
	}
	fr, err := newFrameReader(bytes.NewReader(head[:nl+1]), pipe)
	if err != nil {
		return 0, 0, err
	}
	return nl + 1, len(frameLine) + fr.size, nil
}

// countFrames returns the number of whole frames in the segment file f (from its size and
// layout); when exact is set, a file that does not end at a frame's end is an error.
func countFrames(f *os.File, pipe Pipe, exact bool) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() == 0 {
		return 0, nil
	}
	head := make([]byte, 4096)
	n, _ := f.ReadAt(head, 0)
	hl, fl, err := frameLayout(head[:n], pipe)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name(), err)
	}
	body := fi.Size() - int64(hl)
	if exact && body%int64(fl) != 0 {
		return 0, fmt.Errorf("%s: %d bytes after the header are not whole frames of %d bytes", f.Name(), body, fl)
	}
	return int(body / int64(fl)), nil
}

// watchProgress reports, twice a second, the range's frames in the segment file being written
// (its frames past the warm-up), from the file's size. stop ends it.
func watchProgress(path string, pipe Pipe, warmup int, progress func(int)) (stop func()) {
	if progress == nil {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		hl, fl := -1, 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			if hl < 0 {
				head := make([]byte, 4096)
				n, _ := f.ReadAt(head, 0)
				if h, l, err := frameLayout(head[:n], pipe); err == nil {
					hl, fl = h, l
				}
			}
			fi, err := f.Stat()
			f.Close()
			if hl >= 0 && err == nil {
				if n := int((fi.Size()-int64(hl))/int64(fl)) - warmup; n > 0 {
					progress(n)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// exitNoFrame is meshpipe's exit status for an input that holds no frame.
const exitNoFrame = 3

// exitCode is a child's exit status, or -1 when it did not exit by itself (or err is nil).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func exitedWithStatus(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() > 0
}

func colonTail(s string) string {
	if s == "" {
		return ""
	}
	return ": " + lastLines(s, 4)
}

// meshpipeFailed turns meshpipe's failure into an *OptionsError when retrying cannot help
// (exit status 2, or status 1 before any frame with a message naming a file of the options),
// else into an error with the end of what it printed.
func meshpipeFailed(job Job, err error, stderr string, written int) error {
	var ee *exec.ExitError
	msg := lastLines(stderr, 4)
	if errors.As(err, &ee) {
		switch code := ee.ExitCode(); {
		case code == 2:
			return &OptionsError{Reason: msg}
		case code == 1 && written == 0:
			for _, f := range optionFiles(job.Options) {
				if strings.Contains(stderr, f) {
					return &OptionsError{Reason: msg}
				}
			}
		}
	}
	return fmt.Errorf("meshpipe (%s) on %s: %w%s", job.Range, job.Input, err, colonTail(stderr))
}

// optionFiles returns the values of meshpipe's flags that name files or folders.
func optionFiles(opts []string) []string {
	var files []string
	for i := 0; i < len(opts); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(opts[i], "-"), "=")
		switch name {
		case "model", "detector", "body", "model-dir", "ort-lib":
			if !hasVal && i+1 < len(opts) {
				i++
				val = opts[i]
			}
			if val != "" && strings.ContainsAny(val, "/.") {
				files = append(files, val)
			}
		}
	}
	return files
}

// segmentFile is the intermediate being written: a file meshpipe writes (Raw), or an ffmpeg
// encoder's stdin (FFVHuff).
type segmentFile struct {
	tmp  string
	out  string
	file *os.File
	enc  *exec.Cmd
	in   io.WriteCloser
	errs tail.Buffer
}

func (s *segmentFile) name() string { return s.out }

func (s *segmentFile) Write(p []byte) (int, error) {
	if s.enc != nil {
		return s.in.Write(p)
	}
	return s.file.Write(p)
}

// close finishes the temporary file and, when keep is set and all went well, renames it to
// the segment's name; otherwise it is removed.
func (s *segmentFile) close(keep bool) error {
	var err error
	if s.enc != nil {
		s.in.Close()
		if werr := s.enc.Wait(); werr != nil {
			err = fmt.Errorf("ffmpeg encoding %s: %w%s", s.out, werr, colonTail(s.errs.String()))
		}
	} else {
		err = s.file.Close()
	}
	if err == nil && keep {
		err = os.Rename(s.tmp, s.out)
	}
	if err != nil || !keep {
		os.Remove(s.tmp)
	}
	return err
}

// createSegment opens the temporary file beside job.Out (a unique name, so that two attempts
// at the same segment never write one file) and, for FFVHuff, the encoder writing it.
func createSegment(ctx context.Context, job Job, pipe Pipe) (*segmentFile, error) {
	f, err := os.CreateTemp(filepath.Dir(job.Out), filepath.Base(job.Out)+".part-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil { // readable by a join running as another user
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	s := &segmentFile{tmp: f.Name(), out: job.Out, file: f}
	if job.Intermediate == Raw {
		return s, nil
	}
	f.Close()
	s.file = nil
	args := append([]string{"-nostdin", "-v", "error", "-y"}, pipe.encoderInput()...)
	args = append(args, "-map", "0:v:0", "-c:v", "ffvhuff", "-f", "nut", s.tmp)
	s.enc = command(ctx, "ffmpeg", args...)
	s.enc.Stderr = &s.errs
	if s.in, err = s.enc.StdinPipe(); err == nil {
		err = s.enc.Start()
	}
	if err != nil {
		os.Remove(s.tmp)
		return nil, fmt.Errorf("starting ffmpeg (from PATH) for %s: %w", job.Out, err)
	}
	return s, nil
}

// writeEmpty writes a segment file with no frames (a y4m header only, when there is one).
func writeEmpty(job Job, fr *frameReader) error {
	dir, base := filepath.Dir(job.Out), filepath.Base(job.Out)
	f, err := os.CreateTemp(dir, base+".part-*")
	if err != nil {
		return err
	}
	if job.Intermediate == Raw && fr != nil && fr.header != nil {
		_, err = f.Write(fr.header)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), job.Out)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
