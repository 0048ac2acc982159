package segment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// JoinJob is a file's segments to join into its output.
type JoinJob struct {
	// Input is the source file (its audio is copied) and Probe what ProbeFile found in it.
	Input string
	Probe Probe
	// Segments are the segment files in frame order, Frames how many frames each holds (as
	// Run reported); segments of 0 frames are skipped.
	Segments []string
	Frames   []int
	// Intermediate is the segments' format, Raw or FFVHuff.
	Intermediate string
	// Output is the file to write, through a temporary file beside it (".NAME.part-*.EXT")
	// renamed at the end: a reader never sees half an output, and an existing Output is
	// replaced only by a whole one.
	Output string
	// VideoCodec is ffmpeg's -c:v for Output; "" leaves ffmpeg's default for Output's
	// extension, as `meshpipe -o OUT` does.
	VideoCodec string
	// Progress, when set, is called after each frame sent to the encoder with the number so far.
	Progress func(written int)
}

// Join encodes the segments' frames, in order, into job.Output with the input's audio streams
// copied, the same ffmpeg command meshpipe's file mode runs for `-o OUT`, so that the same
// frames give the same file. It checks that each segment holds exactly its count of frames and
// returns the number of frames encoded. Children end with ctx and with this process, as in Run.
func Join(ctx context.Context, job JoinJob) (int, error) {
	if len(job.Segments) != len(job.Frames) {
		return 0, fmt.Errorf("join: %d segments but %d frame counts", len(job.Segments), len(job.Frames))
	}
	if err := CheckIntermediate(job.Intermediate); err != nil {
		return 0, err
	}
	pipe := job.Probe.Pipe()
	dir, base := filepath.Dir(job.Output), filepath.Base(job.Output)
	ext := filepath.Ext(base)
	tmpFile, err := os.CreateTemp(dir, "."+strings.TrimSuffix(base, ext)+".part-*"+ext)
	if err != nil {
		return 0, err
	}
	tmp := tmpFile.Name()
	tmpFile.Close()
	if err := os.Chmod(tmp, 0o644); err != nil { // CreateTemp's 0600 would hide the output from others
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append([]string{"-nostdin", "-v", "error", "-y"}, pipe.encoderInput()...)
	args = append(args, "-i", job.Input, "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy")
	if job.VideoCodec != "" {
		args = append(args, "-c:v", job.VideoCodec)
	}
	args = append(args, tmp)
	enc := command(ctx, "ffmpeg", args...)
	var encErr tailBuffer
	enc.Stderr = &encErr
	encIn, err := enc.StdinPipe()
	if err != nil {
		return 0, err
	}
	if err := enc.Start(); err != nil {
		return 0, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
	}
	encFailed := func(err error) error {
		return fmt.Errorf("ffmpeg encoding %s: %w%s", job.Output, err, colonTail(encErr.String()))
	}

	fw := &frameWriter{w: encIn, y4m: pipe.Y4M}
	written := 0
	var buf []byte
	for i, seg := range job.Segments {
		if job.Frames[i] == 0 {
			continue
		}
		n, err := copySegment(ctx, job, pipe, seg, fw, &buf, func() {
			written++
			if job.Progress != nil {
				job.Progress(written)
			}
		})
		if err == nil && n != job.Frames[i] {
			err = fmt.Errorf("segment %d (%s) holds %d frames; its run wrote %d", i, seg, n, job.Frames[i])
		}
		if err != nil {
			cancel()
			enc.Wait()
			if parent.Err() != nil {
				return written, parent.Err()
			}
			if e := encErr.String(); e != "" {
				err = fmt.Errorf("%w (ffmpeg encoding %s: %s)", err, job.Output, lastLines(e, 4))
			}
			return written, err
		}
	}
	if err := fw.flushHeader(); err != nil {
		cancel()
		enc.Wait()
		return written, encFailed(err)
	}
	encIn.Close()
	if err := enc.Wait(); err != nil {
		return written, encFailed(err)
	}
	if err := os.Rename(tmp, job.Output); err != nil {
		return written, err
	}
	done = true
	return written, nil
}

// copySegment sends the frames of segment file seg to fw (taking its y4m header from the first
// segment) and returns how many there were.
func copySegment(ctx context.Context, job JoinJob, pipe Pipe, seg string, fw *frameWriter, buf *[]byte, sent func()) (int, error) {
	var src io.Reader
	var wait func() error
	if job.Intermediate == Raw {
		f, err := os.Open(seg)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		src, wait = f, func() error { return nil }
	} else {
		dec := command(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-i", seg, "-map", "0:v:0"}, pipe.decoderArgs()...)...)
		var decErr tailBuffer
		dec.Stderr = &decErr
		out, err := dec.StdoutPipe()
		if err != nil {
			return 0, err
		}
		if err := dec.Start(); err != nil {
			return 0, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
		}
		defer dec.Wait()
		src = out
		wait = func() error {
			if err := dec.Wait(); err != nil {
				return fmt.Errorf("ffmpeg decoding %s: %w%s", seg, err, colonTail(decErr.String()))
			}
			return nil
		}
	}
	fr, err := newFrameReader(src, pipe)
	if errors.Is(err, io.EOF) {
		return 0, wait()
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", seg, err)
	}
	if fw.header == nil {
		fw.header = fr.header
	}
	n := 0
	for {
		*buf, err = fr.next(*buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", seg, err)
		}
		if err := fw.write(*buf); err != nil {
			return n, fmt.Errorf("sending frames to ffmpeg encoding %s: %w", job.Output, err)
		}
		n++
		sent()
	}
	return n, wait()
}
