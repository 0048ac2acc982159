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
	// EstimateInto sets people[i], for frames[i], to one Person per detection of dets[i], in
	// order, reusing what people[i] holds: the graph passes each frame's job's people of an
	// earlier frame, with length 0, and their array and vertex buffers (human.Reuse) are the
	// estimator's to fill, so that a steady stream allocates nothing. The people stay the
	// frame's until it is written. When EstimateInto fails, the graph runs each frame of the
	// batch alone, so that the error it reports names the frame at fault and the frames before
	// it are still drawn.
	EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error
}

// DefaultBatchWait is how long, by default, the first frame of a pose batch waits for more
// frames while a pose worker is free. It is short next to a pose model run (tens of
// milliseconds for HMR2 on a GPU, seconds on a CPU) and next to a 30 fps frame interval, so a
// stream whose frames come slowly is hardly held back, while a file, whose frames are all
// there, fills whole batches.
const DefaultBatchWait = 10 * time.Millisecond

// batch is the first half of the pose stage: it groups consecutive jobs from in into batches of
// at most limit crops (batchFrames, with batch slices from pool) and sends them to out, which it
// closes at the end. Jobs not to be worked on count no crops.
func (g *graph) batch(in <-chan *job, out chan<- []*job, pool batchPool, limit int, wait time.Duration) error {
	defer close(out)
	batchFrames(g.ctx, in, out, pool, limit, wait, func(j *job) int {
		if g.skip(j) {
			return 0
		}
		return len(j.dets)
	})
	return nil
}

// pose is one pose worker, the second half of the pose stage: it runs each batch from in
// through est (estimate) and sends its jobs on to out, in order, then gives the batch's slice
// back to pool. It returns when in is closed or the graph is cancelled.
func (g *graph) pose(est PoseEstimator, in <-chan []*job, out chan<- *job, pool batchPool) error {
	var sc poseScratch
	for b := range in {
		t0 := g.rec.now()
		n := estimate(est, b, g.skip, g.fail, &sc)
		g.rec.recordBatch(StagePose, t0, n) // frames without people are not pose work
		for _, j := range b {
			if !g.send(out, j) {
				return nil
			}
		}
		pool.put(b)
	}
	return nil
}

// batchPool recycles batch slices from the pose workers back to the batcher, so that batching
// allocates nothing in steady state. A nil pool recycles nothing.
type batchPool chan []*job

// get returns an empty batch: a recycled one when there is one.
func (p batchPool) get() []*job {
	select {
	case b := <-p:
		return b
	default:
		return make([]*job, 0, 4)
	}
}

// put gives b back, emptied; when the pool is full (or nil), b is left to the collector.
func (p batchPool) put(b []*job) {
	clear(b)
	select {
	case p <- b[:0]:
	default:
	}
}

// batchFrames reads jobs from in, in order, and sends them to out in batches of consecutive
// jobs, in slices from pool. crops gives a job's number of crops: a job with none (no people,
// or not to be worked on) goes out at once on its own; the others gather until the next would
// take the batch over limit crops (a job with more than limit crops goes alone). A batch goes
// out when it is full, or when wait has passed since its first job and a worker takes it;
// while no worker is free, it keeps filling up to limit. batchFrames returns when in is closed
// and drained, or when ctx is done.
func batchFrames(ctx context.Context, in <-chan *job, out chan<- []*job, pool batchPool, limit int, wait time.Duration, crops func(*job) int) {
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
			if !send(append(pool.get(), first)) {
				return
			}
			continue
		}
		batch := append(pool.get(), first)
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
					if !send(append(pool.get(), j)) {
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
			if pending != nil && !send(append(pool.get(), pending)) {
				return
			}
			return
		}
	}
}

// poseScratch is one pose worker's argument lists for the estimator, reused batch after batch.
type poseScratch struct {
	jobs   []*job
	frames []*rawvideo.Frame
	dets   [][]human.Detection
	people [][]human.Person
}

// estimate runs one batch through the pose estimator and stores each job's people (into the
// job's own buffers). Jobs to skip (a frame before them failed) and jobs without detections are
// left out of the run. When the run fails (or panics), each job is run alone, in order, so that
// the error lands on the frame at fault; the jobs after a failure are left to be skipped. It
// returns the number of jobs given to the estimator (0 when none had detections), for the
// stage's timing. sc is the worker's scratch.
func estimate(pose PoseEstimator, b []*job, skip func(*job) bool, fail func(*job, string, error), sc *poseScratch) int {
	sc.jobs = sc.jobs[:0]
	for _, j := range b {
		if !skip(j) && len(j.dets) > 0 {
			sc.jobs = append(sc.jobs, j)
		}
	}
	if len(sc.jobs) == 0 {
		return 0
	}
	run := func(jobs []*job) error {
		sc.frames, sc.dets, sc.people = sc.frames[:0], sc.dets[:0], sc.people[:0]
		for _, j := range jobs {
			sc.frames, sc.dets, sc.people = append(sc.frames, j.frame), append(sc.dets, j.dets), append(sc.people, j.people[:0])
		}
		err := guard(func() error { return pose.EstimateInto(sc.frames, sc.dets, sc.people) })
		for i, j := range jobs {
			j.people = sc.people[i] // the buffers stay the job's, also after a failure
			if err == nil && len(j.people) != len(j.dets) {
				err = fmt.Errorf("pose estimator gave %d people for the %d detections of frame %d", len(j.people), len(j.dets), j.frame.Seq)
			}
		}
		if err != nil {
			for _, j := range jobs {
				j.people = j.people[:0]
			}
		}
		clear(sc.frames)
		clear(sc.dets)
		clear(sc.people)
		return err
	}
	jobs := sc.jobs
	err := run(jobs)
	if err == nil {
		clear(sc.jobs)
		return len(jobs)
	}
	if len(jobs) == 1 {
		fail(jobs[0], "pose", err)
		clear(sc.jobs)
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
	n := len(jobs)
	clear(sc.jobs)
	return n
}
