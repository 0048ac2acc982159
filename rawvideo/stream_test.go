package rawvideo

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReaderFramesAndCleanEOF(t *testing.T) {
	const w, h = 5, 3 // odd sizes: 45 bytes a frame
	data := make([]byte, 3*w*h*3)
	for i := range data {
		data[i] = byte(i)
	}
	// OneByteReader makes every frame arrive in pieces, as from a pipe.
	r, err := NewReader(iotest.OneByteReader(bytes.NewReader(data)), w, h)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	wr := NewWriter(&out)
	f := &Frame{}
	for k := 0; k < 3; k++ {
		if err := r.Read(f); err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		if f.Seq != int64(k) || f.Width != w || f.Height != h || f.Stride != 3*w || len(f.Pix) != 3*w*h {
			t.Fatalf("frame %d: %+v", k, f)
		}
		if r, g, b := f.At(1, 2); r != byte(k*45+33) || g != byte(k*45+34) || b != byte(k*45+35) {
			t.Fatalf("frame %d: pixel (1,2) = %d %d %d", k, r, g, b)
		}
		if err := wr.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Read(f); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("written bytes differ from the read ones")
	}
}

func TestReaderTruncated(t *testing.T) {
	r, _ := NewReader(bytes.NewReader(make([]byte, 2*12+5)), 2, 2)
	f := &Frame{}
	for k := 0; k < 2; k++ {
		if err := r.Read(f); err != nil {
			t.Fatal(err)
		}
	}
	err := r.Read(f)
	var te *TruncatedError
	if !errors.As(err, &te) || te.Frame != 2 || te.Got != 5 || te.Want != 12 {
		t.Fatalf("err = %v, want frame 2 truncated after 5 of 12 bytes", err)
	}
	if err.Error() != "frame 2 is truncated: the input ended after 5 of its 12 bytes" {
		t.Errorf("message %q", err)
	}
}

func TestReaderOtherError(t *testing.T) {
	r, _ := NewReader(iotest.ErrReader(errors.New("disk on fire")), 2, 2)
	err := r.Read(&Frame{})
	if err == nil || err.Error() != "reading frame 0: disk on fire" {
		t.Fatalf("err = %v", err)
	}
}

func TestFrameSizeLimits(t *testing.T) {
	for _, c := range []struct {
		w, h int
		want string
	}{
		{0, 10, "must be positive"},
		{10, -1, "must be positive"},
		{100000, 100000, "over the"},
		// w*h*3 overflows an int64 (found by FuzzY4MReader): still over the limit.
		{700000000000000000, 8, "over the"},
		{8, 1 << 62, "over the"},
	} {
		if _, err := NewReader(nil, c.w, c.h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%dx%d: %v, want %q", c.w, c.h, err, c.want)
		}
	}
	if _, err := FrameSize(700000000000000000, 8); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Errorf("rgb24 700000000000000000x8: %v, want over the limit", err)
	}
	if n, err := FrameSize(1920, 1080); err != nil || n != 6220800 {
		t.Fatalf("1920x1080: %d %v", n, err)
	}
}

// Writer writes only Width*3 bytes of each row when the stride is padded.
func TestWriterStride(t *testing.T) {
	f := &Frame{Width: 2, Height: 2, Stride: 8, Pix: []byte{1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0}}
	var out bytes.Buffer
	if err := NewWriter(&out).Write(f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Fatalf("wrote %v", out.Bytes())
	}
	var c Frame
	c.CopyFrom(f)
	if !bytes.Equal(c.Pix, f.Pix) || c.Stride != 8 {
		t.Fatal("CopyFrom")
	}
}

// Every pix_fmt read and written back in the same pix_fmt comes out byte for byte as it came
// in, alpha included, odd sizes included for the packed formats and gray.
func TestSameFormatRoundTripIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, p := range PixFmts {
		w, h := 7, 5
		if p == YUV420P {
			w, h = 8, 6
		}
		n, err := p.FrameSize(w, h)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]byte, 3*n)
		for i := range in {
			in[i] = byte(rng.IntN(256))
		}
		for _, full := range []bool{false, true} {
			info := StreamInfo{Width: w, Height: h, PixFmt: p, FullRange: full}
			r, err := NewRawReader(bytes.NewReader(in), info)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			wr, err := NewRawWriter(&out, info)
			if err != nil {
				t.Fatal(err)
			}
			f := &Frame{}
			for {
				if err := r.Read(f); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if err := wr.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out.Bytes(), in) {
				t.Errorf("%v (full range %v): 3 frames read and written differ from the input", p, full)
			}
		}
	}
}

// A yuv420p frame written as yuv420p after a stage drew on part of it keeps the Y', U and V
// bytes of every 2x2 block it did not touch; in touched blocks changed pixels get a new Y'
// and the block new chroma, within 1 of what ffmpeg makes of the drawn rgb24 frame.
func TestYUVKeepsUntouchedBlocks(t *testing.T) {
	const w, h = 48, 32
	img := testImage(w, h, 5)
	yuv := ffmpegConvert(t, img.Pix, w, h, "rgb24", "yuv420p")
	f := readOne(t, yuv, StreamInfo{Width: w, Height: h, PixFmt: YUV420P})
	// Draw an odd-edged rectangle, as a mesh would: x 5..20, y 3..12 (inclusive).
	touched := func(x, y int) bool { return x >= 5 && x <= 20 && y >= 3 && y <= 12 }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if touched(x, y) {
				copy(f.Pix[y*f.Stride+3*x:], []byte{166, 189, 219})
			}
		}
	}
	got := writeOne(t, f, StreamInfo{PixFmt: YUV420P})
	want := ffmpegConvert(t, f.Pix, w, h, "rgb24", "yuv420p")
	cw := w / 2
	near := func(a, b byte) bool { return a-b <= 1 || b-a <= 1 }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			switch {
			case touched(x, y) && !near(got[i], want[i]):
				t.Errorf("pixel (%d,%d): Y' %d, ffmpeg %d", x, y, got[i], want[i])
			case !touched(x, y) && got[i] != yuv[i]:
				t.Errorf("pixel (%d,%d) was not drawn on, but its Y' changed from %d to %d", x, y, yuv[i], got[i])
			}
		}
	}
	for cy := 0; cy < h/2; cy++ {
		for cx := 0; cx < cw; cx++ {
			blockTouched := touched(2*cx, 2*cy) || touched(2*cx+1, 2*cy) || touched(2*cx, 2*cy+1) || touched(2*cx+1, 2*cy+1)
			for _, off := range []int{w * h, w*h + cw*h/2} {
				i := off + cy*cw + cx
				switch {
				case blockTouched && !near(got[i], want[i]):
					t.Errorf("block (%d,%d): chroma %d, ffmpeg %d", cx, cy, got[i], want[i])
				case !blockTouched && got[i] != yuv[i]:
					t.Errorf("block (%d,%d) was not drawn on, but its chroma changed from %d to %d", cx, cy, yuv[i], got[i])
				}
			}
		}
	}
}

// With SetKeepDecoded(false) nothing is kept and the frame is re-encoded as a whole: still
// within 1 of ffmpeg's conversion of the decoded frame.
func TestYUVWithoutKeep(t *testing.T) {
	const w, h = 32, 16
	yuv := ffmpegConvert(t, testImage(w, h, 9).Pix, w, h, "rgb24", "yuv420p")
	r, _ := NewRawReader(bytes.NewReader(yuv), StreamInfo{Width: w, Height: h, PixFmt: YUV420P})
	r.SetKeepDecoded(false)
	f := &Frame{}
	if err := r.Read(f); err != nil {
		t.Fatal(err)
	}
	compare(t, "re-encoded", writeOne(t, f, StreamInfo{PixFmt: YUV420P}), ffmpegConvert(t, f.Pix, w, h, "rgb24", "yuv420p"), 1)
}

func TestPixFmtFrameSize(t *testing.T) {
	for _, c := range []struct {
		p    PixFmt
		w, h int
		n    int
		err  string
	}{
		{RGB24, 5, 3, 45, ""},
		{BGR24, 5, 3, 45, ""},
		{RGBA, 5, 3, 60, ""},
		{BGRA, 1, 1, 4, ""},
		{Gray, 5, 3, 15, ""},
		{YUV420P, 6, 4, 36, ""},
		{YUV420P, 1920, 1080, 3110400, ""},
		{YUV420P, 5, 4, 0, "yuv420p needs an even width and height"},
		{YUV420P, 6, 3, 0, "yuv420p needs an even width and height"},
		{YUV420P, 0, 0, 0, "must be positive"},
		{Gray, 0, 10, 0, "must be positive"},
		{RGBA, 8192, 8192, 268435456, ""}, // exactly the limit
		{RGBA, 8192, 8193, 0, "over the 268435456-byte limit"},
		{Gray, 10000, 10000, 0, "rgb24 copy"}, // gray fits, its rgb24 copy does not
		{RGB24, 9459, 9459, 268418043, ""},
		{PixFmt(0), 2, 2, 0, "not a pixel format"},
	} {
		n, err := c.p.FrameSize(c.w, c.h)
		if c.err == "" && (err != nil || n != c.n) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v %dx%d: %d, %v; want %d, %q", c.p, c.w, c.h, n, err, c.n, c.err)
		}
	}
	if _, err := NewRawReader(nil, StreamInfo{Width: 7, Height: 5, PixFmt: YUV420P}); err == nil {
		t.Error("NewRawReader took an odd yuv420p size")
	}
	for _, name := range []string{"rgb24", "BGR24", "rgba", "bgra", "gray", "gray8", "yuv420p"} {
		if _, err := ParsePixFmt(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParsePixFmt("yuv422p"); err == nil || !strings.Contains(err.Error(), "rgb24, bgr24, rgba, bgra, gray, yuv420p") {
		t.Errorf("yuv422p: %v", err)
	}
}
