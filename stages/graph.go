// Package stages runs meshpipe's stage graph: read, detect+track, pose, render, reorder and
// write, with worker pools, a bounded number of frames in flight and cancellation of the whole
// graph on the first error. It is pure Go; the detector, pose estimator and renderers come in
// through small interfaces, so the graph is tested with fakes.
package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
	"golang.org/x/sync/errgroup"
)

// Source gives frames in stream order. Read fills f (reusing f.Pix) and sets f.Seq; it returns
// io.EOF at a clean end of the stream. rawvideo.Reader is a Source.
type Source interface {
	Read(f *rawvideo.Frame) error
}

// Sink takes the output frames in order. rawvideo.Writer is a Sink.
type Sink interface {
	Write(f *rawvideo.Frame) error
}

// Tracker gives detections stable track ids; it is called in frame order.
type Tracker interface {
	Update(dets []models.Detection) []models.Detection
}

// PoseEstimator recovers the body of each detection of several frames at once
// (models.PoseEstimator): the crops of consecutive frames go to the model as one batch. It is
// shared by all pose workers, so it must be safe for concurrent use.
type PoseEstimator interface {
	// EstimateBatch returns people[i] for frames[i], one Person per detection of dets[i], in
	// order. When it fails, the graph runs each frame of the batch alone, so that the error
	// it reports names the frame at fault and the frames before it are still drawn.
	EstimateBatch(frames []*rawvideo.Frame, dets [][]models.Detection) ([][]models.Person, error)
}

// Renderer draws people over a frame in place. Each render worker owns one Renderer and calls
// it from one goroutine.
type Renderer interface {
	Render(f *rawvideo.Frame, people []models.Person) error
}

// PoseWriter records the people of each frame (cmd/meshpipe's -poses JSONL). It is called
// from one goroutine, in frame order, just before each frame is written.
type PoseWriter interface {
	WritePoses(f *rawvideo.Frame, people []models.Person) error
}

// Config is the graph's parts and sizes.
type Config struct {
	// Detector finds people; it is called in frame order from one goroutine.
	Detector models.Detector
	// Tracker, if not nil, assigns track ids after detection.
	Tracker Tracker
	// Pose is shared by PoseWorkers goroutines.
	Pose PoseEstimator
	// PoseWorkers is the number of pose goroutines; 0 means 2.
	PoseWorkers int
	// Batch is the most people whose crops go to the pose model in one run, gathered from
	// consecutive frames (a frame with more people than Batch runs alone, whole); 0 means 1.
	Batch int
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
	poseWorkers := c.PoseWorkers
	if poseWorkers <= 0 {
		poseWorkers = 2
	}
	return poseWorkers*max(c.Batch, 1) + len(c.Renderers) + 4
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
	// Stage is "read", "detect", "pose", "render", "poses" or "write".
	Stage string
	// Frame is the index of the frame at fault, from 0.
	Frame int64
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("%s: frame %d: %v", e.Stage, e.Frame, e.Err) }
func (e *StageError) Unwrap() error { return e.Err }

type job struct {
	readAt time.Time // when its read began; set only with a Recorder
	frame  *rawvideo.Frame
	dets   []models.Detection
	people []models.Person
	err    error
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
	if cfg.Detector == nil || cfg.Pose == nil || len(cfg.Renderers) == 0 {
		return Stats{}, errors.New("stages: the graph needs a detector, a pose estimator and at least one renderer")
	}
	poseWorkers := cfg.PoseWorkers
	if poseWorkers <= 0 {
		poseWorkers = 2
	}
	batch := max(cfg.Batch, 1)
	wait := cfg.BatchWait
	if wait <= 0 {
		wait = DefaultBatchWait
	}
	inFlight := cfg.FramesInFlight()
	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	rec := cfg.Recorder
	rec.begin(poseWorkers, len(cfg.Renderers))
	defer rec.end()

	// failedAt is the lowest frame a stage failed at; frames after it are not worked on.
	var failedAt atomic.Int64
	failedAt.Store(math.MaxInt64)
	fail := func(j *job, stage string, err error) {
		j.err = &StageError{Stage: stage, Frame: j.frame.Seq, Err: err}
		for {
			cur := failedAt.Load()
			if j.frame.Seq >= cur || failedAt.CompareAndSwap(cur, j.frame.Seq) {
				return
			}
		}
	}
	skip := func(j *job) bool { return j.err != nil || j.frame.Seq > failedAt.Load() }
	send := func(ch chan<- *job, j *job) bool {
		select {
		case ch <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}

	free := make(chan *job, inFlight)
	for i := 0; i < inFlight; i++ {
		free <- &job{frame: &rawvideo.Frame{}}
	}
	detectCh := make(chan *job, inFlight)
	poseCh := make(chan *job, inFlight)
	renderCh := make(chan *job, inFlight)
	doneCh := make(chan *job, inFlight)

	// read: outside the errgroup, because a blocked Read cannot be interrupted. A read error
	// ends the stream like EOF and is returned once everything before it is written.
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(detectCh)
		for {
			var j *job
			select {
			case j = <-free:
			case <-ctx.Done():
				return
			}
			if failedAt.Load() != math.MaxInt64 {
				return
			}
			t0 := rec.now()
			err := guard(func() error { return src.Read(j.frame) })
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var te *rawvideo.TruncatedError
				seq := j.frame.Seq
				if errors.As(err, &te) {
					seq = te.Frame
				}
				readErr = &StageError{Stage: "read", Frame: seq, Err: err}
				return
			}
			rec.record(StageRead, t0)
			j.readAt, j.dets, j.people, j.err = t0, j.dets[:0], nil, nil
			if !send(detectCh, j) {
				return
			}
		}
	}()

	// detect+track, in frame order.
	g.Go(func() error {
		defer close(poseCh)
		for {
			var j *job
			select {
			case next, ok := <-detectCh:
				if !ok {
					return nil
				}
				j = next
			case <-ctx.Done():
				// The reader may be blocked in Read; do not wait for it to close detectCh.
				return nil
			}
			if !skip(j) {
				t0 := rec.now()
				err := guard(func() error {
					dets, err := cfg.Detector.Detect(j.frame)
					if err == nil && cfg.Tracker != nil {
						dets = cfg.Tracker.Update(dets)
					}
					j.dets = dets
					return err
				})
				if err != nil {
					fail(j, "detect", err)
				}
				rec.record(StageDetect, t0)
			}
			if !send(poseCh, j) {
				return nil
			}
		}
	})

	pool := func(n int, in <-chan *job, out chan<- *job, work func(i int, j *job)) {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			g.Go(func() error {
				defer wg.Done()
				for j := range in {
					if !skip(j) {
						work(i, j)
					}
					if !send(out, j) {
						return nil
					}
				}
				return nil
			})
		}
		g.Go(func() error { wg.Wait(); close(out); return nil })
	}
	// pose: a batcher groups consecutive frames; the workers run the batches.
	batchCh := make(chan []*job)
	g.Go(func() error {
		defer close(batchCh)
		batchFrames(ctx, poseCh, batchCh, batch, wait, func(j *job) int {
			if skip(j) {
				return 0
			}
			return len(j.dets)
		})
		return nil
	})
	var poseWG sync.WaitGroup
	for i := 0; i < poseWorkers; i++ {
		poseWG.Add(1)
		g.Go(func() error {
			defer poseWG.Done()
			for b := range batchCh {
				t0 := rec.now()
				n := estimate(cfg.Pose, b, skip, fail)
				rec.recordBatch(StagePose, t0, n) // frames without people are not pose work
				for _, j := range b {
					if !send(renderCh, j) {
						return nil
					}
				}
			}
			return nil
		})
	}
	g.Go(func() error { poseWG.Wait(); close(renderCh); return nil })
	pool(len(cfg.Renderers), renderCh, doneCh, func(i int, j *job) {
		if len(j.people) == 0 {
			return
		}
		t0 := rec.now()
		if err := guard(func() error { return cfg.Renderers[i].Render(j.frame, j.people) }); err != nil {
			fail(j, "render", err)
		}
		rec.record(StageRender, t0)
	})

	// reorder + write.
	var stats Stats
	g.Go(func() error {
		rb := NewReorder[*job](inFlight)
		for j := range doneCh {
			if err := rb.Push(j.frame.Seq, j); err != nil {
				return err
			}
			for {
				next, ok := rb.Pop()
				if !ok {
					break
				}
				if next.err != nil {
					return next.err
				}
				if cfg.Poses != nil {
					if err := cfg.Poses.WritePoses(next.frame, next.people); err != nil {
						return &StageError{Stage: "poses", Frame: next.frame.Seq, Err: err}
					}
				}
				t0 := rec.now()
				if err := dst.Write(next.frame); err != nil {
					return &StageError{Stage: "write", Frame: next.frame.Seq, Err: err}
				}
				rec.record(StageWrite, t0)
				rec.wrote(next.readAt, len(next.people))
				stats.Frames++
				stats.People += int64(len(next.people))
				free <- next
			}
		}
		return nil
	})

	err := g.Wait()
	if err == nil {
		err = parent.Err()
	}
	if err == nil {
		<-readDone // detect saw detectCh closed, so the reader is done or about to be
		err = readErr
	}
	return stats, err
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
