package rawvideo

import (
	"bytes"
	"errors"
	"io"
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
	} {
		if _, err := NewReader(nil, c.w, c.h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%dx%d: %v, want %q", c.w, c.h, err, c.want)
		}
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
