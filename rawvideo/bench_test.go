package rawvideo

import (
	"bytes"
	"io"
	"testing"
)

// 1080p frames through each conversion; b.SetBytes counts the rgb24 frame, so MB/s compares
// with the pipe's rgb24 rate (docs/design.md: ~63 fps, 390 MB/s, for a Go pass-through).

func benchRead(b *testing.B, p PixFmt) {
	const w, h = 1920, 1080
	n, _ := p.FrameSize(w, h)
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 13)
	}
	r := bytes.NewReader(data)
	rd, _ := NewRawReader(r, StreamInfo{Width: w, Height: h, PixFmt: p})
	f := &Frame{}
	b.SetBytes(w * h * 3)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		rd.next = 0
		if err := rd.Read(f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWrite(b *testing.B, p PixFmt, keep bool, drawn int) {
	const w, h = 1920, 1080
	f := testImage(w, h, 1)
	if keep {
		yuv := writeOne(&testing.T{}, f, StreamInfo{PixFmt: YUV420P})
		rd, _ := NewRawReader(bytes.NewReader(yuv), StreamInfo{Width: w, Height: h, PixFmt: YUV420P})
		f = &Frame{}
		rd.Read(f)
		for y := 0; y < drawn; y++ { // a drawn square of drawn x drawn pixels
			for x := 0; x < drawn; x++ {
				f.Pix[(y+100)*f.Stride+3*(x+100)] ^= 0x55
			}
		}
	}
	wr, _ := NewRawWriter(io.Discard, StreamInfo{PixFmt: p})
	b.SetBytes(w * h * 3)
	b.ReportAllocs()
	for b.Loop() {
		if err := wr.Write(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadRGB24(b *testing.B)   { benchRead(b, RGB24) }
func BenchmarkReadBGRA(b *testing.B)    { benchRead(b, BGRA) }
func BenchmarkReadYUV420P(b *testing.B) { benchRead(b, YUV420P) }

func BenchmarkWriteBGRA(b *testing.B)    { benchWrite(b, BGRA, false, 0) }
func BenchmarkWriteYUV420P(b *testing.B) { benchWrite(b, YUV420P, false, 0) }

// yuv420p in and out: nothing drawn, and a 400x400 drawing (about 8% of the frame).
func BenchmarkWriteYUV420PKeptUndrawn(b *testing.B) { benchWrite(b, YUV420P, true, 0) }
func BenchmarkWriteYUV420PKeptDrawn(b *testing.B)   { benchWrite(b, YUV420P, true, 400) }
