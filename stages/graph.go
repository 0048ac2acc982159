// Package stages runs meshpipe's stage graph, one file per stage in graph order:
//
//	read.go     read      frames from a Source, in order, into a bounded pool of jobs
//	detect.go   detect    people boxes (Detector) and track ids (Tracker), in frame order
//	pose.go     pose      crops of consecutive frames batched through a PoseEstimator by 2 workers
//	track.go    track     or, in place of detect and pose, a Tracking that finds and poses each
//	                      frame's people from the frame before's, in frame order
//	people.go   people    each frame's people, back in frame order, through a PeopleFilter
//	render.go   render    meshes drawn over each frame by one Renderer per worker
//	reorder.go  reorder   frames put back in sequence order (a fixed ring, no goroutines)
//	write.go    write     each frame's people to a PoseWriter, then the frame to a Sink
//
// graph.go wires the stages' channels and owns cancellation: the first failure stops the
// graph, and the frames before the one at fault are still written. oneframe.go runs the same
// stage code on one frame at a time, synchronously (the frei0r plugin's path). live.go is a
// Source for live cameras that drops the oldest frame rather than blocking; sources.go ends a
// Source early (-t, a stop); stats.go times the stages.
// The package is pure Go: the detector, pose estimator and renderers come in through the small
// interfaces above, so the graph is tested with fakes. It imports only rawvideo (frames) and
// human (the types every stage passes along).
package stages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
	"golang.org/x/sync/errgroup"
)

// Config is the graph's parts and sizes.
type Config struct {
	// Detector finds people; it is called in frame order from one goroutine.
	Detector Detector
	// Tracker, if not nil, assigns track ids after detection.
	Tracker Tracker
	// Tracking, if not nil, finds and poses the people of each frame in frame order, in
	// place of Detector, Tracker and Pose (which are then not used; Batch and PoseWorkers
	// neither).
	Tracking Tracking
	// Pose is shared by PoseWorkers goroutines.
	Pose PoseEstimator
	// PoseWorkers is the number of pose goroutines; 0 means 2.
	PoseWorkers int
	// Batch is the most people whose crops go to the pose model in one run, gathered from
	// consecutive frames (a frame with more people than Batch runs alone, whole); 0 means 1.
	Batch int
	// People, if not nil, sees each frame's posed people in frame order before they are drawn
	// (holding a track's pose through a dropout).
	People PeopleFilter
	// BatchWait caps how long the first frame of a batch waits for more frames while a pose
	// worker is free; 0 means DefaultBatchWait. While every worker is busy the batch keeps
	// filling up to Batch regardless.
	BatchWait time.Duration
	// Renderers holds one Renderer per render worker; it must not be empty.
	Renderers []Renderer
	// Poses, if not nil, records the people of every frame, in order.
	Poses PoseWriter
	// InFlight caps the frames between read and write (the frame buffers allocated, and the
	// reorder window); 0 means PoseWorkers*Batch + len(Renderers) + 4.
	InFlight int
	// Recorder, if not nil, times every stage (see Recorder).
	Recorder *Recorder
}

// FramesInFlight returns the most frames Run keeps between read and write under c: InFlight,
// or when that is 0, PoseWorkers*Batch + len(Renderers) + 4 (PoseWorkers 0 counting as 2 and
// Batch 0 as 1, as Run reads them).
func (c Config) FramesInFlight() int {
	if c.InFlight > 0 {
		return c.InFlight
	}
	return c.poseWorkers()*max(c.Batch, 1) + len(c.Renderers) + 4
}

// check reports a Config that lacks a part every frame needs.
func (c Config) check() error {
	if c.Tracking == nil && (c.Detector == nil || c.Pose == nil) || len(c.Renderers) == 0 {
		return errors.New("stages: the graph needs a detector and a pose estimator (or a tracking), and at least one renderer")
	}
	return nil
}

func (c Config) poseWorkers() int {
	if c.PoseWorkers <= 0 {
		return 2
	}
	return c.PoseWorkers
}

// Stats counts what a run did.
type Stats struct {
	// Frames is the number of frames written.
	Frames int64
	// People is the number of people drawn, over all frames written.
	People int64
}

// StageError is a failure of one stage on one frame.
type StageError struct {
	// Stage is "read", "detect", "pose", "people", "render", "poses" or "write".
	Stage string
	// Frame is the index of the frame at fault, from 0.
	Frame int64
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("%s: frame %d: %v", e.Stage, e.Frame, e.Err) }
func (e *StageError) Unwrap() error { return e.Err }

// job is one frame on its way through the graph, with what the stages found for it. Jobs are
// allocated once per run (FramesInFlight of them) and reused frame after frame.
type job struct {
	readAt time.Time // when its read began; set only with a Recorder
	frame  *rawvideo.Frame
	dets   []human.Detection
	people []human.Person
	err    error
}

// graph is one run's shared state: the context that cancels every stage, the lowest frame a
// stage failed at, and the stage timer.
type graph struct {
	ctx context.Context
	rec *Recorder
	// failedAt is the lowest frame a stage failed at; frames after it are not worked on.
	failedAt atomic.Int64
}

// fail records that stage failed on j's frame.
func (g *graph) fail(j *job, stage string, err error) {
	j.err = &StageError{Stage: stage, Frame: j.frame.Seq, Err: err}
	for {
		cur := g.failedAt.Load()
		if j.frame.Seq >= cur || g.failedAt.CompareAndSwap(cur, j.frame.Seq) {
			return
		}
	}
}

// skip reports whether j is not to be worked on: it failed, or a frame before it did.
func (g *graph) skip(j *job) bool { return j.err != nil || j.frame.Seq > g.failedAt.Load() }

// failed reports whether any frame has failed.
func (g *graph) failed() bool { return g.failedAt.Load() != math.MaxInt64 }

// send passes j on to ch; false when the graph was cancelled first.
func (g *graph) send(ch chan<- *job, j *job) bool {
	select {
	case ch <- j:
		return true
	case <-g.ctx.Done():
		return false
	}
}

// Run moves every frame of src through the graph into dst, one frame out per frame in, in
// order, and returns when src ends or a stage fails. A failure at frame k is returned as a
// *StageError naming the stage and k, after frames 0..k-1 have been written; a truncated last
// frame likewise comes back after every whole frame before it. Cancelling ctx stops the graph
// and returns ctx's error. If a stage panics, the panic is returned as that stage's error.
//
// A read that is blocked when the graph stops (a silent stdin) cannot be interrupted: Run
// returns without waiting for it, and its goroutine ends when that read returns.
func Run(ctx context.Context, cfg Config, src Source, dst Sink) (Stats, error) {
	if err := cfg.check(); err != nil {
		return Stats{}, err
	}
	wait := cfg.BatchWait
	if wait <= 0 {
		wait = DefaultBatchWait
	}
	inFlight := cfg.FramesInFlight()
	parent := ctx
	eg, ctx := errgroup.WithContext(ctx)
	g := &graph{ctx: ctx, rec: cfg.Recorder}
	g.failedAt.Store(math.MaxInt64)
	poseWorkers := cfg.poseWorkers()
	if cfg.Tracking != nil {
		poseWorkers = 1
	}
	g.rec.begin(poseWorkers, len(cfg.Renderers))
	defer g.rec.end()

	free := make(chan *job, inFlight)
	for i := 0; i < inFlight; i++ {
		free <- &job{frame: &rawvideo.Frame{}}
	}
	detectCh := make(chan *job, inFlight)
	poseCh := make(chan *job, inFlight)
	batchCh := make(chan []*job)
	posedCh := make(chan *job, inFlight)
	renderCh := make(chan *job, inFlight)
	doneCh := make(chan *job, inFlight)

	// read runs outside the errgroup, because a blocked Read cannot be interrupted. Its error
	// ends the stream like EOF and is returned once everything before it is written.
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		readErr = g.read(src, free, detectCh)
	}()
	if cfg.Tracking != nil {
		eg.Go(func() error { return g.track(cfg.Tracking, detectCh, posedCh) })
	} else {
		eg.Go(func() error { return g.detect(cfg.Detector, cfg.Tracker, detectCh, poseCh) })
		batches := make(batchPool, cfg.poseWorkers()+2)
		eg.Go(func() error { return g.batch(poseCh, batchCh, batches, max(cfg.Batch, 1), wait) })
		pool(eg, cfg.poseWorkers(), posedCh, func(int) error { return g.pose(cfg.Pose, batchCh, posedCh, batches) })
	}
	eg.Go(func() error { return g.people(cfg.People, posedCh, inFlight, renderCh) })
	pool(eg, len(cfg.Renderers), doneCh, func(i int) error { return g.render(cfg.Renderers[i], renderCh, doneCh) })
	var stats Stats
	w := &writer{g: g, dst: dst, poses: cfg.Poses, free: free, stats: &stats}
	eg.Go(func() error { return g.reorder(doneCh, inFlight, w.write) })

	err := eg.Wait()
	if err == nil {
		err = parent.Err()
	}
	if err == nil {
		<-readDone // detect saw detectCh closed, so the reader is done or about to be
		err = readErr
	}
	return stats, err
}

// pool starts n workers in eg and closes out once all of them have returned.
func pool(eg *errgroup.Group, n int, out chan<- *job, work func(i int) error) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		eg.Go(func() error {
			defer wg.Done()
			return work(i)
		})
	}
	eg.Go(func() error { wg.Wait(); close(out); return nil })
}

// guard runs fn and turns a panic into an error that carries the stack.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}
