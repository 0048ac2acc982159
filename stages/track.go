package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Tracking finds and poses the people of each frame from what it found on the frames before
// (models.PoseTracker: each person's region of interest comes from their landmarks on the
// frame before, and the person detector runs on a schedule). It takes the place of the
// Detector, Tracker and PoseEstimator, which see each frame on its own: it must see the frames
// one after the other, in stream order, from one goroutine.
type Tracking interface {
	// TrackInto sets people to the people of f, with track ids, reusing people's buffers
	// (human.Reuse; the graph passes the frame's job's people of an earlier frame, length 0),
	// and returns them. The people stay the frame's until it is written.
	TrackInto(f *rawvideo.Frame, people []human.Person) ([]human.Person, error)
}

// track is the graph's detect and pose stages in one, when the Config has a Tracking: for each
// job from in, in frame order, it finds and poses the frame's people (tr) and sends the job on
// to out, which it closes at the end (inOrder). Its time on every frame counts as the pose
// stage's, with one worker. A failure marks the job's frame; the job still goes on.
func (g *graph) track(tr Tracking, in <-chan *job, out chan<- *job) error {
	return g.inOrder(in, out, func(j *job) { g.trackJob(tr, j) })
}

// trackJob finds and poses the people of j's frame unless j is to be skipped, marking the
// frame as failed when that fails.
func (g *graph) trackJob(tr Tracking, j *job) {
	j.people = j.people[:0]
	if g.skip(j) {
		return
	}
	t0 := g.rec.now()
	err := guard(func() error {
		people, err := tr.TrackInto(j.frame, j.people)
		j.people = people
		return err
	})
	if err != nil {
		j.people = j.people[:0]
		g.fail(j, "pose", err)
	}
	g.rec.record(StagePose, t0)
}
