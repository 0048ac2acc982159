package segment

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Pipe is the layout of the frames that go from the decoder through meshpipe into the
// intermediate files and the encoder: YUV4MPEG2 in PixFmt (yuv420p, yuvj420p or gray), or
// rgb24 rawvideo of Width x Height at Rate.
type Pipe struct {
	// Y4M selects YUV4MPEG2 (a header line, then "FRAME" lines each before a frame's planes);
	// otherwise rawvideo (frames only).
	Y4M bool
	// PixFmt is ffmpeg's name of the pixel format on the pipe.
	PixFmt string
	// Width and Height are the frame size in pixels; Rate the frame rate ("num/den", "" when
	// unknown: ffmpeg's 25 for rawvideo).
	Width, Height int
	Rate          string
}

// decoderArgs are the ffmpeg output options that write this pipe to stdout.
func (p Pipe) decoderArgs() []string {
	if p.Y4M {
		return []string{"-f", "yuv4mpegpipe", "-pix_fmt", p.PixFmt, "-"}
	}
	return []string{"-f", "rawvideo", "-pix_fmt", p.PixFmt, "-"}
}

// encoderInput are the ffmpeg input options that read this pipe from stdin, as meshpipe's own
// encoder reads its output.
func (p Pipe) encoderInput() []string {
	if p.Y4M {
		return []string{"-f", "yuv4mpegpipe", "-i", "-"}
	}
	rate := p.Rate
	if rate == "" {
		rate = "25/1"
	}
	return []string{"-f", "rawvideo", "-pix_fmt", p.PixFmt, "-s", fmt.Sprintf("%dx%d", p.Width, p.Height), "-r", rate, "-i", "-"}
}

// meshpipeInput are meshpipe's flags that describe this pipe on its stdin (its output then
// keeps the input's format).
func (p Pipe) meshpipeInput() []string {
	if p.Y4M {
		return []string{"-f", "yuv4mpegpipe", "-i", "-"}
	}
	args := []string{"-f", "rawvideo", "-s", fmt.Sprintf("%dx%d", p.Width, p.Height), "-pix_fmt", p.PixFmt}
	if p.Rate != "" {
		args = append(args, "-r", p.Rate)
	}
	return append(args, "-i", "-")
}

// frameReader reads whole frames from a pipe without converting them.
type frameReader struct {
	br     *bufio.Reader
	y4m    bool
	header []byte // y4m: the header line, newline included
	size   int    // bytes of a frame's pixels
	frames int    // frames read so far
}

// newFrameReader starts reading p from r; for y4m it reads and checks the header line (with
// rawvideo's parser: sizes and chroma meshpipe accepts), and the frame size comes from it.
func newFrameReader(r io.Reader, p Pipe) (*frameReader, error) {
	fr := &frameReader{br: bufio.NewReaderSize(r, 1<<20), y4m: p.Y4M}
	if !p.Y4M {
		pf, err := rawvideo.ParsePixFmt(p.PixFmt)
		if err == nil {
			fr.size, err = pf.FrameSize(p.Width, p.Height)
		}
		return fr, err
	}
	line, err := fr.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("reading the yuv4mpegpipe header: %w", err)
	}
	fr.header = bytes.Clone(line)
	yr, err := rawvideo.NewY4MReader(bytes.NewReader(fr.header))
	if err != nil {
		return nil, err
	}
	info := yr.Info()
	if fr.size, err = info.PixFmt.FrameSize(info.Width, info.Height); err != nil {
		return nil, err
	}
	return fr, nil
}

// next reads the next frame's pixels into buf (grown to the frame size) and returns it. It
// returns io.EOF at a clean end between frames and an error naming the frame when the stream
// ends inside one or a FRAME line is malformed.
func (fr *frameReader) next(buf []byte) ([]byte, error) {
	if fr.y4m {
		line, err := fr.br.ReadSlice('\n')
		switch {
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		case err != nil:
			return nil, fmt.Errorf("frame %d: reading its FRAME line: %w", fr.frames, err)
		case !strings.HasPrefix(string(line), "FRAME"):
			return nil, fmt.Errorf("frame %d: %q where a FRAME line should be", fr.frames, strings.TrimSpace(string(line[:min(len(line), 20)])))
		}
	}
	if cap(buf) < fr.size {
		buf = make([]byte, fr.size)
	}
	buf = buf[:fr.size]
	n, err := io.ReadFull(fr.br, buf)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && !fr.y4m:
		return nil, io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("frame %d is truncated: %d of its %d bytes came", fr.frames, n, fr.size)
	default:
		return nil, fmt.Errorf("frame %d: %w", fr.frames, err)
	}
	fr.frames++
	return buf, nil
}

// frameWriter writes frames in a pipe's layout: for y4m, header (written before the first
// frame) and a bare "FRAME" line before each frame.
type frameWriter struct {
	w      io.Writer
	y4m    bool
	header []byte
	headed bool
}

var frameLine = []byte("FRAME\n")

func (fw *frameWriter) write(frame []byte) error {
	if fw.y4m {
		if !fw.headed {
			if _, err := fw.w.Write(fw.header); err != nil {
				return err
			}
			fw.headed = true
		}
		if _, err := fw.w.Write(frameLine); err != nil {
			return err
		}
	}
	_, err := fw.w.Write(frame)
	return err
}

// flushHeader writes the y4m header if no frame did, so that even an empty segment's file is
// a whole stream.
func (fw *frameWriter) flushHeader() error {
	if fw.y4m && !fw.headed {
		fw.headed = true
		_, err := fw.w.Write(fw.header)
		return err
	}
	return nil
}
