package rawvideo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// StreamInfo describes a video stream: its frame size and pix_fmt, and the other fields of a
// YUV4MPEG2 header, which a y4m Writer writes back as they were read.
type StreamInfo struct {
	// Width and Height are the frame size in pixels.
	Width, Height int
	// PixFmt is the pixel format of the stream's frames.
	PixFmt PixFmt
	// Rate is the frame rate in frames per second (y4m F); zero when unknown.
	Rate Ratio
	// Interlace is the y4m I field: 'p' progressive, 't' top field first, 'b' bottom field
	// first, 'm' mixed; 0 when unknown.
	Interlace byte
	// Aspect is the pixel aspect ratio (y4m A); zero when unknown.
	Aspect Ratio
	// Chroma is the y4m C field as read ("420jpeg", "420mpeg2", "420paldv", "420", "mono");
	// "" for a rawvideo stream. The 4:2:0 variants differ only in where chroma samples sit,
	// which meshpipe's conversions do not use (see convert.go).
	Chroma string
	// Extra holds the y4m X fields, without the X (e.g. "YSCSS=420JPEG"), in header order.
	Extra []string
	// FullRange marks yuv420p with Y', Cb and Cr in 0..255 (JPEG's range; y4m
	// XCOLORRANGE=FULL) instead of the limited 16..235/240. gray is always full range.
	FullRange bool
}

// Ratio is a rational number Num/Den, such as a frame rate of 30000/1001. The zero Ratio means
// unknown.
type Ratio struct{ Num, Den int }

// IsZero reports whether r is unknown (either part zero).
func (r Ratio) IsZero() bool { return r.Num == 0 || r.Den == 0 }

// Float returns Num/Den, or 0 when r is unknown.
func (r Ratio) Float() float64 {
	if r.IsZero() {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func (r Ratio) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// FramesBelow counts the frames k = 0, 1, ... of a stream at rate r (frames per second) whose
// time k*Den/Num lies below d: exactly ceil(d*Num/Den), in integers, as ffmpeg's -t cuts a
// constant-rate stream. A rate over 10^6 fps or a duration over about 9 s * 10^12 / Num would
// overflow; frame rates and durations of video keep far below both. 0 for an unknown r.
func (r Ratio) FramesBelow(d time.Duration) int64 {
	if r.IsZero() {
		return 0
	}
	den := int64(r.Den) * int64(time.Second)
	return (int64(d)*int64(r.Num) + den - 1) / den
}

// Reader reads frames from a byte stream — a rawvideo stream of one pix_fmt, such as
// `ffmpeg -f rawvideo -pix_fmt rgb24 -` writes, or a YUV4MPEG2 stream — and hands each over
// as an rgb24 Frame.
type Reader struct {
	r      io.Reader
	info   StreamInfo
	size   int  // bytes of one frame in the stream
	y4m    bool // each frame comes after a FRAME line
	keep   bool // keep Pix as decoded (yuv420p), for a Writer to find unchanged blocks
	next   int64
	header []byte // scratch for FRAME lines
}

// NewReader returns a Reader of w x h rgb24 rawvideo frames from r. It returns an error for a
// size that FrameSize rejects.
func NewReader(r io.Reader, w, h int) (*Reader, error) {
	return NewRawReader(r, StreamInfo{Width: w, Height: h, PixFmt: RGB24})
}

// NewRawReader returns a Reader of rawvideo frames of info's size and pix_fmt from r. Rawvideo
// carries nothing but the pixels: info's other fields are only handed back by Info. It returns
// an error, before reading anything, for a size or pix_fmt that PixFmt.FrameSize rejects.
func NewRawReader(r io.Reader, info StreamInfo) (*Reader, error) {
	n, err := info.PixFmt.FrameSize(info.Width, info.Height)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, info: info, size: n, keep: true}, nil
}

// Info describes the stream being read.
func (r *Reader) Info() StreamInfo { return r.info }

// SetKeepDecoded chooses whether Read keeps a copy of each yuv420p frame as decoded (the
// default), so that a yuv420p Writer gives back the blocks no stage changed byte for byte.
// Turning it off saves one rgb24 copy a frame when the output is in another pix_fmt.
func (r *Reader) SetKeepDecoded(keep bool) { r.keep = keep }

// TruncatedError reports a stream that ended inside a frame: Got of Want bytes of frame
// Frame arrived. All frames before it were whole.
type TruncatedError struct {
	Frame     int64
	Got, Want int
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("frame %d is truncated: the input ended after %d of its %d bytes", e.Frame, e.Got, e.Want)
}

// Read fills f with the next frame as rgb24, reusing f's buffers when they are large enough,
// sets f.Seq to the frame's index (0 for the first) and clears f.Captured. It returns io.EOF
// when the stream ends cleanly between frames, a *TruncatedError when it ends inside a frame,
// and any other error (a read error, a malformed y4m FRAME line) wrapped with the frame index.
func (r *Reader) Read(f *Frame) error {
	w, h := r.info.Width, r.info.Height
	f.Pix = resize(f.Pix, w*h*BytesPerPixel)
	f.Width, f.Height, f.Stride, f.Seq = w, h, w*BytesPerPixel, r.next
	f.Captured = time.Time{}
	if r.y4m {
		if err := r.frameHeader(); err != nil {
			return err
		}
	}
	buf := f.Pix
	if r.info.PixFmt != RGB24 {
		f.src.raw = resize(f.src.raw, r.size)
		buf = f.src.raw
	}
	n, err := io.ReadFull(r.r, buf)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && !r.y4m:
		return io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &TruncatedError{Frame: r.next, Got: n, Want: r.size}
	default:
		return fmt.Errorf("reading frame %d: %w", r.next, err)
	}
	f.src.fmt, f.src.w, f.src.h, f.src.full = 0, w, h, r.info.FullRange
	f.src.rgb = f.src.rgb[:0]
	if p := r.info.PixFmt; p != RGB24 {
		decode(p, f, buf, r.info.FullRange)
		f.src.fmt = p
		if p == YUV420P && r.keep {
			f.src.rgb = resize(f.src.rgb, len(f.Pix))
			copy(f.src.rgb, f.Pix)
		}
	}
	r.next++
	return nil
}

// Writer writes frames to a byte stream in one pix_fmt, as rawvideo (for example for ffmpeg's
// `-f rawvideo -pix_fmt rgb24 -i -`) or as YUV4MPEG2. It converts from rgb24 into a buffer it
// reuses; one goroutine uses a Writer.
type Writer struct {
	w      io.Writer
	pixFmt PixFmt
	y4m    bool
	info   StreamInfo // y4m: the header's fields
	headed bool       // y4m: the header is out
	frames int64      // frames written
	enc    encoder
	buf    []byte
}

// NewWriter returns a Writer of rgb24 rawvideo to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, pixFmt: RGB24} }

// NewRawWriter returns a Writer of rawvideo in info.PixFmt to w (full-range yuv420p when
// info.FullRange is set; rawvideo carries nothing else). It returns an error for a value that
// is not a PixFmt.
func NewRawWriter(w io.Writer, info StreamInfo) (*Writer, error) {
	if !info.PixFmt.valid() {
		return nil, fmt.Errorf("%v is not a pixel format", info.PixFmt)
	}
	return &Writer{w: w, pixFmt: info.PixFmt, info: info}, nil
}

// Write writes f in the Writer's pix_fmt: the Height rows of Width pixels, without padding
// (preceded by a FRAME line in y4m, and by the stream header before the first frame). When
// f came from a Reader in another pix_fmt, what no stage changed goes out as it came in
// where the formats allow it (see encoder.encode). Errors are wrapped with the frame's Seq;
// a y4m Writer also rejects a frame whose size is not the header's.
func (w *Writer) Write(f *Frame) error {
	var err error
	switch {
	case w.y4m:
		err = w.writeY4M(f)
	case w.pixFmt == RGB24:
		row := f.Width * BytesPerPixel
		if f.Stride == row {
			_, err = w.w.Write(f.Pix[:row*f.Height])
		} else {
			for y := 0; y < f.Height && err == nil; y++ {
				_, err = w.w.Write(f.Pix[y*f.Stride : y*f.Stride+row])
			}
		}
	default:
		var n int
		if n, err = w.pixFmt.FrameSize(f.Width, f.Height); err == nil {
			w.buf = resize(w.buf, n)
			w.enc.encode(w.pixFmt, w.buf, f, w.info.FullRange)
			_, err = w.w.Write(w.buf)
		}
	}
	if err != nil {
		return fmt.Errorf("writing frame %d: %w", f.Seq, err)
	}
	w.frames++
	return nil
}

// bufioReader returns r as a *bufio.Reader, wrapping it if it is not one.
func bufioReader(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReaderSize(r, 64<<10)
}
