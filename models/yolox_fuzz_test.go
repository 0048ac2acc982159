package models_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// fuzzRowBytes is one row record of FuzzYOLOXDecode's input: a little-endian uint16 row index
// (taken modulo N) and the row's first 7 values as little-endian float32s.
const fuzzRowBytes = 2 + 7*4

// encodeRows packs rows into FuzzYOLOXDecode's record format.
func encodeRows(rows []yoloxTestRow) []byte {
	b := make([]byte, 0, len(rows)*fuzzRowBytes)
	for _, r := range rows {
		b = binary.LittleEndian.AppendUint16(b, uint16(r.row))
		for _, v := range r.v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// Output tensor variants FuzzYOLOXDecode hands the decoder: the right shape and name, a
// single output under another name (accepted), and three a model must not get past (a shape
// for another input size, too few values, no output called "output" among two).
const (
	fuzzGood = iota
	fuzzRenamed
	fuzzWrongShape
	fuzzShortData
	fuzzNoOutput
	fuzzModes
)

// FuzzYOLOXDecode feeds the YOLOX detector model outputs with arbitrary rows (any values:
// NaN, infinities, huge sizes, scores outside [0, 1]) for an input side of 32, 64 or 416 and
// frames of any size up to 512x512. A well-formed output must give detections that are
// finite, non-empty, inside the frame, at or above the threshold, best first and pairwise
// below the NMS IoU; a malformed one must give an error that names the output; nothing may
// panic.
func FuzzYOLOXDecode(f *testing.F) {
	rows := encodeRows(yoloxDecodeRows)
	f.Add(rows, uint8(2), uint16(831), uint16(623), uint8(fuzzGood))
	f.Add(rows, uint8(2), uint16(63), uint16(47), uint8(fuzzRenamed))
	f.Add(rows, uint8(2), uint16(831), uint16(623), uint8(fuzzWrongShape))
	f.Add(rows, uint8(2), uint16(831), uint16(623), uint8(fuzzShortData))
	f.Add(rows, uint8(2), uint16(831), uint16(623), uint8(fuzzNoOutput))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	f.Add(encodeRows([]yoloxTestRow{
		{0, [7]float32{nan, 0, 0, 0, 1, 1, 0}},
		{1, [7]float32{0, 0, 100, 100, 1, 1, 0}}, // exp(100) is +Inf in float32
		{2, [7]float32{0, 0, 0, 0, inf, inf, 0}},
		{3, [7]float32{0, 0, -100, -100, 1, 1, 0}}, // a box of no size
		{4, [7]float32{0, 0, 1, 1, 3, 2, 0}},       // score 6
		{20, [7]float32{-1e30, 1e30, 0, 0, 1, 1, 0}},
	}), uint8(0), uint16(0), uint16(0), uint8(fuzzGood))
	f.Fuzz(func(t *testing.T, rows []byte, sizeSel uint8, fw, fh uint16, mode uint8) {
		size := [3]int{32, 64, 416}[int(sizeSel)%3]
		w, h := int(fw)%512+1, int(fh)%512+1
		n := 0
		for _, s := range []int{8, 16, 32} {
			n += (size / s) * (size / s)
		}
		out := make([]float32, n*models.YOLOXRowLength)
		set := 0 // rows set at or above the threshold
		for ; len(rows) >= fuzzRowBytes; rows = rows[fuzzRowBytes:] {
			i := int(binary.LittleEndian.Uint16(rows)) % n
			row := out[i*models.YOLOXRowLength:]
			for k := 0; k < 7; k++ {
				row[k] = math.Float32frombits(binary.LittleEndian.Uint32(rows[2+4*k:]))
			}
			set++
		}
		name, shape, data := "output", []int64{1, int64(n), models.YOLOXRowLength}, out
		outs := map[string]models.Tensor{}
		switch int(mode) % fuzzModes {
		case fuzzRenamed:
			name = "dets"
		case fuzzWrongShape:
			shape = []int64{1, int64(n + 1), models.YOLOXRowLength}
		case fuzzShortData:
			data = out[:len(out)-1]
		case fuzzNoOutput:
			name = "a"
			outs["b"] = models.Tensor{Shape: shape, Data: data}
		}
		outs[name] = models.Tensor{Shape: shape, Data: data}
		d := models.NewYOLOX(&fixedRunner{outs: outs}, models.InputSize{Width: size, Height: size})
		frame, err := rawvideo.NewFrame(w, h)
		if err != nil {
			t.Fatal(err)
		}
		dets, err := d.Detect(frame)
		switch int(mode) % fuzzModes {
		case fuzzGood, fuzzRenamed:
			if err != nil {
				t.Fatalf("well-formed output: %v", err)
			}
		default:
			if err == nil || !strings.Contains(err.Error(), "output") {
				t.Fatalf("malformed output (mode %d): error %v, want one naming the output", int(mode)%fuzzModes, err)
			}
			return
		}
		if len(dets) > set {
			t.Fatalf("%d detections from %d rows set", len(dets), set)
		}
		for i, det := range dets {
			b := det.Box
			for _, v := range [...]float32{b.X1, b.Y1, b.X2, b.Y2, det.Score} {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("detection %d is not finite: %+v", i, det)
				}
			}
			if !(b.X1 >= 0 && b.X1 < b.X2 && b.X2 <= float32(w) && b.Y1 >= 0 && b.Y1 < b.Y2 && b.Y2 <= float32(h)) {
				t.Fatalf("detection %d box %+v is empty or outside the %dx%d frame", i, b, w, h)
			}
			if det.Score < d.Threshold || det.TrackID != 0 {
				t.Fatalf("detection %d: score %v below the threshold %v, or track id %d", i, det.Score, d.Threshold, det.TrackID)
			}
			if i > 0 && det.Score > dets[i-1].Score {
				t.Fatalf("detections not best first: %v after %v", det.Score, dets[i-1].Score)
			}
		}
		// NMS ran on the boxes before clipping; a box that touches no edge of the frame was
		// not clipped, so two such boxes must overlap no more than NMSIoU (up to rounding:
		// IoU does not change with the letterbox scale).
		inside := func(b human.Box) bool { return b.X1 > 0 && b.Y1 > 0 && b.X2 < float32(w) && b.Y2 < float32(h) }
		for i := range dets {
			for j := i + 1; j < len(dets); j++ {
				a, b := dets[i].Box, dets[j].Box
				if iou := human.IoU(a, b); inside(a) && inside(b) && iou > d.NMSIoU+1e-3 {
					t.Fatalf("detections %d %+v and %d %+v overlap with IoU %v > %v: NMS kept both", i, a, j, b, iou, d.NMSIoU)
				}
			}
		}
	})
}
