package preview

import (
	"errors"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

func TestFeed(t *testing.T) {
	q := NewFeed()
	var got rawvideo.Frame
	if q.Take(&got) {
		t.Fatal("Take on an empty feed reported a frame")
	}
	f, _ := rawvideo.NewFrame(4, 2)
	for seq := int64(0); seq < 3; seq++ {
		f.Seq = seq
		f.Pix[0] = byte(10 + seq)
		q.Put(f)
	}
	f.Pix[0] = 99 // the feed holds its own copy
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready has no value with a frame waiting")
	}
	if !q.Take(&got) || got.Seq != 2 || got.Pix[0] != 12 || got.Width != 4 || got.Height != 2 {
		t.Fatalf("took frame %d (%dx%d, first byte %d), want the newest, 2 (12)", got.Seq, got.Width, got.Height, got.Pix[0])
	}
	if q.Take(&got) {
		t.Error("a frame taken twice")
	}
	if put, dropped := q.Counts(); put != 3 || dropped != 2 {
		t.Errorf("counts put %d dropped %d, want 3 and 2", put, dropped)
	}
	// The buffers swap: putting again reuses the one Take gave back.
	f.Seq = 3
	q.Put(f)
	var got2 rawvideo.Frame
	if !q.Take(&got2) || got2.Seq != 3 || got2.Pix[0] != 99 {
		t.Errorf("took frame %d, first byte %d; want 3, 99", got2.Seq, got2.Pix[0])
	}
}

func TestWindowSize(t *testing.T) {
	for _, c := range []struct{ w, h, ww, wh int }{
		{640, 360, 640, 360}, {1280, 720, 1280, 720}, {1920, 1080, 1280, 720},
		{768, 576, 768, 576}, {4000, 1000, 1280, 320}, {500, 3000, 120, 720},
	} {
		if ww, wh := windowSize(c.w, c.h); ww != c.ww || wh != c.wh {
			t.Errorf("windowSize(%d, %d) = %d, %d; want %d, %d", c.w, c.h, ww, wh, c.ww, c.wh)
		}
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ w, h, fw, fh, x0, y0, dw, dh int }{
		{640, 360, 640, 360, 0, 0, 640, 360},
		{640, 360, 800, 800, 0, 175, 800, 450},  // bars above and below
		{640, 480, 1000, 480, 180, 0, 640, 480}, // bars left and right
		{641, 479, 320, 240, 0, 0, 320, 239},
	} {
		x0, y0, dw, dh := fit(c.w, c.h, c.fw, c.fh)
		if x0 != c.x0 || y0 != c.y0 || dw != c.dw || dh != c.dh {
			t.Errorf("fit(%d, %d, %d, %d) = %d, %d, %d, %d; want %d, %d, %d, %d", c.w, c.h, c.fw, c.fh, x0, y0, dw, dh, c.x0, c.y0, c.dw, c.dh)
		}
	}
}

// recordWriter keeps the sequence numbers written; it fails on frame failAt.
type recordWriter struct {
	seqs   []int64
	failAt int64
}

func (w *recordWriter) Write(f *rawvideo.Frame) error {
	if f.Seq == w.failAt {
		return errFailed
	}
	w.seqs = append(w.seqs, f.Seq)
	return nil
}

var errFailed = errors.New("write failed")

// Tee writes every frame to its writer and feeds the window only the frames written.
func TestTee(t *testing.T) {
	q := NewFeed()
	w := &recordWriter{failAt: 2}
	tee := q.Tee(w)
	f, _ := rawvideo.NewFrame(2, 2)
	for seq := int64(0); seq < 3; seq++ {
		f.Seq = seq
		err := tee.Write(f)
		if (err != nil) != (seq == 2) {
			t.Fatalf("frame %d: %v", seq, err)
		}
	}
	put, dropped := q.Counts()
	var got rawvideo.Frame
	if len(w.seqs) != 2 || put != 2 || dropped != 1 || !q.Take(&got) || got.Seq != 1 {
		t.Errorf("written %v, fed %d (%d dropped), newest %d; want [0 1], 2 fed, 1 dropped, newest 1", w.seqs, put, dropped, got.Seq)
	}
}
