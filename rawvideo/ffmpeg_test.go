package rawvideo

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
)

// ffmpeg runs ffmpeg with args on stdin in and returns its stdout.
func ffmpeg(t testing.TB, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %q: %v: %s", args, err, stderr.String())
	}
	return out
}

// ffmpegConvert converts frames of w x h from pix_fmt `from` to `to` with ffmpeg's rawvideo
// path (the tool's default swscale flags): the conversions meshpipe matches. yuvj420p is
// ffmpeg's name for full-range yuv420p.
func ffmpegConvert(t testing.TB, in []byte, w, h int, from, to string) []byte {
	t.Helper()
	return ffmpeg(t, in, "-f", "rawvideo", "-pix_fmt", from, "-s", fmt.Sprintf("%dx%d", w, h), "-i", "-",
		"-f", "rawvideo", "-pix_fmt", to, "-")
}

// compare fails the test when got and want differ by more than tol in any byte, and logs how
// many bytes differ at all.
func compare(t *testing.T, what string, got, want []byte, tol int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d bytes, ffmpeg gives %d", what, len(got), len(want))
	}
	worst, at, n := 0, 0, 0
	for i := range got {
		d := int(got[i]) - int(want[i])
		if d != 0 {
			n++
		}
		if d = max(d, -d); d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		t.Errorf("%s: byte %d is %d, ffmpeg gives %d (more than %d apart; %d of %d bytes differ)", what, at, got[at], want[at], tol, n, len(got))
		return
	}
	t.Logf("%s: %d of %d bytes differ from ffmpeg's, by at most %d", what, n, len(got), worst)
}

// testImage returns a w x h rgb24 frame of smooth gradients, hard coloured edges and noise.
func testImage(w, h int, seed uint64) *Frame {
	f, _ := NewFrame(w, h)
	r := rand.New(rand.NewPCG(seed, 1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := f.Pix[y*f.Stride+3*x : y*f.Stride+3*x+3]
			switch {
			case y < h/3:
				p[0], p[1], p[2] = byte(x*255/max(w-1, 1)), byte(y*255/max(h-1, 1)), byte((x+y)*7)
			case y < 2*h/3:
				if (x/5+y/3)%2 == 0 {
					p[0], p[1], p[2] = 250, 10, 240
				} else {
					p[0], p[1], p[2] = 5, 245, 20
				}
			default:
				p[0], p[1], p[2] = byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))
			}
		}
	}
	return f
}

// yuvGrid returns a yuv420p frame (128 x 5408) whose 2x2 blocks hold every Y' value (0..255,
// four to a block) with U and V on a grid of step 5 over 0..255.
func yuvGrid() (w, h int, frame []byte) {
	const nuv = 52
	w, h = 128, 2*nuv*nuv
	frame = make([]byte, w*h*3/2)
	ys, us, vs := frame[:w*h], frame[w*h:w*h+w*h/4], frame[w*h+w*h/4:]
	for cy := 0; cy < h/2; cy++ {
		u, v := byte(cy%nuv*5), byte(cy/nuv*5)
		for cx := 0; cx < w/2; cx++ {
			us[cy*w/2+cx], vs[cy*w/2+cx] = u, v
			ys[2*cy*w+2*cx], ys[2*cy*w+2*cx+1] = byte(4*cx), byte(4*cx+1)
			ys[(2*cy+1)*w+2*cx], ys[(2*cy+1)*w+2*cx+1] = byte(4*cx+2), byte(4*cx+3)
		}
	}
	return w, h, frame
}

func readOne(t *testing.T, data []byte, info StreamInfo) *Frame {
	t.Helper()
	r, err := NewRawReader(bytes.NewReader(data), info)
	if err != nil {
		t.Fatal(err)
	}
	f := &Frame{}
	if err := r.Read(f); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeOne(t *testing.T, f *Frame, info StreamInfo) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewRawWriter(&out, info)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(f); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Reading any pix_fmt gives the rgb24 that ffmpeg gives: exactly for the packed formats and
// gray, within 1 for yuv420p (on x86 ffmpeg's SIMD path it is exact too).
func TestDecodeMatchesFFmpeg(t *testing.T) {
	for _, p := range []PixFmt{BGR24, RGBA, BGRA, Gray} {
		const w, h = 37, 11 // odd sizes work for the packed formats
		n, _ := p.FrameSize(w, h)
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i*7 + i/5)
		}
		f := readOne(t, in, StreamInfo{Width: w, Height: h, PixFmt: p})
		compare(t, p.String(), f.Pix, ffmpegConvert(t, in, w, h, p.String(), "rgb24"), 0)
	}
	w, h, grid := yuvGrid()
	for _, full := range []bool{false, true} {
		name := map[bool]string{false: "yuv420p", true: "yuvj420p"}[full]
		f := readOne(t, grid, StreamInfo{Width: w, Height: h, PixFmt: YUV420P, FullRange: full})
		compare(t, name+" (every Y', U and V on a grid of 5)", f.Pix, ffmpegConvert(t, grid, w, h, name, "rgb24"), 1)
	}
	for _, s := range [][2]int{{2, 2}, {6, 4}, {34, 10}} {
		img := testImage(s[0], s[1], 3)
		yuv := ffmpegConvert(t, img.Pix, s[0], s[1], "rgb24", "yuv420p")
		f := readOne(t, yuv, StreamInfo{Width: s[0], Height: s[1], PixFmt: YUV420P})
		compare(t, fmt.Sprintf("yuv420p %dx%d", s[0], s[1]), f.Pix, ffmpegConvert(t, yuv, s[0], s[1], "yuv420p", "rgb24"), 1)
	}
}

// Writing any pix_fmt gives what ffmpeg gives from the same rgb24 frame: exactly for the
// packed formats (alpha 255), within 1 for gray and yuv420p. (Frames 6 to 10 rows high are
// left out: there swscale shortens its chroma filter in ways meshpipe does not follow, and
// chroma may differ by a few levels.)
func TestEncodeMatchesFFmpeg(t *testing.T) {
	for _, s := range [][2]int{{64, 48}, {2, 2}, {6, 4}, {8, 12}, {130, 34}, {37, 11}} {
		w, h := s[0], s[1]
		img := testImage(w, h, uint64(w))
		for _, p := range []PixFmt{BGR24, RGBA, BGRA, Gray, YUV420P} {
			if _, err := p.FrameSize(w, h); err != nil {
				continue // odd sizes: packed formats only
			}
			tol := 0
			if p == Gray || p == YUV420P {
				tol = 1
			}
			got := writeOne(t, img, StreamInfo{PixFmt: p})
			compare(t, fmt.Sprintf("%v %dx%d", p, w, h), got, ffmpegConvert(t, img.Pix, w, h, "rgb24", p.String()), tol)
			if p == YUV420P {
				got := writeOne(t, img, StreamInfo{PixFmt: p, FullRange: true})
				compare(t, fmt.Sprintf("yuvj420p %dx%d", w, h), got, ffmpegConvert(t, img.Pix, w, h, "rgb24", "yuvj420p"), 1)
			}
		}
	}
}

// A photo (../shared/images, beside the project) through rgb24 -> yuv420p, then back.
func TestPhotoMatchesFFmpeg(t *testing.T) {
	path := "../../shared/images/000000001000.jpg"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("shared test image: %v", err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	w, h := b.Dx()&^1, b.Dy()&^1
	f, _ := NewFrame(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			f.Pix[y*f.Stride+3*x], f.Pix[y*f.Stride+3*x+1], f.Pix[y*f.Stride+3*x+2] = byte(r>>8), byte(g>>8), byte(bl>>8)
		}
	}
	yuv := writeOne(t, f, StreamInfo{PixFmt: YUV420P})
	compare(t, fmt.Sprintf("photo %dx%d to yuv420p", w, h), yuv, ffmpegConvert(t, f.Pix, w, h, "rgb24", "yuv420p"), 1)
	back := readOne(t, yuv, StreamInfo{Width: w, Height: h, PixFmt: YUV420P})
	compare(t, "and back to rgb24", back.Pix, ffmpegConvert(t, yuv, w, h, "yuv420p", "rgb24"), 1)
}
