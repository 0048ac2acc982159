package models_test

import (
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
)

func walker(x, y float32) human.Detection {
	return human.Detection{Box: human.Box{X1: x, Y1: y, X2: x + 40, Y2: y + 100}, Score: 0.9}
}

func trackIDs(dets []human.Detection) []int {
	out := make([]int, len(dets))
	for i, d := range dets {
		out[i] = d.TrackID
	}
	return out
}

func TestTrackStableIDs(t *testing.T) {
	tr := models.NewTracker()
	// Two people walking towards each other, 5 px a frame, listed in a different order each
	// frame.
	for f := 0; f < 20; f++ {
		a := walker(100+5*float32(f), 50)
		b := walker(400-5*float32(f), 60)
		dets := []human.Detection{a, b}
		want := []int{1, 2}
		if f%2 == 1 {
			dets = []human.Detection{b, a}
			want = []int{2, 1}
		}
		got := trackIDs(tr.Update(dets))
		if got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("frame %d: ids %v, want %v", f, got, want)
		}
	}
}

func TestTrackNewPerson(t *testing.T) {
	tr := models.NewTracker()
	tr.Update([]human.Detection{walker(0, 0)})
	got := trackIDs(tr.Update([]human.Detection{walker(2, 0), walker(300, 0)}))
	if got[0] != 1 || got[1] != 2 {
		t.Fatalf("ids %v, want [1 2]", got)
	}
	// Stale TrackIDs on the input are overwritten.
	d := walker(302, 0)
	d.TrackID = 77
	if got := trackIDs(tr.Update([]human.Detection{d})); got[0] != 2 {
		t.Fatalf("id %v, want 2", got)
	}
}

func TestTrackMissedFrames(t *testing.T) {
	tr := models.NewTracker()
	tr.Update([]human.Detection{walker(0, 0)})
	// Missed for MaxAge frames: the id survives.
	for i := 0; i < tr.MaxAge; i++ {
		tr.Update(nil)
	}
	if got := trackIDs(tr.Update([]human.Detection{walker(3, 0)})); got[0] != 1 {
		t.Fatalf("after %d missed frames: id %v, want 1", tr.MaxAge, got)
	}
	// Missed for MaxAge+1 frames: the track has ended and the person gets a new id.
	for i := 0; i < tr.MaxAge+1; i++ {
		tr.Update(nil)
	}
	if tr.Live() != 0 {
		t.Fatalf("%d tracks live after %d empty frames, want 0", tr.Live(), tr.MaxAge+1)
	}
	if got := trackIDs(tr.Update([]human.Detection{walker(3, 0)})); got[0] != 2 {
		t.Fatalf("after %d missed frames: id %v, want a new id 2", tr.MaxAge+1, got)
	}
}

func TestTrackNoIDReuse(t *testing.T) {
	tr := models.NewTracker()
	seen := map[int]bool{}
	last := 0
	// People appear and vanish: each frame has a new far-away person and sometimes keeps the
	// last one.
	for f := 0; f < 100; f++ {
		dets := []human.Detection{walker(float32(f*1000), 0)}
		if f%3 == 0 && f > 0 {
			dets = append(dets, walker(float32((f-1)*1000+1), 0))
		}
		tr.Update(dets)
		if seen[dets[0].TrackID] {
			t.Fatalf("frame %d: id %d given twice", f, dets[0].TrackID)
		}
		if dets[0].TrackID <= last {
			t.Fatalf("frame %d: new id %d not above %d", f, dets[0].TrackID, last)
		}
		last = dets[0].TrackID
		seen[last] = true
		if len(dets) == 2 && dets[1].TrackID != last-1 {
			t.Fatalf("frame %d: returning person got id %d, want %d", f, dets[1].TrackID, last-1)
		}
	}
	if tr.Live() > tr.MaxAge+1 {
		t.Errorf("%d tracks live, want at most %d", tr.Live(), tr.MaxAge+1)
	}
}

func TestTrackGreedyHighestIoU(t *testing.T) {
	tr := models.NewTracker()
	tr.Update([]human.Detection{walker(0, 0)}) // id 1, x 0..40
	// Two detections overlap track 1: x 10..50 (IoU 0.60) and x 5..45 (IoU 0.78). The closer one
	// keeps the id whatever the order; the other starts track 2.
	got := trackIDs(tr.Update([]human.Detection{walker(10, 0), walker(5, 0)}))
	if got[0] != 2 || got[1] != 1 {
		t.Fatalf("ids %v, want [2 1]", got)
	}
	// Below MinIoU: a new track.
	tr.MinIoU = 0.95
	got = trackIDs(tr.Update([]human.Detection{walker(8, 0)}))
	if got[0] != 3 {
		t.Fatalf("best IoU 0.90 under MinIoU 0.95: id %v, want 3", got)
	}
}

func TestTrackEmpty(t *testing.T) {
	tr := models.NewTracker()
	if got := tr.Update(nil); len(got) != 0 {
		t.Fatalf("Update(nil) = %v", got)
	}
	// A zero-area box never matches anything (IoU 0) but still gets an id.
	got := trackIDs(tr.Update([]human.Detection{{}, {}}))
	if got[0] != 1 || got[1] != 2 {
		t.Fatalf("ids %v, want [1 2]", got)
	}
}

func TestTrackAllocs(t *testing.T) {
	tr := models.NewTracker()
	dets := []human.Detection{walker(0, 0), walker(100, 0), walker(200, 0)}
	tr.Update(dets)
	if n := testing.AllocsPerRun(10, func() { tr.Update(dets) }); n != 0 {
		t.Errorf("Update allocates %v times a frame in steady state, want 0", n)
	}
}
