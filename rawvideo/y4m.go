package rawvideo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// YUV4MPEG2 (ffmpeg's yuv4mpegpipe; mjpegtools' yuv4mpeg.h describes it): one header line
//
//	YUV4MPEG2 W<width> H<height> F<num>:<den> I<p|t|b|m> A<num>:<den> C<chroma> X<extension>\n
//
// whose fields after the magic are separated by single spaces, start with their letter and
// may come in any order (only W and H are required; X may repeat), then frames, each a line
// "FRAME" (optionally followed by space-separated parameters) and the planes of one frame.

// Y4MMagic starts every YUV4MPEG2 stream, the space included.
const Y4MMagic = "YUV4MPEG2 "

// maxY4MLine caps a header or FRAME line; a longer one is taken for garbage.
const maxY4MLine = 4096

// y4mChromas maps the C values meshpipe reads to pix_fmts. C420jpeg (the default when C is
// absent), C420mpeg2 and C420paldv are 4:2:0 with chroma sited differently; C420 is ffmpeg's
// name for 4:2:0 when the siting is unknown.
var y4mChromas = map[string]PixFmt{"420jpeg": YUV420P, "420mpeg2": YUV420P, "420paldv": YUV420P, "420": YUV420P, "mono": Gray}

// SniffY4M peeks at the start of br, consuming nothing, and reports whether it holds
// Y4MMagic. A stream shorter than the magic is not y4m; read errors other than io.EOF are
// returned.
func SniffY4M(br *bufio.Reader) (bool, error) {
	b, err := br.Peek(len(Y4MMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(b) == Y4MMagic, nil
}

// NewY4MReader reads a YUV4MPEG2 header from r and returns a Reader of its frames; Info gives
// the header's fields. It reads through a *bufio.Reader (r itself when it is one, so a stream
// that SniffY4M peeked at loses nothing). The error names the field at fault: a missing or
// bad W, H, F or A, a chroma other than 4:2:0 or mono (4:2:2, 4:4:4, 4:1:1, alpha and
// high-bit-depth streams are refused), an odd size for 4:2:0, or a frame over MaxFrameBytes.
// Nothing but the header is read.
func NewY4MReader(r io.Reader) (*Reader, error) {
	br := bufioReader(r)
	line, err := readLine(br)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("yuv4mpegpipe: the input ended inside the stream header")
		}
		return nil, fmt.Errorf("yuv4mpegpipe header: %w", err)
	}
	if !strings.HasPrefix(line, Y4MMagic) {
		return nil, fmt.Errorf("yuv4mpegpipe: the input does not start with %q", Y4MMagic)
	}
	info, err := parseY4MHeader(line[len(Y4MMagic):])
	if err != nil {
		return nil, fmt.Errorf("yuv4mpegpipe header %q: %w", line, err)
	}
	n, err := info.PixFmt.FrameSize(info.Width, info.Height)
	if err != nil {
		return nil, fmt.Errorf("yuv4mpegpipe header %q: %w", line, err)
	}
	return &Reader{r: br, info: info, size: n, y4m: true, keep: true}, nil
}

// readLine reads one line ending in '\n' and returns it without the newline. It fails on a
// line over maxY4MLine bytes; io.EOF means the input ended before the newline (or at once).
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxY4MLine {
			return "", fmt.Errorf("no end of line in the first %d bytes", maxY4MLine)
		}
		switch {
		case err == nil:
			return string(b[:len(b)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(b) > 0:
			return string(b), io.ErrUnexpectedEOF
		default:
			return string(b), err
		}
	}
}

func parseY4MHeader(fields string) (StreamInfo, error) {
	info := StreamInfo{PixFmt: YUV420P}
	for _, f := range strings.Split(fields, " ") {
		if f == "" {
			continue
		}
		tag, val := f[0], f[1:]
		var err error
		switch tag {
		case 'W':
			info.Width, err = strconv.Atoi(val)
		case 'H':
			info.Height, err = strconv.Atoi(val)
		case 'F':
			info.Rate, err = parseRatio(val)
		case 'A':
			info.Aspect, err = parseRatio(val)
		case 'I':
			switch val {
			case "p", "t", "b", "m":
				info.Interlace = val[0]
			case "?":
			default:
				err = errors.New("want p, t, b, m or ?")
			}
		case 'C':
			p, ok := y4mChromas[val]
			if !ok {
				return info, fmt.Errorf("C%s: only 4:2:0 (C420jpeg, C420mpeg2, C420paldv, C420) and mono are supported; "+
					"convert with ffmpeg's -pix_fmt yuv420p", val)
			}
			info.Chroma, info.PixFmt = val, p
		case 'X':
			info.Extra = append(info.Extra, val)
			if val == "COLORRANGE=FULL" {
				info.FullRange = true
			}
		default:
			// Unknown fields are ignored, as ffmpeg does.
		}
		if err != nil {
			return info, fmt.Errorf("field %q: %w", f, err)
		}
	}
	switch {
	case info.Width == 0:
		return info, errors.New("no W (width) field")
	case info.Height == 0:
		return info, errors.New("no H (height) field")
	}
	return info, nil
}

// parseRatio reads "num:den" with non-negative integers (0:0 means unknown).
func parseRatio(s string) (Ratio, error) {
	a, b, ok := strings.Cut(s, ":")
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 0 || d < 0 {
		return Ratio{}, errors.New("want num:den with non-negative integers")
	}
	return Ratio{n, d}, nil
}

// frameHeader reads the FRAME line before frame r.next. io.EOF at its very start is the clean
// end of the stream.
func (r *Reader) frameHeader() error {
	br := r.r.(*bufio.Reader)
	line, err := readLine(br)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &TruncatedError{Frame: r.next, Got: 0, Want: r.size}
	default:
		return fmt.Errorf("reading frame %d: FRAME line: %w", r.next, err)
	}
	if line != "FRAME" && !strings.HasPrefix(line, "FRAME ") {
		if len(line) > 40 {
			line = line[:40] + "..."
		}
		return fmt.Errorf("reading frame %d: want a yuv4mpegpipe FRAME line, got %q", r.next, line)
	}
	return nil
}

// NewY4MWriter returns a Writer of a YUV4MPEG2 stream to w. info gives the header: the size,
// PixFmt (yuv420p or gray; anything else is an error), and F, I, A, C and X as info holds
// them. Unknown fields are written as ffmpeg would: F25:1 for an unknown rate (ffmpeg's
// default for raw input), Ip, A0:0, C420jpeg for yuv420p and Cmono for gray. For yuv420p an X
// COLORRANGE field is made to agree with info.FullRange (XCOLORRANGE=FULL is added for full
// range when absent). The header goes
// out with the first frame, or on Close when there was none. Every frame written must have
// the header's size.
func NewY4MWriter(w io.Writer, info StreamInfo) (*Writer, error) {
	if info.PixFmt != YUV420P && info.PixFmt != Gray {
		return nil, fmt.Errorf("yuv4mpegpipe output: pix_fmt %v: want yuv420p or gray", info.PixFmt)
	}
	if _, err := info.PixFmt.FrameSize(info.Width, info.Height); err != nil {
		return nil, fmt.Errorf("yuv4mpegpipe output: %w", err)
	}
	return &Writer{w: w, pixFmt: info.PixFmt, y4m: true, info: info}, nil
}

// y4mHeader returns the stream header line for info.
func y4mHeader(info StreamInfo) []byte {
	var b bytes.Buffer
	rate, il, asp := info.Rate, info.Interlace, info.Aspect
	if rate.IsZero() {
		rate = Ratio{25, 1}
	}
	if il == 0 {
		il = 'p'
	}
	c := info.Chroma
	switch {
	case info.PixFmt == Gray:
		c = "mono"
	case y4mChromas[c] != YUV420P:
		c = "420jpeg"
	}
	fmt.Fprintf(&b, "%sW%d H%d F%d:%d I%c A%d:%d C%s", Y4MMagic, info.Width, info.Height, rate.Num, rate.Den, il, asp.Num, asp.Den, c)
	ranged := false
	for _, x := range info.Extra {
		if strings.HasPrefix(x, "COLORRANGE=") && info.PixFmt == YUV420P {
			x, ranged = "COLORRANGE=LIMITED", true
			if info.FullRange {
				x = "COLORRANGE=FULL"
			}
		}
		b.WriteString(" X")
		b.WriteString(x)
	}
	if info.FullRange && info.PixFmt == YUV420P && !ranged {
		b.WriteString(" XCOLORRANGE=FULL")
	}
	b.WriteByte('\n')
	return b.Bytes()
}

const y4mFrame = "FRAME\n"

func (w *Writer) writeY4M(f *Frame) error {
	if f.Width != w.info.Width || f.Height != w.info.Height {
		return fmt.Errorf("frame size %dx%d is not the stream's %dx%d", f.Width, f.Height, w.info.Width, w.info.Height)
	}
	n, _ := w.pixFmt.FrameSize(f.Width, f.Height)
	var head []byte
	if !w.headed {
		head = y4mHeader(w.info)
		w.headed = true
	}
	// One write a frame: header (first frame only), FRAME line and planes.
	w.buf = resize(w.buf, len(head)+len(y4mFrame)+n)
	copy(w.buf, head)
	copy(w.buf[len(head):], y4mFrame)
	w.enc.encode(w.pixFmt, w.buf[len(head)+len(y4mFrame):], f, w.info.FullRange)
	_, err := w.w.Write(w.buf)
	return err
}

// Close writes the y4m stream header if no frame was written, so that an empty input still
// gives a valid stream; it does nothing else (w's underlying writer stays open).
func (w *Writer) Close() error {
	if !w.y4m || w.headed {
		return nil
	}
	w.headed = true
	_, err := w.w.Write(y4mHeader(w.info))
	return err
}
