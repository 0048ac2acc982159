package rawvideo

import (
	"fmt"
	"strings"
)

// PixFmt is the pixel format of a raw video stream, named as ffmpeg's -pix_fmt names it. The
// pipeline works on rgb24 Frames; a Reader converts its stream's pix_fmt to rgb24 once per
// frame and a Writer converts back, both into buffers they reuse.
//
// Byte layouts (ffmpeg's, rows top to bottom, no padding):
//   - RGB24, BGR24: 3 bytes a pixel, in the order of the name.
//   - RGBA, BGRA: 4 bytes a pixel, the last one alpha (255 opaque).
//   - Gray: 1 byte a pixel, full range luma (0 black, 255 white), as ffmpeg's gray.
//   - YUV420P: planar 4:2:0 Y'CbCr, BT.601, limited range (Y' 16..235, Cb and Cr 16..240):
//     the W*H Y plane, then the (W/2)*(H/2) U (Cb) plane, then the V (Cr) plane. One U and
//     one V sample belong to each 2x2 block of pixels; width and height must be even.
type PixFmt uint8

// The pixel formats meshpipe reads and writes. The zero PixFmt is not a format.
const (
	RGB24 PixFmt = iota + 1
	BGR24
	RGBA
	BGRA
	Gray
	YUV420P
)

var pixFmtNames = [...]string{RGB24: "rgb24", BGR24: "bgr24", RGBA: "rgba", BGRA: "bgra", Gray: "gray", YUV420P: "yuv420p"}

// PixFmts lists every supported format, in the order help texts show them.
var PixFmts = []PixFmt{RGB24, BGR24, RGBA, BGRA, Gray, YUV420P}

// String returns ffmpeg's name of the format ("rgb24", "yuv420p", ...), or "pix_fmt(N)" for a
// value that is not a format.
func (p PixFmt) String() string {
	if int(p) < len(pixFmtNames) && pixFmtNames[p] != "" {
		return pixFmtNames[p]
	}
	return fmt.Sprintf("pix_fmt(%d)", uint8(p))
}

// ParsePixFmt returns the format that ffmpeg calls name ("gray8" is taken as "gray"). The
// error lists the supported names.
func ParsePixFmt(name string) (PixFmt, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "gray8" {
		n = "gray"
	}
	for _, p := range PixFmts {
		if pixFmtNames[p] == n {
			return p, nil
		}
	}
	return 0, fmt.Errorf("pix_fmt %q is not supported: want one of %s", name, pixFmtList())
}

func pixFmtList() string {
	s := make([]string, len(PixFmts))
	for i, p := range PixFmts {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// valid reports whether p is one of the formats above.
func (p PixFmt) valid() bool { return p >= RGB24 && p <= YUV420P }

// packedBytes returns the bytes a pixel of a packed format, or 0 for a planar one.
func (p PixFmt) packedBytes() int {
	switch p {
	case RGB24, BGR24:
		return 3
	case RGBA, BGRA:
		return 4
	case Gray:
		return 1
	}
	return 0
}

// FrameSize returns the number of bytes of one w x h frame in format p: w*h*3 for rgb24 and
// bgr24, w*h*4 for rgba and bgra, w*h for gray, w*h*3/2 for yuv420p. It returns an error,
// naming the size and the format, when a side is not positive, when p is yuv420p and a side
// is odd, or when the frame in format p or its rgb24 working copy would exceed MaxFrameBytes.
func (p PixFmt) FrameSize(w, h int) (int, error) {
	if !p.valid() {
		return 0, fmt.Errorf("%v is not a pixel format", p)
	}
	if w <= 0 || h <= 0 {
		return 0, fmt.Errorf("frame size %dx%d: width and height must be positive", w, h)
	}
	if p == YUV420P && (w%2 != 0 || h%2 != 0) {
		return 0, fmt.Errorf("frame size %dx%d: yuv420p needs an even width and height (one chroma sample per 2x2 block)", w, h)
	}
	if w > MaxFrameBytes || h > MaxFrameBytes {
		// Either side alone is over the limit, and w*h*4 could overflow an int64.
		return 0, fmt.Errorf("frame size %dx%d: over the %d-byte limit of a frame", w, h, MaxFrameBytes)
	}
	px := int64(w) * int64(h)
	n := px * 3 / 2
	if b := p.packedBytes(); b > 0 {
		n = px * int64(b)
	}
	if big := max(n, px*BytesPerPixel); big > MaxFrameBytes {
		return 0, fmt.Errorf("frame size %dx%d: %d bytes a frame (%v, or its rgb24 copy) is over the %d-byte limit",
			w, h, big, p, MaxFrameBytes)
	}
	return int(n), nil
}
