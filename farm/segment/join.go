package segment

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/meshpipe/meshpipe/internal/tail"
)

// JoinJob is a file's segments to join into its output.
type JoinJob struct {
	// Input is the source file (its audio is copied) and Probe what ProbeFile found in it.
	Input string
	Probe Probe
	// Segments are the segment files in frame order, Frames how many of the range's frames
	// each holds and Skips how many frames come before them in the file (Result.Frames and
	// Result.Skip; nil Skips: none). Segments of 0 frames are left out.
	Segments []string
	Frames   []int
	Skips    []int
	// Intermediate is the segments' format, Raw or FFVHuff.
	Intermediate string
	// Output is the file to write, through a temporary file beside it (".NAME.part-*.EXT")
	// renamed at the end: a reader never sees half an output, and an existing Output is
	// replaced only by a whole one.
	Output string
	// VideoCodec is ffmpeg's -c:v for Output; "" leaves ffmpeg's default for Output's
	// extension, as `meshpipe -o OUT` does.
	VideoCodec string
	// Progress, when set, is called now and then with the number of frames encoded so far.
	Progress func(written int)
}

// Join encodes the segments' frames, in order, into job.Output with the input's audio
// streams, as meshpipe's file mode does for `-o OUT`: 8-bit 4:2:0 video wherever the size
// allows it, the audio copied where the container takes its codec, else encoded with the
// container's usual encoder. Raw segment files are read by ffmpeg itself, as one stream
// (ffmpeg's concat and subfile protocols, the warm-up frames and later headers skipped by
// offset); FFVHuff ones are decoded and passed on by this process. It checks that each segment
// holds exactly its frames, that the encoder got them all, and returns their number. Children
// end with ctx and with this process, as in Run.
func Join(ctx context.Context, job JoinJob) (int, error) {
	if len(job.Segments) != len(job.Frames) || (job.Skips != nil && len(job.Skips) != len(job.Frames)) {
		return 0, fmt.Errorf("join: %d segments, %d frame counts, %d skip counts", len(job.Segments), len(job.Frames), len(job.Skips))
	}
	if job.Skips == nil {
		job.Skips = make([]int, len(job.Frames))
	}
	if err := CheckIntermediate(job.Intermediate); err != nil {
		return 0, err
	}
	pipe := job.Probe.Pipe()
	want := 0
	for _, n := range job.Frames {
		want += n
	}
	var input string // the concat URL, when ffmpeg reads the segment files itself
	if job.Intermediate == Raw {
		var err error
		if input, err = concatURL(job, pipe); err != nil {
			return 0, err
		}
	}

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

	n, stderr, err := encode(ctx, job, pipe, input, tmp, true)
	if err != nil && ctx.Err() == nil && audioRefused(stderr) {
		// OUT's container does not take IN's audio codec: encode it instead, with the
		// container's usual encoder, as meshpipe -o does.
		n, _, err = encode(ctx, job, pipe, input, tmp, false)
	}
	if err != nil {
		return n, err
	}
	if n != want {
		return n, fmt.Errorf("ffmpeg encoded %d frames into %s; the segments hold %d", n, job.Output, want)
	}
	if err := os.Rename(tmp, job.Output); err != nil {
		return n, err
	}
	done = true
	return n, nil
}

// encode runs the encoder once into tmp: reading input (a concat URL) or, when input is "", the
// FFVHuff segments sent on its stdin; the audio copied when copyAudio is set, else encoded. It
// returns the frames encoded and the end of what ffmpeg printed.
func encode(ctx context.Context, job JoinJob, pipe Pipe, input, tmp string, copyAudio bool) (int, string, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y"}
	encIn := pipe.encoderInput()
	if input != "" {
		encIn[len(encIn)-1] = input // -i concat:... instead of -i -
	}
	args = append(append(args, encIn...), "-i", job.Input, "-map", "0:v:0", "-map", "1:a?")
	if copyAudio {
		args = append(args, "-c:a", "copy")
	}
	args = append(args, videoArgs(job, pipe)...)
	args = append(args, tmp)
	enc := command(ctx, "ffmpeg", args...)
	var encErr tail.Buffer
	enc.Stderr = &encErr
	progress, err := enc.StdoutPipe()
	if err != nil {
		return 0, "", err
	}
	var stdin io.WriteCloser
	if input == "" {
		if stdin, err = enc.StdinPipe(); err != nil {
			return 0, "", err
		}
	}
	if err := enc.Start(); err != nil {
		return 0, "", fmt.Errorf("starting ffmpeg (from PATH): %w", err)
	}
	encoded := make(chan int, 1)
	go func() { encoded <- readProgress(progress, job.Progress) }()
	var sendErr error
	if stdin != nil {
		sendErr = sendSegments(ctx, job, pipe, stdin)
		stdin.Close()
		if sendErr != nil {
			cancel()
		}
	}
	n := <-encoded
	waitErr := enc.Wait()
	stderr := encErr.String()
	switch {
	case parent.Err() != nil:
		return n, stderr, parent.Err()
	case sendErr != nil:
		if stderr != "" {
			sendErr = fmt.Errorf("%w (ffmpeg encoding %s: %s)", sendErr, job.Output, lastLines(stderr, 4))
		}
		return n, stderr, sendErr
	case waitErr != nil:
		return n, stderr, fmt.Errorf("ffmpeg encoding %s: %w%s", job.Output, waitErr, colonTail(stderr))
	}
	return n, stderr, nil
}

// videoArgs are the encoder's video options, as meshpipe -o chooses them: -c:v when the job
// names a codec; 8-bit 4:2:0 through a format filter (full range for a JPEG-range input)
// wherever the frame size allows it (even width and height), whatever the frames' format.
func videoArgs(job JoinJob, pipe Pipe) []string {
	var args []string
	if job.VideoCodec != "" {
		args = append(args, "-c:v", job.VideoCodec)
	}
	switch {
	case pipe.PixFmt == "yuvj420p":
		args = append(args, "-vf", "format=yuvj420p")
	case pipe.Width%2 == 0 && pipe.Height%2 == 0:
		args = append(args, "-vf", "format=yuv420p")
	}
	return args
}

// audioRefused reports whether ffmpeg's message says that the output's container cannot hold
// a copied audio stream (PCM from a camera's AVI into MP4, for example).
func audioRefused(stderr string) bool {
	return strings.Contains(stderr, "codec not currently supported in container") ||
		strings.Contains(stderr, "Could not find tag for codec")
}

// concatURL checks the Raw segment files (each must hold exactly its skipped and its range's
// frames, with the first one's y4m header) and returns the URL that makes ffmpeg read their
// range frames as one stream: "concat:" and, per segment, its file or
// "subfile,,start,OFFSET,end,0,,:FILE" from its first range frame on. The first segment with
// frames is read whole (its header is the stream's), so it must have no skipped frames.
func concatURL(job JoinJob, pipe Pipe) (string, error) {
	var parts []string
	var header []byte
	for i, seg := range job.Segments {
		if job.Frames[i] == 0 {
			continue
		}
		if strings.Contains(seg, "|") {
			return "", fmt.Errorf("segment file %s: a | in its path cannot go into ffmpeg's concat protocol", seg)
		}
		f, err := os.Open(seg)
		if err != nil {
			return "", err
		}
		fi, err := f.Stat()
		head := make([]byte, 4096)
		n, _ := f.ReadAt(head, 0)
		f.Close()
		if err != nil {
			return "", err
		}
		hl, fl, err := frameLayout(head[:n], pipe)
		if err != nil {
			return "", fmt.Errorf("segment %d (%s): %w", i, seg, err)
		}
		if size := int64(hl) + int64(job.Skips[i]+job.Frames[i])*int64(fl); fi.Size() != size {
			return "", fmt.Errorf("segment %d (%s) is %d bytes; %d skipped and %d frames of %d bytes make %d",
				i, seg, fi.Size(), job.Skips[i], job.Frames[i], fl, size)
		}
		off := hl + job.Skips[i]*fl
		if header == nil {
			header = bytes.Clone(head[:hl])
			if job.Skips[i] > 0 {
				return "", fmt.Errorf("segment %d (%s), the first with frames, starts with %d skipped frames", i, seg, job.Skips[i])
			}
			off = 0
		} else if !bytes.Equal(head[:hl], header) {
			return "", fmt.Errorf("segment %d (%s): its stream header %q is not the first segment's %q", i, seg, head[:hl], header)
		}
		if off == 0 {
			parts = append(parts, seg)
		} else {
			parts = append(parts, "subfile,,start,"+strconv.Itoa(off)+",end,0,,:"+seg)
		}
	}
	if len(parts) == 0 {
		return "", errors.New("no segment holds a frame")
	}
	return "concat:" + strings.Join(parts, "|"), nil
}

// sendSegments decodes each FFVHuff segment file in order and sends its range's frames to w.
func sendSegments(ctx context.Context, job JoinJob, pipe Pipe, w io.Writer) error {
	fw := &frameWriter{w: w, y4m: pipe.Y4M}
	var buf []byte
	for i, seg := range job.Segments {
		if job.Frames[i] == 0 {
			continue
		}
		n, err := copySegment(ctx, job, pipe, seg, job.Skips[i], fw, &buf)
		if err == nil && n != job.Frames[i] {
			err = fmt.Errorf("segment %d (%s) holds %d frames; its run wrote %d", i, seg, n, job.Frames[i])
		}
		if err != nil {
			return err
		}
	}
	return fw.flushHeader()
}

// copySegment sends the frames of segment file seg after the first skip to fw (taking its y4m
// header from the first segment) and returns how many it sent.
func copySegment(ctx context.Context, job JoinJob, pipe Pipe, seg string, skip int, fw *frameWriter, buf *[]byte) (int, error) {
	dec := command(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-i", seg, "-map", "0:v:0"}, pipe.decoderArgs()...)...)
	var decErr tail.Buffer
	dec.Stderr = &decErr
	out, err := dec.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := dec.Start(); err != nil {
		return 0, fmt.Errorf("starting ffmpeg (from PATH): %w", err)
	}
	defer dec.Wait()
	wait := func() error {
		if err := dec.Wait(); err != nil {
			return fmt.Errorf("ffmpeg decoding %s: %w%s", seg, err, colonTail(decErr.String()))
		}
		return nil
	}
	fr, err := newFrameReader(out, pipe)
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
		if fr.frames <= skip {
			continue
		}
		if err := fw.write(*buf); err != nil {
			return n, fmt.Errorf("sending frames to ffmpeg encoding %s: %w", job.Output, err)
		}
		n++
	}
	return n, wait()
}

// readProgress reads ffmpeg's -progress output ("frame=N" lines among others) until it ends,
// reporting each count to report, and returns the last count.
func readProgress(r io.Reader, report func(int)) int {
	sc := bufio.NewScanner(r)
	last := 0
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "frame="); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				last = n
				if report != nil {
					report(n)
				}
			}
		}
	}
	io.Copy(io.Discard, r)
	return last
}
