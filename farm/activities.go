package farm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/meshpipe/meshpipe/farm/segment"
)

// Activities are the steps of ProcessFile that run on a worker: Probe, Segment, Join and
// Cleanup. One value serves every activity the worker runs at once.
type Activities struct {
	// Meshpipe is the meshpipe binary the worker runs.
	Meshpipe string
	// Devices are the GPUs of this worker (meshpipe's -device values, e.g. "cuda:0"), one
	// segment on each at a time; empty: meshpipe's default device. A job whose options name a
	// -device keeps it.
	Devices []string
	// Log receives a line per activity started, finished or failed, and (at debug level) each
	// heartbeat; nil: slog.Default().
	Log *slog.Logger

	once sync.Once
	free chan string
}

// Register registers ProcessFile and a's activities with w (a worker, or a test environment).
func Register(w worker.Registry, a *Activities) {
	w.RegisterWorkflowWithOptions(ProcessFile, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivity(a)
}

func (a *Activities) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// Probe runs segment.ProbeFile on the job's input, after checking the job. A missing or
// undecodable input, or a bad job, is a non-retryable failure (ErrBadInput, ErrBadJob).
func (a *Activities) Probe(ctx context.Context, job Job) (segment.Probe, error) {
	if err := job.Check(); err != nil {
		return segment.Probe{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadJob, nil)
	}
	p, err := segment.ProbeFile(ctx, job.Input)
	if err != nil {
		a.log().Warn("probe failed", "input", job.Input, "err", err)
		return p, classify(err)
	}
	a.log().Info("probed", "input", job.Input, "frames", p.Frames, "size", fmt.Sprintf("%dx%d", p.Width, p.Height),
		"pix_fmt", p.PixFmt, "rate", p.Rate, "seekable", p.Seekable)
	return p, nil
}

// Segment runs one segment (segment.Run) and heartbeats its progress (Heartbeat) with every
// frame written, and every few seconds while none comes (meshpipe starting, the warm-up), until
// the stall timeout. Its ffmpeg and meshpipe processes end with the activity: when the
// server cancels it, when it fails, and when the worker dies. Options meshpipe refuses fail
// the file (ErrBadOptions).
func (a *Activities) Segment(ctx context.Context, task SegmentTask) (segment.Result, error) {
	info := activity.GetInfo(ctx)
	log := a.log().With("input", task.Job.Input, "segment", task.Range.Index, "attempt", info.Attempt)
	opts := task.Job.Options
	if dev, release, err := a.device(ctx); err != nil {
		return segment.Result{}, err
	} else if dev != "" {
		defer release()
		if !hasFlag(opts, "device") {
			opts = append(append([]string{}, opts...), "-device", dev)
		}
	}
	if err := os.MkdirAll(filepath.Dir(task.Out), 0o755); err != nil {
		return segment.Result{}, err
	}
	log.Info("segment started", "range", task.Range.String())
	start := time.Now()
	var written atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := a.heartbeats(ctx, task.Job.Policy, log, cancel, func() Heartbeat {
		n := int(written.Load())
		return Heartbeat{Frame: task.Range.Start + n - 1, Written: n}
	})
	res, err := segment.Run(ctx, segment.Job{Input: task.Job.Input, Probe: task.Probe, Range: task.Range,
		Meshpipe: a.Meshpipe, Options: opts, Intermediate: task.Job.Intermediate, Out: task.Out,
		Progress: func(n int) { written.Store(int64(n)) }})
	written.Store(int64(res.Frames))
	stop()
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the stall watchdog's reason
	}
	if err != nil {
		log.Warn("segment failed", "err", err, "frames", res.Frames)
		return res, classify(err)
	}
	log.Info("segment done", "frames", res.Frames, "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "seeked", res.Seeked)
	return res, nil
}

// Join joins a file's segments into its output (segment.Join), heartbeating as it goes, then
// removes the segment files.
func (a *Activities) Join(ctx context.Context, task JoinTask) (int, error) {
	log := a.log().With("output", task.Job.Output)
	if err := os.MkdirAll(filepath.Dir(task.Job.Output), 0o755); err != nil {
		return 0, err
	}
	var written atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := a.heartbeats(ctx, task.Job.Policy, log, cancel, func() Heartbeat {
		n := int(written.Load())
		return Heartbeat{Frame: n - 1, Written: n}
	})
	n, err := segment.Join(ctx, segment.JoinJob{Input: task.Job.Input, Probe: task.Probe, Segments: task.Segments,
		Frames: task.Frames, Skips: task.Skips, Intermediate: task.Job.Intermediate, Output: task.Job.Output, VideoCodec: task.Job.VideoCodec,
		Progress: func(n int) { written.Store(int64(n)) }})
	written.Store(int64(n))
	stop()
	if err != nil {
		log.Warn("join failed", "err", err)
		return n, classify(err)
	}
	if err := removeWorkDir(task.WorkDir); err != nil {
		log.Warn("removing the segment files", "err", err)
	}
	log.Info("output written", "frames", n)
	return n, nil
}

// Cleanup removes a file's segment folder.
func (a *Activities) Cleanup(ctx context.Context, workDir string) error {
	return removeWorkDir(workDir)
}

// removeWorkDir removes a file's segment folder, and its parent when that is the default
// ".meshfarm" folder and nothing else is left in it.
func removeWorkDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if parent := filepath.Dir(dir); filepath.Base(parent) == ".meshfarm" {
		os.Remove(parent) // fails while other files' segments are there
	}
	return nil
}

// heartbeats heartbeats what progress returns every time it changes and at least every
// third of the heartbeat timeout (the SDK sends at most one in 80% of the timeout, the rest
// batched). When Written has not moved for the policy's StallTimeout it cancels ctx with an
// error saying so. stop ends it.
func (a *Activities) heartbeats(ctx context.Context, p Policy, log *slog.Logger, cancel context.CancelCauseFunc, progress func() Heartbeat) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	tick := min(p.HeartbeatTimeout/3, time.Second)
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		last, moved := progress(), time.Now()
		activity.RecordHeartbeat(ctx, last)
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			hb := progress()
			if hb.Written != last.Written {
				last, moved = hb, time.Now()
				log.Debug("heartbeat", "frame", hb.Frame, "written", hb.Written)
			} else if time.Since(moved) > p.StallTimeout {
				cancel(fmt.Errorf("no frame written for %s (stall timeout) after %d frames", p.StallTimeout, hb.Written))
				return
			}
			activity.RecordHeartbeat(ctx, hb)
		}
	}()
	return func() {
		close(done)
		<-finished
		activity.RecordHeartbeat(ctx, progress()) // the last frame, for status and tests
	}
}

// device takes a free GPU for a segment, waiting for one (or ctx); release gives it back. With
// no Devices it returns "".
func (a *Activities) device(ctx context.Context) (dev string, release func(), err error) {
	if len(a.Devices) == 0 {
		return "", func() {}, nil
	}
	a.once.Do(func() {
		a.free = make(chan string, len(a.Devices))
		for _, d := range a.Devices {
			a.free <- d
		}
	})
	select {
	case dev = <-a.free:
		return dev, func() { a.free <- dev }, nil
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}

// hasFlag reports whether opts set meshpipe's flag name (-name, --name, -name=...).
func hasFlag(opts []string, name string) bool {
	for _, o := range opts {
		n, _, _ := strings.Cut(strings.TrimLeft(o, "-"), "=")
		if strings.HasPrefix(o, "-") && n == name {
			return true
		}
	}
	return false
}

// classify marks the failures that no retry can mend as non-retryable application errors
// with their type; others go back as they are, to be retried.
func classify(err error) error {
	var ie *segment.InputError
	var oe *segment.OptionsError
	switch {
	case errors.As(err, &ie):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, nil)
	case errors.As(err, &oe):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadOptions, nil)
	}
	return err
}
