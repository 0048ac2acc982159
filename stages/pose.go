package stages

import (
	"context"
	"fmt"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// PoseEstimator recovers the body of each detection of several frames at once
// (models.PoseEstimator, models.BlazePose): the crops of consecutive frames go to the model as
// one batch. It is shared by all pose workers, so it must be safe for concurrent use.
type PoseEstimator interface {
	// EstimateBatch returns people[i] for frames[i], one Person per detection of dets[i], in
	// order. When it fails, the graph runs each frame of the batch alone, so that the error
	// it reports names the frame at fault and the frames before it are still drawn.
	EstimateBatch(frames []*rawvideo.Frame, dets [][]human.Detection) ([][]human.Person, error)
}

// DefaultBatchWait is how long, by default, the first frame of a pose batch waits for more
// frames while a pose worker is free. It is short next to a pose model run (tens of
// milliseconds for HMR2 on a GPU, seconds on a CPU) and next to a 30 fps frame interval, so a
// stream whose frames come slowly is hardly held back, while a file, whose frames are all
// there, fills whole batches.
const DefaultBatchWait = 10 * time.Millisecond

// batch is the first half of the pose stage: it groups consecutive jobs from in into batches of
// at most limit crops (batchFrames) and sends them to out, which it closes at the end. Jobs not
// to be worked on count no crops.
func (g *graph) batch(in <-chan *job, out chan<- []*job, limit int, wait time.Duration) error {
	defer close(out)
	batchFrames(g.ctx, in, out, limit, wait, func(j *job) int {
		if g.skip(j) {
			return 0
		}
		return len(j.dets)
	})
	return nil
}

// pose is one pose worker, the second half of the pose stage: it runs each batch from in
// through est (estimate) and sends its jobs on to out, in order. It returns when in is closed
// or the graph is cancelled.
func (g *graph) pose(est PoseEstimator, in <-chan []*job, out chan<- *job) error {
	for b := range in {
		t0 := g.rec.now()
		n := estimate(est, b, g.skip, g.fail)
		g.rec.recordBatch(StagePose, t0, n) // frames without people are not pose work
		for _, j := range b {
			if !g.send(out, j) {
				return nil
			}
		}
	}
	return nil
}

// batchFrames reads jobs from in, in order, and sends them to out in batches of consecutive
// jobs. crops gives a job's number of crops: a job with none (no people, or not to be worked
// on) goes out at once on its own; the others gather until the next would take the batch over
// limit crops (a job with more than limit crops goes alone). A batch goes out when it is full,
// or when wait has passed since its first job and a worker takes it; while no worker is free,
// it keeps filling up to limit. batchFrames returns when in is closed and drained, or when ctx
// is done.
func batchFrames(ctx context.Context, in <-chan *job, out chan<- []*job, limit int, wait time.Duration, crops func(*job) int) {
	send := func(b []*job) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var pending *job // a job read while a batch was full, to start the next batch
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		first := pending
		pending = nil
		if first == nil {
			select {
			case j, ok := <-in:
				if !ok {
					return
				}
				first = j
			case <-ctx.Done():
				return
			}
		}
		n := crops(first)
		if n == 0 || n >= limit {
			if !send([]*job{first}) {
				return
			}
			continue
		}
		batch := []*job{first}
		timer.Reset(wait)
		expired, closed := false, false
		for n < limit && !closed && pending == nil {
			var ready chan<- []*job // nil (blocks) until the wait is over
			if expired {
				ready = out
			}
			select {
			case j, ok := <-in:
				if !ok {
					closed = true
					break
				}
				k := crops(j)
				switch {
				case k == 0:
					if !send([]*job{j}) {
						return
					}
				case n+k > limit:
					pending = j
				default:
					batch = append(batch, j)
					n += k
				}
			case <-timer.C:
				expired = true
			case ready <- batch:
				batch = nil
			case <-ctx.Done():
				return
			}
			if batch == nil {
				break
			}
		}
		if batch != nil && !send(batch) {
			return
		}
		if closed {
			if pending != nil && !send([]*job{pending}) {
				return
			}
			return
		}
	}
}

// estimate runs one batch through the pose estimator and stores each job's people. Jobs to
// skip (a frame before them failed) and jobs without detections are left out of the run. When
// the run fails (or panics), each job is run alone, in order, so that the error lands on the
// frame at fault; the jobs after a failure are left to be skipped. It returns the number of
// jobs given to the estimator (0 when none had detections), for the stage's timing.
func estimate(pose PoseEstimator, b []*job, skip func(*job) bool, fail func(*job, string, error)) int {
	var jobs []*job
	for _, j := range b {
		if !skip(j) && len(j.dets) > 0 {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return 0
	}
	run := func(jobs []*job) error {
		frames := make([]*rawvideo.Frame, len(jobs))
		dets := make([][]human.Detection, len(jobs))
		for i, j := range jobs {
			frames[i], dets[i] = j.frame, j.dets
		}
		return guard(func() error {
			people, err := pose.EstimateBatch(frames, dets)
			if err != nil {
				return err
			}
			if len(people) != len(jobs) {
				return fmt.Errorf("pose estimator returned people for %d frames of a batch of %d", len(people), len(jobs))
			}
			for i, j := range jobs {
				j.people = people[i]
			}
			return nil
		})
	}
	err := run(jobs)
	if err == nil {
		return len(jobs)
	}
	if len(jobs) == 1 {
		fail(jobs[0], "pose", err)
		return 1
	}
	for _, j := range jobs {
		if skip(j) {
			break
		}
		if err := run([]*job{j}); err != nil {
			fail(j, "pose", err)
			break
		}
	}
	return len(jobs)
}
