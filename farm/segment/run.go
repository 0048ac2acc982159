package segment

import (
	"bufio"
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
	// Frames is the number of frames written to Out: Range.Len() unless the stream ended first.
	Frames int
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

// Run runs the segment: ffmpeg decodes Input (seeking to the first warm-up frame when the probe
// allows it, else decoding the frames before it and dropping them here), meshpipe draws the
// warm-up frames and the range, the warm-up frames' output is dropped, and the range's frames
// go to the intermediate file. Every child runs in its own process group, killed when ctx ends
// and when this process dies. Errors: *OptionsError for options meshpipe refuses, ctx's error
// when it ended, else an error naming the child that failed and what it printed.
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
		decArgs = append(decArgs, "-ss", strconv.FormatFloat(t, 'f', 6, 64))
		res.Seeked, skip = true, 0
	}
	decArgs = append(decArgs, "-i", job.Input, "-map", "0:v:0")
	if res.Seeked {
		// The first frame kept lands up to half a frame after time 0: a constant-rate output
		// would put a copy of it before it. The probe found the file's frames evenly spaced, so
		// every frame passes through as it is, as from a decode from the start.
		decArgs = append(decArgs, "-fps_mode", "passthrough")
	}
	if want >= 0 {
		decArgs = append(decArgs, "-frames:v", strconv.Itoa(skip+want))
	}
	decArgs = append(decArgs, pipe.decoderArgs()...)
	dec := command(ctx, "ffmpeg", decArgs...)
	var decErr tailBuffer
	dec.Stderr = &decErr
	decOut, err := dec.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := dec.Start(); err != nil {
		return res, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
	}
	decFailed := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ffmpeg decoding %s: %w%s", job.Input, err, colonTail(decErr.String()))
	}
	fr, err := newFrameReader(decOut, pipe)
	var buf []byte
	for i := 0; err == nil && i < skip; i++ {
		buf, err = fr.next(buf)
	}
	if err != nil {
		cancel()
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

	mpArgs := append(append(append([]string{}, job.Options...), "-nostats", "-loglevel", "warning"), pipe.meshpipeInput()...)
	mp := command(ctx, job.Meshpipe, mpArgs...)
	var mpErr tailBuffer
	mp.Stderr = &mpErr
	mpIn, err := mp.StdinPipe()
	if err != nil {
		return res, err
	}
	mpOut, err := mp.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := mp.Start(); err != nil {
		cancel()
		dec.Wait()
		return res, fmt.Errorf("starting meshpipe %s: %w", job.Meshpipe, err)
	}

	dst, err := createSegment(ctx, job, pipe)
	if err != nil {
		cancel()
		dec.Wait()
		mp.Wait()
		return res, err
	}

	var wg sync.WaitGroup
	var feedErr, decWaitErr, drainErr, mpWaitErr error
	fed := 0
	wg.Add(2)
	go func() { // decoder -> meshpipe
		defer wg.Done()
		fw := &frameWriter{w: mpIn, y4m: pipe.Y4M, header: fr.header}
		for want < 0 || fed < want {
			buf, err = fr.next(buf)
			if errors.Is(err, io.EOF) {
				res.EOF = true
				break
			}
			if err == nil {
				err = fw.write(buf)
			}
			if err != nil {
				feedErr = err
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
		io.Copy(io.Discard, decOut) // -frames:v has ended it; let it finish
		decWaitErr = dec.Wait()
		if decWaitErr != nil {
			cancel()
		}
	}()
	go func() { // meshpipe -> segment file, after the warm-up frames
		defer wg.Done()
		drainErr = func() error {
			mr, err := newFrameReader(mpOut, pipe)
			if errors.Is(err, io.EOF) {
				return nil // meshpipe wrote nothing; its exit status says why
			}
			if err != nil {
				return err
			}
			fw := &frameWriter{w: dst, y4m: pipe.Y4M, header: mr.header}
			var frame []byte
			for {
				frame, err = mr.next(frame)
				if errors.Is(err, io.EOF) {
					return fw.flushHeader()
				}
				if err != nil {
					return err
				}
				if mr.frames <= r.Warmup {
					continue
				}
				if err := fw.write(frame); err != nil {
					return fmt.Errorf("writing %s: %w", dst.name(), err)
				}
				res.Frames++
				if job.Progress != nil {
					job.Progress(res.Frames)
				}
			}
		}()
		if drainErr != nil {
			cancel()
		}
		io.Copy(io.Discard, mpOut)
		mpWaitErr = mp.Wait()
		if mpWaitErr != nil {
			cancel()
		}
	}()
	wg.Wait()
	closeErr := dst.close(drainErr == nil && mpWaitErr == nil && feedErr == nil && decWaitErr == nil)

	// The child that exited with a status of its own failed first; the others were killed.
	switch {
	case exitedWithStatus(mpWaitErr):
		return res, meshpipeFailed(job, mpWaitErr, mpErr.String(), res.Frames)
	case exitedWithStatus(decWaitErr):
		return res, decFailed(decWaitErr)
	case parent.Err() != nil:
		return res, parent.Err()
	case feedErr != nil:
		return res, fmt.Errorf("feeding meshpipe: %w%s", feedErr, colonTail(mpErr.String()))
	case drainErr != nil:
		return res, fmt.Errorf("reading meshpipe's output: %w%s", drainErr, colonTail(mpErr.String()))
	case mpWaitErr != nil:
		return res, meshpipeFailed(job, mpWaitErr, mpErr.String(), res.Frames)
	case decWaitErr != nil:
		return res, decFailed(decWaitErr)
	case closeErr != nil:
		return res, closeErr
	}
	wantOut := fed - r.Warmup
	if wantOut < 0 {
		wantOut = 0
	}
	if res.Frames != wantOut {
		return res, fmt.Errorf("meshpipe wrote %d frames after the warm-up for the %d fed after it", res.Frames, wantOut)
	}
	if want >= 0 && fed < want {
		res.EOF = true
	}
	if r.Last {
		res.EOF = true
	}
	return res, nil
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

// segmentFile is the intermediate being written: a buffered file, or an ffmpeg encoder's stdin.
type segmentFile struct {
	tmp  string
	out  string
	file *os.File
	bw   *bufio.Writer
	enc  *exec.Cmd
	in   io.WriteCloser
	errs tailBuffer
}

func (s *segmentFile) name() string { return s.out }

func (s *segmentFile) Write(p []byte) (int, error) {
	if s.enc != nil {
		return s.in.Write(p)
	}
	return s.bw.Write(p)
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
		err = s.bw.Flush()
		if cerr := s.file.Close(); err == nil {
			err = cerr
		}
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
		s.bw = bufio.NewWriterSize(f, 1<<20)
		return s, nil
	}
	f.Close()
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
