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

// nanoFuzzRecordBytes is one cell record of FuzzNanoDetDecode's input: a little-endian uint16
// cell index (taken modulo the cells of all levels), a bin byte (modulo 11), then the person
// score and the logit set on that bin of each of the four sides, as little-endian float32s.
const nanoFuzzRecordBytes = 2 + 1 + 5*4

// Output variants FuzzNanoDetDecode hands the decoder: well-formed, and four a model must not
// get past (cells of another input size, too few values, a level without its box output, a
// second class-score output for a level).
const (
	nanoFuzzGood = iota
	nanoFuzzWrongCells
	nanoFuzzShortData
	nanoFuzzNoBoxes
	nanoFuzzTwice
	nanoFuzzModes
)

// nanoFuzzRecord packs one cell record.
func nanoFuzzRecord(cell int, bin byte, score float32, logits [4]float32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(cell))
	b = append(b, bin)
	for _, v := range append([]float32{score}, logits[:]...) {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// FuzzNanoDetDecode feeds the NanoDet detector outputs with arbitrary cells (any values: NaN,
// infinities, huge logits, scores outside [0, 1]) for inputs of 64x32 and 128x96 pixels and
// frames of any size up to 512x512. A well-formed output must give detections that are
// finite, non-empty, inside the frame, at or above the threshold, best first and pairwise
// below the NMS IoU (IoU does not change under the stretch); a malformed one must give an
// error that names an output or a stride; nothing may panic.
func FuzzNanoDetDecode(f *testing.F) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	var seed []byte
	seed = append(seed, nanoFuzzRecord(10, 3, 0.9, [4]float32{40, 40, 40, 40})...)
	seed = append(seed, nanoFuzzRecord(11, 2, 0.8, [4]float32{40, 40, 40, 40})...)
	seed = append(seed, nanoFuzzRecord(33, 0, nan, [4]float32{})...)
	seed = append(seed, nanoFuzzRecord(34, 10, inf, [4]float32{inf, -inf, nan, 1e30})...)
	seed = append(seed, nanoFuzzRecord(35, 10, 2, [4]float32{1e30, 1e30, 1e30, 1e30})...)
	for mode := range nanoFuzzModes {
		f.Add(seed, uint8(0), uint16(255), uint16(127), uint8(mode))
	}
	f.Add(seed, uint8(1), uint16(0), uint16(511), uint8(nanoFuzzGood))
	f.Fuzz(func(t *testing.T, records []byte, sizeSel uint8, fw, fh uint16, mode uint8) {
		size := [2]models.InputSize{{Width: 64, Height: 32}, {Width: 128, Height: 96}}[int(sizeSel)%2]
		w, h := int(fw)%512+1, int(fh)%512+1
		outs := nanoDetOutputs(size.Width, size.Height)
		levels := [3][2]string{{"Identity:0", "Identity_3:0"}, {"Identity_1:0", "Identity_4:0"}, {"Identity_2:0", "Identity_5:0"}}
		total := 0
		for _, l := range levels {
			total += int(outs[l[0]].Shape[1])
		}
		set := 0
		for ; len(records) >= nanoFuzzRecordBytes; records = records[nanoFuzzRecordBytes:] {
			cell := int(binary.LittleEndian.Uint16(records)) % total
			bin := int(records[2]) % 11
			v := func(k int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(records[3+4*k:])) }
			for _, l := range levels {
				n := int(outs[l[0]].Shape[1])
				if cell >= n {
					cell -= n
					continue
				}
				outs[l[0]].Data[cell*80] = v(0)
				for side := range 4 {
					outs[l[1]].Data[cell*44+side*11+bin] = v(1 + side)
				}
				break
			}
			set++
		}
		switch int(mode) % nanoFuzzModes {
		case nanoFuzzWrongCells:
			o := outs["Identity_1:0"]
			o.Shape = []int64{1, o.Shape[1] + 1, 80}
			o.Data = append(o.Data, make([]float32, 80)...)
			outs["Identity_1:0"] = o
		case nanoFuzzShortData:
			o := outs["Identity_5:0"]
			o.Data = o.Data[:len(o.Data)-1]
			outs["Identity_5:0"] = o
		case nanoFuzzNoBoxes:
			delete(outs, "Identity_3:0")
		case nanoFuzzTwice:
			outs["scores again"] = outs["Identity:0"]
		}
		d := models.NewNanoDet(&fixedRunner{outs: outs}, size)
		frame, err := rawvideo.NewFrame(w, h)
		if err != nil {
			t.Fatal(err)
		}
		dets, err := d.Detect(frame)
		if int(mode)%nanoFuzzModes != nanoFuzzGood {
			if err == nil || !(strings.Contains(err.Error(), "output") || strings.Contains(err.Error(), "stride")) {
				t.Fatalf("malformed outputs (mode %d): error %v, want one naming an output or a stride", int(mode)%nanoFuzzModes, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("well-formed outputs: %v", err)
		}
		if len(dets) > set {
			t.Fatalf("%d detections from %d cells set", len(dets), set)
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
