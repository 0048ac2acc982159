package rawvideo

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomYCbCr returns a w x h image of ratio r over Min (x0, y0), filled with random samples
// (chroma over the whole 0..255, so that clamping is exercised), and its planes concatenated
// as ffmpeg's planar pix_fmts lay them out when Min is (0, 0).
func randomYCbCr(x0, y0, w, h int, r image.YCbCrSubsampleRatio, seed uint64) (*image.YCbCr, []byte) {
	m := image.NewYCbCr(image.Rect(x0, y0, x0+w, y0+h), r)
	rnd := rand.New(rand.NewPCG(seed, 7))
	for _, p := range [][]byte{m.Y, m.Cb, m.Cr} {
		for i := range p {
			p[i] = byte(rnd.IntN(256))
		}
	}
	return m, bytes.Join([][]byte{m.Y, m.Cb, m.Cr}, nil)
}

// TestFromImageMatchesFFmpeg converts random 4:2:2 and 4:2:0 frames (limited and full range)
// and compares with ffmpeg's conversion of the same planes to rgb24: they are the same, byte
// for byte. (ffmpeg converts yuv444p by another path, which rounds differently by a few
// levels; cameras deliver 4:2:2 and 4:2:0, so 4:4:4 is checked for siting only, below.)
func TestFromImageMatchesFFmpeg(t *testing.T) {
	const w, h = 64, 48
	for _, c := range []struct {
		ratio  image.YCbCrSubsampleRatio
		pixFmt string
		full   bool
	}{
		{image.YCbCrSubsampleRatio422, "yuv422p", false},
		{image.YCbCrSubsampleRatio422, "yuvj422p", true},
		{image.YCbCrSubsampleRatio420, "yuv420p", false},
	} {
		t.Run(c.pixFmt, func(t *testing.T) {
			m, planes := randomYCbCr(0, 0, w, h, c.ratio, 1)
			var f Frame
			if err := f.FromImage(m, c.full); err != nil {
				t.Fatal(err)
			}
			if f.Width != w || f.Height != h || f.Stride != 3*w || len(f.Pix) != 3*w*h {
				t.Fatalf("frame %dx%d stride %d, %d bytes; want %dx%d stride %d, %d bytes", f.Width, f.Height, f.Stride, len(f.Pix), w, h, 3*w, 3*w*h)
			}
			compare(t, c.pixFmt+" -> rgb24", f.Pix, ffmpegConvert(t, planes, w, h, c.pixFmt, "rgb24"), 0)
		})
	}
}

// TestFromImageSampleSiting checks, for every subsample ratio and for bounds that do not start
// at (0, 0) (odd, negative), that each pixel takes the samples image.YCbCr.YCbCrAt gives it.
func TestFromImageSampleSiting(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	origins := [][2]int{{0, 0}, {3, 5}, {-3, -1}, {-6, 2}}
	for _, r := range ratios {
		for _, o := range origins {
			for _, full := range []bool{false, true} {
				name := fmt.Sprintf("%v/%d,%d/full=%v", r, o[0], o[1], full)
				m, _ := randomYCbCr(o[0], o[1], 13, 7, r, 2)
				var f Frame
				if err := f.FromImage(m, full); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				tab := matrix(full)
				want := make([]byte, 3)
				for y := 0; y < 7; y++ {
					for x := 0; x < 13; x++ {
						c := m.YCbCrAt(o[0]+x, o[1]+y)
						ycc(tab, want, c.Y, c.Cb, c.Cr)
						i := y*f.Stride + 3*x
						if !bytes.Equal(f.Pix[i:i+3], want) {
							t.Fatalf("%s: pixel (%d, %d) is %v, want %v (from Y'CbCr %v)", name, x, y, f.Pix[i:i+3], want, c)
						}
					}
				}
			}
		}
	}
	// A sub-image converts to the same pixels as the part of the whole it shows.
	whole, _ := randomYCbCr(0, 0, 40, 30, image.YCbCrSubsampleRatio420, 3)
	var all, part Frame
	all.FromImage(whole, false)
	sub := whole.SubImage(image.Rect(7, 3, 31, 20)).(*image.YCbCr)
	if err := part.FromImage(sub, false); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 17; y++ {
		got := part.Pix[y*part.Stride : (y+1)*part.Stride]
		want := all.Pix[(y+3)*all.Stride+3*7 : (y+3)*all.Stride+3*31]
		if !bytes.Equal(got, want) {
			t.Fatalf("sub-image row %d differs from the whole image's", y)
		}
	}
}

func TestFromImageGray(t *testing.T) {
	m := image.NewGray(image.Rect(2, 1, 7, 4))
	for i := range m.Pix {
		m.Pix[i] = byte(40 * i)
	}
	var f Frame
	if err := f.FromImage(m, false); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			g := m.GrayAt(2+x, 1+y).Y
			if r, gg, b := f.At(x, y); r != g || gg != g || b != g {
				t.Fatalf("pixel (%d, %d) is %d,%d,%d, want %d three times", x, y, r, gg, b, g)
			}
		}
	}
}

func TestFromImageErrors(t *testing.T) {
	short, _ := randomYCbCr(0, 0, 16, 8, image.YCbCrSubsampleRatio422, 4)
	short.Cr = short.Cr[:len(short.Cr)-1]
	shortY, _ := randomYCbCr(0, 0, 16, 8, image.YCbCrSubsampleRatio420, 4)
	shortY.Y = shortY.Y[:100]
	odd, _ := randomYCbCr(0, 0, 16, 8, image.YCbCrSubsampleRatio420, 4)
	odd.SubsampleRatio = 99
	for _, c := range []struct {
		img  image.Image
		want string
	}{
		{short, "the Cb and Cr planes have 64 and 63 bytes"},
		{shortY, "the Y plane has 100 bytes"},
		{odd, "unknown subsample ratio"},
		{image.NewYCbCr(image.Rect(0, 0, 0, 4), image.YCbCrSubsampleRatio420), "empty"},
		{image.NewYCbCr(image.Rect(0, 0, 20000, 20000), image.YCbCrSubsampleRatio420), "over the"},
		{image.NewRGBA(image.Rect(0, 0, 2, 2)), "*image.RGBA images are not converted"},
		{(*image.YCbCr)(nil), "nil *image.YCbCr"},
		{nil, "no image"},
	} {
		var f Frame
		err := f.FromImage(c.img, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromImage(%T): error %v, want one containing %q", c.img, err, c.want)
		}
	}
}

// TestFromImageAllocatesNothing: once f has its buffer, converting camera frames of the same
// size allocates nothing.
func TestFromImageAllocatesNothing(t *testing.T) {
	m, _ := randomYCbCr(0, 0, 640, 480, image.YCbCrSubsampleRatio422, 5)
	var f Frame
	f.FromImage(m, false)
	if n := testing.AllocsPerRun(20, func() { f.FromImage(m, false) }); n != 0 {
		t.Fatalf("FromImage allocates %v times a frame, want 0", n)
	}
}

// Camera-sized 4:2:2 frames (YUYV webcams, the testsrc pattern) to rgb24; b.SetBytes counts
// the rgb24 frame.
func benchFromImage(b *testing.B, w, h int, r image.YCbCrSubsampleRatio) {
	m, _ := randomYCbCr(0, 0, w, h, r, 6)
	var f Frame
	b.SetBytes(int64(w * h * 3))
	b.ReportAllocs()
	for b.Loop() {
		if err := f.FromImage(m, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromImage422VGA(b *testing.B) {
	benchFromImage(b, 640, 480, image.YCbCrSubsampleRatio422)
}
func BenchmarkFromImage422HD(b *testing.B) {
	benchFromImage(b, 1280, 720, image.YCbCrSubsampleRatio422)
}
func BenchmarkFromImage420HD(b *testing.B) {
	benchFromImage(b, 1280, 720, image.YCbCrSubsampleRatio420)
}
