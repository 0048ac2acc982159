package models

import (
	"cmp"
	"slices"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// DefaultMaxPeople is meshpipe's default cap on the people drawn in one frame (-max-people).
// Each person costs a 256x256 crop through the pose model and a mesh to draw, so the cap
// bounds the work, memory and delay of one frame whatever a detector reports (a crowd, or a
// detector gone wrong). 16 is more than the pedestrians of any frame of the sample videos.
const DefaultMaxPeople = 16

// KeepLargest cuts dets to the n detections with the largest boxes (by Box.Area; equal areas
// keep the higher score, then the earlier detection) and returns them in their order in dets
// (best first, as detectors give them). It works in place, allocating only when it cuts:
// dets's tail beyond the result is garbage. n < 1 keeps nothing.
func KeepLargest(dets []human.Detection, n int) []human.Detection {
	if len(dets) <= n {
		return dets
	}
	if n < 1 {
		return dets[:0]
	}
	idx := make([]int, len(dets))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(dets[b].Box.Area(), dets[a].Box.Area()); c != 0 {
			return c
		}
		return cmp.Compare(dets[b].Score, dets[a].Score)
	})
	keep := make([]bool, len(dets))
	for _, i := range idx[:n] {
		keep[i] = true
	}
	k := 0
	for i := range dets {
		if keep[i] {
			dets[k] = dets[i]
			k++
		}
	}
	return dets[:k]
}

// Capped is a Detector that draws at most Max people a frame: when its Detector finds more, it
// keeps the Max largest (KeepLargest). Like the Detector it wraps, it is called in frame order
// from one goroutine.
type Capped struct {
	// Detector finds the people.
	Detector Detector
	// Max is the most people kept in a frame, at least 1.
	Max int
	// Over, if not nil, is called for every frame on which more than Max people were found,
	// with the frame and the number found, before the cut; meshpipe warns once and counts.
	Over func(f *rawvideo.Frame, found int)
}

// LearnsEveryFrame reports whether the wrapped Detector must see every frame (Learner).
func (c *Capped) LearnsEveryFrame() bool { return learnsEveryFrame(c.Detector) }

// Detect returns the people Detector finds in f, at most Max of them (the largest), in the
// Detector's order. Detector's errors are returned as they are.
func (c *Capped) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	dets, err := c.Detector.Detect(f)
	if err != nil || len(dets) <= c.Max {
		return dets, err
	}
	if c.Over != nil {
		c.Over(f, len(dets))
	}
	return KeepLargest(dets, c.Max), nil
}
