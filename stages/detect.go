package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Detector finds the people in a frame (models.YOLOX, models.BackgroundSubtractor, ...). The
// graph calls it in frame order from one goroutine, so it may keep state between frames.
type Detector interface {
	// Detect returns the people in f, best first, with TrackID 0; boxes in pixels of f.
	Detect(f *rawvideo.Frame) ([]human.Detection, error)
}

// Tracker gives detections stable track ids; it is called in frame order.
type Tracker interface {
	Update(dets []human.Detection) []human.Detection
}

// detect is the graph's second stage: for each job from in, in frame order, it finds the people
// (d) and gives them track ids (t, when not nil), then sends the job on to out. A failure marks
// the job's frame; the job still goes on, so that the frames before it are written. detect
// closes out when in is closed or the graph is cancelled.
func (g *graph) detect(d Detector, t Tracker, in <-chan *job, out chan<- *job) error {
	return g.inOrder(in, out, func(j *job) { g.detectJob(d, t, j) })
}

// inOrder is an in-order stage of one goroutine: for each job from in, in frame order, it runs
// work and sends the job on to out, which it closes when in is closed or the graph is
// cancelled. It does not wait for in to close after a cancel, since the reader may be blocked
// in Read.
func (g *graph) inOrder(in <-chan *job, out chan<- *job, work func(*job)) error {
	defer close(out)
	for {
		var j *job
		select {
		case next, ok := <-in:
			if !ok {
				return nil
			}
			j = next
		case <-g.ctx.Done():
			return nil
		}
		work(j)
		if !g.send(out, j) {
			return nil
		}
	}
}

// detectJob finds the people of j's frame unless j is to be skipped, marking the frame as failed
// when that fails.
func (g *graph) detectJob(d Detector, t Tracker, j *job) {
	if g.skip(j) {
		return
	}
	t0 := g.rec.now()
	if err := detectFrame(d, t, j); err != nil {
		g.fail(j, "detect", err)
	}
	g.rec.record(StageDetect, t0)
}

// detectFrame runs d and t on j's frame and stores the detections in j; a panic comes back as
// an error.
func detectFrame(d Detector, t Tracker, j *job) error {
	return guard(func() error {
		dets, err := d.Detect(j.frame)
		if err == nil && t != nil {
			dets = t.Update(dets)
		}
		j.dets = dets
		return err
	})
}
