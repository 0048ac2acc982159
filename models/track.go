package models

import (
	"cmp"
	"slices"

	"github.com/meshpipe/meshpipe/human"
)

// Tracker defaults.
const (
	// DefaultTrackMinIoU is the default smallest IoU between a track's last box and a detection
	// for them to be matched.
	DefaultTrackMinIoU = 0.3
	// DefaultTrackMaxAge is the default number of consecutive frames a track may go unmatched
	// and still be matched again (0.5 s at 10 fps).
	DefaultTrackMaxAge = 5
)

// Tracker gives detections stable track ids across frames. Each frame's detections are matched
// to the live tracks greedily by IoU with each track's last matched box, highest IoU first, pairs
// below MinIoU never; a matched detection takes its track's id, an unmatched one starts a new
// track with the next id (1, 2, ...; an id is never given twice). A track that goes unmatched for
// more than MaxAge consecutive frames ends, so a person missed for up to MaxAge frames keeps the
// id.
//
// Update must be called once per frame, in frame order, from one goroutine. The fields may be
// changed between frames; use NewTracker for the defaults.
type Tracker struct {
	// MinIoU is the smallest IoU, in [0, 1], for a detection to continue a track.
	MinIoU float32
	// MaxAge is how many consecutive frames a track may go unmatched before it ends (>= 0).
	MaxAge int

	tracks []liveTrack
	nextID int
	pairs  []trackPair
	taken  []bool
}

// liveTrack is one live track: its id, last matched box and frames since that match.
type liveTrack struct {
	id     int
	box    human.Box
	missed int
}

// trackPair is a candidate match of tracks[track] and dets[det].
type trackPair struct {
	track, det int
	iou        float32
}

// NewTracker returns a Tracker with DefaultTrackMinIoU and DefaultTrackMaxAge.
func NewTracker() *Tracker {
	return &Tracker{MinIoU: DefaultTrackMinIoU, MaxAge: DefaultTrackMaxAge}
}

// Update matches dets, one frame's detections in frame pixels, to the tracks, sets each one's
// TrackID (overwriting any it had) and returns dets, in the same order. An empty frame still
// counts: every track ages by one frame.
func (t *Tracker) Update(dets []human.Detection) []human.Detection {
	if t.nextID == 0 {
		t.nextID = 1
	}
	t.pairs = t.pairs[:0]
	for i, tr := range t.tracks {
		for j := range dets {
			if iou := human.IoU(tr.box, dets[j].Box); iou >= t.MinIoU && iou > 0 {
				t.pairs = append(t.pairs, trackPair{track: i, det: j, iou: iou})
			}
		}
	}
	// Highest IoU first; ties go to the track seen most recently, then the older track, then the
	// earlier detection, so the result does not depend on the sort.
	slices.SortFunc(t.pairs, func(a, b trackPair) int {
		if c := cmp.Compare(b.iou, a.iou); c != 0 {
			return c
		}
		if c := cmp.Compare(t.tracks[a.track].missed, t.tracks[b.track].missed); c != 0 {
			return c
		}
		if c := cmp.Compare(a.track, b.track); c != 0 {
			return c
		}
		return cmp.Compare(a.det, b.det)
	})
	nt := len(t.tracks)
	t.taken = slices.Grow(t.taken[:0], nt+len(dets))[:nt+len(dets)]
	clear(t.taken)
	trackTaken, detTaken := t.taken[:nt], t.taken[nt:]
	for j := range dets {
		dets[j].TrackID = 0
	}
	for _, p := range t.pairs {
		if trackTaken[p.track] || detTaken[p.det] {
			continue
		}
		trackTaken[p.track], detTaken[p.det] = true, true
		tr := &t.tracks[p.track]
		tr.box, tr.missed = dets[p.det].Box, 0
		dets[p.det].TrackID = tr.id
	}
	// Age and drop the unmatched tracks, keeping the order (oldest first).
	k := 0
	for i := range t.tracks {
		if !trackTaken[i] {
			t.tracks[i].missed++
			if t.tracks[i].missed > t.MaxAge {
				continue
			}
		}
		t.tracks[k] = t.tracks[i]
		k++
	}
	t.tracks = t.tracks[:k]
	for j := range dets {
		if !detTaken[j] {
			dets[j].TrackID = t.nextID
			t.tracks = append(t.tracks, liveTrack{id: t.nextID, box: dets[j].Box})
			t.nextID++
		}
	}
	return dets
}

// Live returns the number of tracks alive: matched in one of the last MaxAge+1 frames.
func (t *Tracker) Live() int { return len(t.tracks) }
