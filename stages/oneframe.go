package stages

import (
	"math"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// OneFrame runs the graph's stages on one frame at a time, synchronously, on the calling
// goroutine, through the same code as Run: detect and track, pose (the frame's people as one
// batch, as Run poses a frame with Batch 1) or, with a Tracking, the track stage; the
// PeopleFilter, render with the first of the Config's Renderers, then the PoseWriter. Given the same Config and frames, it draws exactly what Run with Batch 1
// writes. It is the frei0r plugin's path, where each call must return its own frame with its
// own people drawn. Config's sizes (PoseWorkers, Batch, BatchWait, InFlight) and Recorder are
// not used. Run must not be called from two goroutines at once.
type OneFrame struct {
	cfg Config
	g   graph
	j   job
	b   [1]*job // the batch of one that goes to the pose stage
	sc  poseScratch
}

// NewOneFrame returns a OneFrame over cfg's parts; it fails, as Run does, when cfg lacks a
// detector, a pose estimator or a renderer.
func NewOneFrame(cfg Config) (*OneFrame, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	o := &OneFrame{cfg: cfg}
	o.b[0] = &o.j
	return o, nil
}

// Run finds the people of f, poses them and draws them over f in place, records them with the
// PoseWriter, and returns how many it drew (found or held, human.PoseStatus.Drawn). Frames must come in stream order, numbered by
// f.Seq (the detector and the tracker keep state between frames). A failure comes back as a
// *StageError naming the stage and f.Seq; f is then unchanged unless rendering itself failed
// part-way. A panic of a part comes back as its stage's error. A failure does not stop later
// calls.
func (o *OneFrame) Run(f *rawvideo.Frame) (int, error) {
	o.g.failedAt.Store(math.MaxInt64)
	j := &o.j
	j.frame, j.dets, j.people, j.err = f, j.dets[:0], j.people[:0], nil
	if o.cfg.Tracking != nil {
		o.g.trackJob(o.cfg.Tracking, j)
	} else {
		o.g.detectJob(o.cfg.Detector, o.cfg.Tracker, j)
		estimate(o.cfg.Pose, o.b[:], o.g.skip, o.g.fail, &o.sc) // the pose stage's batch of one
	}
	o.g.peopleJob(o.cfg.People, j)
	o.g.renderJob(o.cfg.Renderers[0], j)
	if j.err != nil {
		return 0, j.err
	}
	if err := writePoses(o.cfg.Poses, j); err != nil {
		return 0, err
	}
	return drawnCount(j.people), nil
}
