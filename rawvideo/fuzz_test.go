package rawvideo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Fuzz targets for the two stream readers. `make fuzz-short` runs each for a few seconds; the
// seeds are the case tables of the tests beside them plus the committed corpus under
// testdata/fuzz/<FuzzName>. Whatever the bytes, a reader must end with io.EOF, a
// *TruncatedError or an error naming the frame, never panic or hang, and every frame it
// hands over must go back out through a Writer in the same format unchanged.

// maxFuzzFrame caps the frame size a fuzzed y4m header may ask for before frames are read: a
// header may legally ask for up to MaxFrameBytes, and allocating that for every input would
// make fuzzing crawl without testing anything more.
const maxFuzzFrame = 1 << 20

// FuzzRawReader reads rawvideo of any pix_fmt and size up to 255x255 from arbitrary bytes,
// whole or in one-byte pieces, and writes it back in the same pix_fmt.
func FuzzRawReader(f *testing.F) {
	for _, s := range []struct {
		data       []byte
		w, h, pix  uint8
		oneByte    bool
		fullRange  bool
		inputBytes int
	}{
		{w: 5, h: 3, pix: 0, inputBytes: 3 * 45},        // TestReaderFramesAndCleanEOF
		{w: 2, h: 2, pix: 0, inputBytes: 2*12 + 5},      // TestReaderTruncated
		{w: 7, h: 5, pix: 3, inputBytes: 3 * 7 * 5 * 4}, // TestSameFormatRoundTripIsExact: bgra
		{w: 8, h: 6, pix: 5, inputBytes: 3 * 72},        // yuv420p
		{w: 8, h: 6, pix: 5, inputBytes: 72 + 7, fullRange: true},
		{w: 7, h: 6, pix: 5, inputBytes: 10}, // odd yuv420p width: refused
		{w: 0, h: 6, pix: 4, inputBytes: 10}, // no width: refused
		{w: 3, h: 1, pix: 4, inputBytes: 0, oneByte: true},
	} {
		data := make([]byte, s.inputBytes)
		for i := range data {
			data[i] = byte(i*7 + 3)
		}
		f.Add(data, s.w, s.h, s.pix, s.oneByte, s.fullRange)
	}
	f.Fuzz(func(t *testing.T, data []byte, w, h, pix uint8, oneByte, fullRange bool) {
		p := PixFmts[int(pix)%len(PixFmts)]
		info := StreamInfo{Width: int(w), Height: int(h), PixFmt: p, FullRange: fullRange}
		var src io.Reader = bytes.NewReader(data)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		r, err := NewRawReader(src, info)
		size, sizeErr := p.FrameSize(int(w), int(h))
		if (err != nil) != (sizeErr != nil) {
			t.Fatalf("%dx%d %v: NewRawReader error %v, FrameSize error %v", w, h, p, err, sizeErr)
		}
		if err != nil {
			return
		}
		var out bytes.Buffer
		wr, err := NewRawWriter(&out, info)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(r, wr, int(w), int(h), nil)
		whole := len(data) / size
		if frames != whole {
			t.Fatalf("%dx%d %v, %d bytes: %d frames read, want %d", w, h, p, len(data), frames, whole)
		}
		var te *TruncatedError
		switch rest := len(data) % size; {
		case rest == 0 && err != io.EOF:
			t.Fatalf("%d whole frames: the read after them gave %v, want io.EOF", whole, err)
		case rest != 0 && (!errors.As(err, &te) || te.Frame != int64(whole) || te.Got != rest || te.Want != size):
			t.Fatalf("%d whole frames and %d bytes: %v, want frame %d truncated after %d of %d bytes", whole, rest, err, whole, rest, size)
		}
		if !bytes.Equal(out.Bytes(), data[:whole*size]) {
			t.Fatalf("%dx%d %v: the frames written back differ from the %d whole frames read", w, h, p, whole)
		}
	})
}

// readAll reads frames from r until an error, checks each frame's fields, appends its rgb24
// pixels to pix (when not nil) and writes it to w; it returns the number of frames read and
// the error that ended reading.
func readAll(r *Reader, w *Writer, width, height int, pix *bytes.Buffer) (int, error) {
	fr := &Frame{}
	for k := 0; ; k++ {
		err := r.Read(fr)
		if err != nil {
			return k, err
		}
		if fr.Seq != int64(k) || fr.Width != width || fr.Height != height || fr.Stride != 3*width || len(fr.Pix) != 3*width*height {
			return k, fmt.Errorf("frame %d came out as seq %d, %dx%d, stride %d, %d bytes", k, fr.Seq, fr.Width, fr.Height, fr.Stride, len(fr.Pix))
		}
		if pix != nil {
			pix.Write(fr.Pix)
		}
		if err := w.Write(fr); err != nil {
			return k, fmt.Errorf("writing back: %w", err)
		}
	}
}

// FuzzY4MReader reads a YUV4MPEG2 stream from arbitrary bytes. A header it accepts has a
// positive size within MaxFrameBytes; the frames end cleanly, truncated or with an error
// naming the next frame; and the frames written back as y4m read the same, and write back to
// the same bytes again.
func FuzzY4MReader(f *testing.F) {
	for _, c := range y4mHeaderFieldCases {
		f.Add([]byte(c.header + "\n"))
		f.Add([]byte(c.header + "\nFRAME\n"))
	}
	for _, c := range y4mHeaderErrorCases {
		f.Add([]byte(c.in))
	}
	for _, c := range y4mTruncatedCases {
		f.Add([]byte(c.in))
	}
	f.Add([]byte(y4mTwoFrames))
	f.Add([]byte("YUV4MPEG2 W3 H2 Cmono XCOLORRANGE=FULL\nFRAME\nabcdefFRAME\nghijkl"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewY4MReader(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "yuv4mpegpipe") {
				t.Fatalf("header error %q does not say it is about the yuv4mpegpipe header", err)
			}
			return
		}
		info := r.Info()
		size, err := info.PixFmt.FrameSize(info.Width, info.Height)
		if err != nil || info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("header accepted with %dx%d %v: %v", info.Width, info.Height, info.PixFmt, err)
		}
		if size > maxFuzzFrame {
			return
		}
		var first bytes.Buffer
		w, err := NewY4MWriter(&first, info)
		if err != nil {
			t.Fatalf("the header read (%+v) cannot be written back: %v", info, err)
		}
		var pix1, pix2 bytes.Buffer
		frames, err := readAll(r, w, info.Width, info.Height, &pix1)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var te *TruncatedError
		switch {
		case err == io.EOF:
		case errors.As(err, &te):
			if te.Frame != int64(frames) || te.Want != size || te.Got < 0 || te.Got >= size {
				t.Fatalf("after %d frames of %d bytes: %v", frames, size, err)
			}
		case !strings.HasPrefix(err.Error(), fmt.Sprintf("reading frame %d: ", frames)):
			t.Fatalf("after %d frames: error %q does not name frame %d", frames, err, frames)
		}
		if frames*(size+len(y4mFrame)) > len(data) {
			t.Fatalf("%d frames of %d bytes from %d bytes of input", frames, size, len(data))
		}

		// What was written reads back to the same frames and writes back to the same bytes.
		r2, err := NewY4MReader(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("meshpipe's own y4m output %.80q does not read back: %v", first.Bytes(), err)
		}
		if i2 := r2.Info(); i2.Width != info.Width || i2.Height != info.Height || i2.PixFmt != info.PixFmt || i2.FullRange != info.FullRange {
			t.Fatalf("header written back reads as %+v, was %+v", i2, info)
		}
		var second bytes.Buffer
		w2, _ := NewY4MWriter(&second, r2.Info())
		frames2, err := readAll(r2, w2, info.Width, info.Height, &pix2)
		w2.Close()
		if frames2 != frames || err != io.EOF {
			t.Fatalf("output read back: %d frames and %v, want %d and io.EOF", frames2, err, frames)
		}
		if !bytes.Equal(pix1.Bytes(), pix2.Bytes()) {
			t.Fatalf("the %d frames written back read as other pixels", frames)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("y4m written, read and written again changed:\n%.120q\n%.120q", first.Bytes(), second.Bytes())
		}
	})
}
