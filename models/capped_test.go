package models

import (
	"errors"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// square returns a detection of a side x side box at x with the given score.
func square(x, side, score float32) human.Detection {
	return human.Detection{Box: human.Box{X1: x, Y1: 0, X2: x + side, Y2: side}, Score: score}
}

func TestKeepLargest(t *testing.T) {
	dets := []human.Detection{
		square(0, 10, 0.9),   // 100
		square(20, 30, 0.8),  // 900
		square(60, 20, 0.7),  // 400
		square(90, 20, 0.6),  // 400, lower score than the one before
		square(120, 5, 0.5),  // 25
		square(130, 40, 0.4), // 1600
	}
	got := KeepLargest(append([]human.Detection(nil), dets...), 3)
	want := []human.Detection{dets[1], dets[2], dets[5]} // the three largest, in detector order
	if len(got) != len(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kept %v, want %v", got, want)
		}
	}
	// Equal areas: the higher score stays.
	if got := KeepLargest([]human.Detection{square(0, 20, 0.2), square(30, 20, 0.6)}, 1); len(got) != 1 || got[0].Score != 0.6 {
		t.Errorf("equal areas: kept %v, want the 0.6 one", got)
	}
	if got := KeepLargest(dets, 6); len(got) != 6 {
		t.Errorf("n = len: kept %d", len(got))
	}
	if got := KeepLargest(append([]human.Detection(nil), dets...), 0); len(got) != 0 {
		t.Errorf("n = 0: kept %v", got)
	}
}

type listDetector struct {
	dets []human.Detection
	err  error
}

func (d *listDetector) Detect(*rawvideo.Frame) ([]human.Detection, error) {
	return append([]human.Detection(nil), d.dets...), d.err
}

func TestCapped(t *testing.T) {
	crowd := &listDetector{}
	for i := 0; i < 40; i++ {
		crowd.dets = append(crowd.dets, square(float32(i*50), float32(1+i%7), 0.5))
	}
	var overs []int
	c := &Capped{Detector: crowd, Max: 16, Over: func(f *rawvideo.Frame, found int) { overs = append(overs, found) }}
	f := &rawvideo.Frame{Seq: 3}
	got, err := c.Detect(f)
	if err != nil || len(got) != 16 {
		t.Fatalf("40 people, cap 16: %d kept, %v", len(got), err)
	}
	for _, d := range got {
		if d.Box.Width() < 5 { // sides 7, 6 and 5 come 5, 5 and 6 times: the 16 largest
			t.Errorf("kept a box of side %v", d.Box.Width())
		}
	}
	if len(overs) != 1 || overs[0] != 40 {
		t.Errorf("Over called with %v, want once with 40", overs)
	}
	crowd.dets = crowd.dets[:16]
	if got, _ := c.Detect(f); len(got) != 16 || len(overs) != 1 {
		t.Errorf("16 people, cap 16: %d kept, Over called %d times", len(got), len(overs))
	}
	crowd.err = errors.New("boom")
	if _, err := c.Detect(f); err == nil || err.Error() != "boom" {
		t.Errorf("the detector's error came back as %v", err)
	}
}
