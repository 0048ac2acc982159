package preview

import (
	"log/slog"
	"time"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// FrameWriter takes frames in order (stages.Sink; rawvideo.Writer).
type FrameWriter interface {
	Write(f *rawvideo.Frame) error
}

// Tee returns a FrameWriter that writes each frame to dst and then, when that succeeded, puts
// a copy of it in q for the window. It never waits for the window.
func (q *Feed) Tee(dst FrameWriter) FrameWriter { return teeWriter{dst: dst, feed: q} }

type teeWriter struct {
	dst  FrameWriter
	feed *Feed
}

func (t teeWriter) Write(f *rawvideo.Frame) error {
	if err := t.dst.Write(f); err != nil {
		return err
	}
	t.feed.Put(f)
	return nil
}

// PollEvery is how often Follow lets the window handle its events (moves, resizes, the close
// button) while no frame comes.
const PollEvery = 20 * time.Millisecond

// Follow shows q's newest frame in win whenever one comes, until done is closed, and then the
// last frame if it came after the last one shown. Frames that come faster than the window
// draws are skipped (q counts them). It runs on the goroutine that opened win. When the window
// is closed, or showing a frame fails, it says so once on log and stops showing, but still
// returns only when done is closed: the window follows a run and never ends it.
func (win *Window) Follow(q *Feed, done <-chan struct{}, log *slog.Logger) {
	f := &follower{win: win, feed: q, log: log}
	tick := time.NewTicker(PollEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			f.show()
			return
		case <-q.Ready():
			f.show()
		case <-tick.C:
			if !f.stopped {
				win.Poll()
			}
		}
	}
}

// follower is Follow's state: the frame being shown (swapped with the feed's) and whether the
// showing stopped.
type follower struct {
	win     *Window
	feed    *Feed
	log     *slog.Logger
	frame   rawvideo.Frame
	stopped bool
}

// show draws the feed's newest frame, if any, unless the showing has stopped.
func (f *follower) show() {
	if f.stopped {
		return
	}
	if f.win.Closed() {
		f.stopped = true
		f.log.Info("preview window closed; frames still go to the output")
		return
	}
	if !f.feed.Take(&f.frame) {
		return
	}
	if err := f.win.Show(&f.frame); err != nil {
		f.stopped = true
		f.log.Warn("preview stopped; frames still go to the output", "err", err)
	}
}
