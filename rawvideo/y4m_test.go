package rawvideo

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// y4mHeaderFieldCases are good stream headers (without the newline), the info read from
// them and the header written back; FuzzY4MReader starts from them too.
var y4mHeaderFieldCases = []struct {
	header string
	want   StreamInfo
	out    string // header written back from the info; "" means the same as header
}{
	{"YUV4MPEG2 W64 H48 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED",
		StreamInfo{Width: 64, Height: 48, PixFmt: YUV420P, Rate: Ratio{30000, 1001}, Interlace: 'p', Aspect: Ratio{1, 1},
			Chroma: "420jpeg", Extra: []string{"YSCSS=420JPEG", "COLORRANGE=LIMITED"}}, ""},
	{"YUV4MPEG2 W720 H576 F25:1 It A16:15 C420paldv",
		StreamInfo{Width: 720, Height: 576, PixFmt: YUV420P, Rate: Ratio{25, 1}, Interlace: 't', Aspect: Ratio{16, 15}, Chroma: "420paldv"}, ""},
	{"YUV4MPEG2 W720 H480 F30000:1001 Ib A10:11 C420mpeg2 XFOO",
		StreamInfo{Width: 720, Height: 480, PixFmt: YUV420P, Rate: Ratio{30000, 1001}, Interlace: 'b', Aspect: Ratio{10, 11}, Chroma: "420mpeg2", Extra: []string{"FOO"}}, ""},
	{"YUV4MPEG2 W6 H4 F10:1 Im A0:0 C420",
		StreamInfo{Width: 6, Height: 4, PixFmt: YUV420P, Rate: Ratio{10, 1}, Interlace: 'm', Chroma: "420"}, ""},
	{"YUV4MPEG2 W7 H5 F10:1 Ip A1:1 Cmono XCOLORRANGE=FULL", // odd sizes are fine in mono
		StreamInfo{Width: 7, Height: 5, PixFmt: Gray, Rate: Ratio{10, 1}, Interlace: 'p', Aspect: Ratio{1, 1}, Chroma: "mono",
			Extra: []string{"COLORRANGE=FULL"}, FullRange: true}, ""},
	{"YUV4MPEG2 H4 W6", // only W and H: the defaults are written out
		StreamInfo{Width: 6, Height: 4, PixFmt: YUV420P}, "YUV4MPEG2 W6 H4 F25:1 Ip A0:0 C420jpeg"},
	{"YUV4MPEG2 W6 H4 C420jpeg XCOLORRANGE=FULL",
		StreamInfo{Width: 6, Height: 4, PixFmt: YUV420P, Chroma: "420jpeg", Extra: []string{"COLORRANGE=FULL"}, FullRange: true},
		"YUV4MPEG2 W6 H4 F25:1 Ip A0:0 C420jpeg XCOLORRANGE=FULL"},
}

func TestY4MHeaderFields(t *testing.T) {
	for _, c := range y4mHeaderFieldCases {
		r, err := NewY4MReader(strings.NewReader(c.header + "\n"))
		if err != nil {
			t.Errorf("%q: %v", c.header, err)
			continue
		}
		if got := r.Info(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.header, got, c.want)
		}
		want := c.out
		if want == "" {
			want = c.header
		}
		if got := string(y4mHeader(r.Info())); got != want+"\n" {
			t.Errorf("%q written back as %q", c.header, got)
		}
	}
	// A full-range frame written as limited says so, and the reverse.
	info := StreamInfo{Width: 2, Height: 2, PixFmt: YUV420P, Extra: []string{"COLORRANGE=FULL"}}
	if got := string(y4mHeader(info)); !strings.HasSuffix(got, " XCOLORRANGE=LIMITED\n") {
		t.Errorf("limited output with a FULL field: %q", got)
	}
	info.Extra, info.FullRange = nil, true
	if got := string(y4mHeader(info)); !strings.HasSuffix(got, " XCOLORRANGE=FULL\n") {
		t.Errorf("full-range output: %q", got)
	}
}

// Bad headers are refused before any frame is read, with the field at fault named.
func TestY4MHeaderErrors(t *testing.T) {
	for _, c := range y4mHeaderErrorCases {
		_, err := NewY4MReader(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: %v, want %q", c.in, err, c.want)
		}
	}
}

// y4mHeaderErrorCases are bad stream headers and what the error must say; FuzzY4MReader
// starts from them too.
var y4mHeaderErrorCases = []struct{ in, want string }{
	{"YUV4MPEG2 W64 H48 C422\n", "C422: only 4:2:0"},
	{"YUV4MPEG2 W64 H48 C444\n", "C444: only 4:2:0"},
	{"YUV4MPEG2 W64 H48 C420p10\n", "C420p10: only 4:2:0"},
	{"YUV4MPEG2 W64 H48 C444alpha\n", "C444alpha"},
	{"YUV4MPEG2 H48\n", "no W (width) field"},
	{"YUV4MPEG2 W64\n", "no H (height) field"},
	{"YUV4MPEG2 Wx H48\n", `field "Wx"`},
	{"YUV4MPEG2 W63 H48\n", "yuv420p needs an even width and height"},
	{"YUV4MPEG2 W64 H0\n", "no H"},
	{"YUV4MPEG2 W-2 H4\n", "must be positive"},
	{"YUV4MPEG2 W100000 H100000\n", "over the"},
	{"YUV4MPEG2 W0700000000000000000 H8\n", "over the"}, // w*h*3 overflows an int64
	{"YUV4MPEG2 W64 H48 F30\n", `field "F30": want num:den`},
	{"YUV4MPEG2 W64 H48 Iq\n", `field "Iq"`},
	{"YUV4MPEG2 W64 H48", "ended inside the stream header"},
	{"", "ended inside the stream header"},
	{"RIFF....\n", "does not start with"},
	{"YUV4MPEG2 " + strings.Repeat("X", 5000) + "\n", "no end of line"},
}

// y4mTwoFrames holds two 2x2 frames, the second with FRAME parameters, which are accepted
// and not kept.
const y4mTwoFrames = "YUV4MPEG2 W2 H2 F10:1\nFRAME\n\x10\x20\x30\x40\x80\x80FRAME Ixyz\n\xeb\xeb\xeb\xeb\x80\x80"

func TestY4MFrames(t *testing.T) {
	r, err := NewY4MReader(strings.NewReader(y4mTwoFrames))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := NewY4MWriter(&out, r.Info())
	if err != nil {
		t.Fatal(err)
	}
	f := &Frame{}
	for k := 0; ; k++ {
		err := r.Read(f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != int64(k) || f.Width != 2 || f.Height != 2 {
			t.Fatalf("frame %d: %+v", k, f)
		}
		if k == 1 && (f.Pix[0] != 255 || f.Pix[1] != 255 || f.Pix[2] != 255) {
			t.Errorf("frame 1: white Y' 235 read as %v", f.Pix[:3])
		}
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	want := "YUV4MPEG2 W2 H2 F10:1 Ip A0:0 C420jpeg\nFRAME\n\x10\x20\x30\x40\x80\x80FRAME\n\xeb\xeb\xeb\xeb\x80\x80"
	if out.String() != want {
		t.Errorf("wrote %q\nwant  %q", out.String(), want)
	}
	if err := w.Close(); err != nil || out.String() != want {
		t.Errorf("Close after frames wrote more: %v", err)
	}
	// No frame at all: Close writes the header alone.
	var empty bytes.Buffer
	w, _ = NewY4MWriter(&empty, StreamInfo{Width: 4, Height: 2, PixFmt: Gray, Rate: Ratio{5, 1}})
	if err := w.Close(); err != nil || empty.String() != "YUV4MPEG2 W4 H2 F5:1 Ip A0:0 Cmono\n" {
		t.Errorf("empty stream: %q, %v", empty.String(), err)
	}
	if err := w.Write(&Frame{Width: 2, Height: 2, Stride: 6, Pix: make([]byte, 12)}); err == nil || !strings.Contains(err.Error(), "not the stream's 4x2") {
		t.Errorf("frame of another size: %v", err)
	}
	if _, err := NewY4MWriter(&empty, StreamInfo{Width: 4, Height: 2, PixFmt: RGB24}); err == nil {
		t.Error("y4m took rgb24")
	}
}

// y4mTruncatedCases are streams cut inside a frame (frame, got: the *TruncatedError) or
// spoilt by garbage (other: the whole error); FuzzY4MReader starts from them too.
var y4mTruncatedCases = []struct {
	in    string
	frame int64
	got   int
	other string
}{
	{y4mHead2x2 + "FRAME\n\x10\x20\x30\x40\x80\x80FRAME\n\x10\x20", 1, 2, ""},
	{y4mHead2x2 + "FRAME\n\x10\x20\x30\x40\x80\x80FRA", 1, 0, ""},
	{y4mHead2x2 + "FRAME\n", 0, 0, ""},
	{y4mHead2x2 + "FRAME\n\x10\x20\x30\x40\x80\x80GARBAGE\n", 1, 0, `reading frame 1: want a yuv4mpegpipe FRAME line, got "GARBAGE"`},
}

const y4mHead2x2 = "YUV4MPEG2 W2 H2\n"

func TestY4MTruncatedAndGarbage(t *testing.T) {
	for _, c := range y4mTruncatedCases {
		r, err := NewY4MReader(strings.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		f := &Frame{}
		for err == nil {
			err = r.Read(f)
		}
		var te *TruncatedError
		switch {
		case c.other != "":
			if err.Error() != c.other {
				t.Errorf("%q: %v, want %q", c.in, err, c.other)
			}
		case !errors.As(err, &te) || te.Frame != c.frame || te.Got != c.got || te.Want != 6:
			t.Errorf("%q: %v, want frame %d truncated after %d bytes", c.in, err, c.frame, c.got)
		}
	}
}

func TestSniffY4M(t *testing.T) {
	for in, want := range map[string]bool{
		"YUV4MPEG2 W2 H2\n": true,
		"YUV4MPEG2":         false, // no space: too short
		"\x00\x01\x02":      false,
		"":                  false,
		"YUV4MPEG3 W2 H2\n": false,
	} {
		br := bufio.NewReader(strings.NewReader(in))
		got, err := SniffY4M(br)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
		if rest, _ := io.ReadAll(br); string(rest) != in {
			t.Errorf("%q: sniffing consumed input", in)
		}
	}
}

// ffmpeg's own y4m (4:2:0 limited, 4:2:0 full range, mono) read and written back by meshpipe
// is the same stream byte for byte, and ffmpeg reads it back to the same frames.
func TestY4MFFmpegRoundTripIsBitExact(t *testing.T) {
	for _, pf := range []string{"yuv420p", "yuvj420p", "gray"} {
		src := ffmpeg(t, nil, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30000/1001", "-frames:v", "5",
			"-vf", "setfield=tff", "-pix_fmt", pf, "-f", "yuv4mpegpipe", "-")
		r, err := NewY4MReader(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		w, err := NewY4MWriter(&out, r.Info())
		if err != nil {
			t.Fatal(err)
		}
		f := &Frame{}
		n := 0
		for ; ; n++ {
			if err := r.Read(f); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if n != 5 {
			t.Fatalf("%s: %d frames", pf, n)
		}
		if !bytes.Equal(out.Bytes(), src) {
			head, _, _ := bytes.Cut(out.Bytes(), []byte("\n"))
			want, _, _ := bytes.Cut(src, []byte("\n"))
			t.Errorf("%s: the stream written back differs from ffmpeg's (header %q, ffmpeg's %q)", pf, head, want)
		}
		a := ffmpeg(t, out.Bytes(), "-f", "yuv4mpegpipe", "-i", "-", "-f", "rawvideo", "-")
		b := ffmpeg(t, src, "-f", "yuv4mpegpipe", "-i", "-", "-f", "rawvideo", "-")
		if !bytes.Equal(a, b) {
			t.Errorf("%s: ffmpeg decodes meshpipe's stream to other frames", pf)
		}
		t.Logf("%s: %q", pf, bytes.SplitN(src, []byte("\n"), 2)[0])
	}
}
