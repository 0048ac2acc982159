package farm

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/meshpipe/meshpipe/farm/segment"
)

// Phases of a file, as Progress.Phase names them.
const (
	PhaseProbing  = "probing"
	PhaseSegments = "segments"
	PhaseJoining  = "joining"
	PhaseDone     = "done"
)

// Progress is what a running ProcessFile answers to ProgressQuery.
type Progress struct {
	// Phase is PhaseProbing, PhaseSegments, PhaseJoining or PhaseDone.
	Phase string
	// Frames is the file's frame count as probed (0 while probing); Segments the number of
	// segments planned.
	Frames, Segments int
	// SegmentsDone counts the segments whose files are written, FramesDone their frames.
	SegmentsDone, FramesDone int
}

// Result is what ProcessFile returns when the output is written.
type Result struct {
	// Output is the file written, Frames its frame count, Segments how many segments made it.
	Output           string
	Frames, Segments int
	// Seeked counts the segments whose decoder seeked to their first frame.
	Seeked int
}

// SegmentTask is the input of the Segment activity.
type SegmentTask struct {
	Job   Job
	Probe segment.Probe
	Range segment.Range
	// Out is the segment file to write.
	Out string
}

// JoinTask is the input of the Join activity.
type JoinTask struct {
	Job   Job
	Probe segment.Probe
	// Segments are the segment files in order, Frames their range's frame counts and Skips the
	// frames before those in each file (segment.Result); WorkDir their folder, removed once the
	// output is whole.
	Segments []string
	Frames   []int
	Skips    []int
	WorkDir  string
}

// Heartbeat is the detail a Segment or Join activity heartbeats: Frame, the number of the
// frame of the file last written (-1 before the first), and Written, how many frames the
// activity has written.
type Heartbeat struct {
	Frame, Written int
}

// Activity names, as the workflow schedules them (the methods of Activities).
const (
	activityProbe   = "Probe"
	activitySegment = "Segment"
	activityJoin    = "Join"
	activityCleanup = "Cleanup"
)

// retryPolicy is p as Temporal's retry policy: exponential back-off (coefficient 2) from
// InitialInterval to MaxInterval, MaxAttempts attempts. Failures marked non-retryable (bad
// input, refused options) are never retried.
func (p Policy) retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: p.InitialInterval, BackoffCoefficient: 2,
		MaximumInterval: p.MaxInterval, MaximumAttempts: p.MaxAttempts}
}

// ProcessFile is the workflow of one file: probe it (retried; bad input fails the file at
// once), plan its segments (segment.Plan), run every segment as an activity (all scheduled at
// once; workers take them as they have room; each retried on its own, on any worker, after a
// failure or a missed heartbeat), then join them into job.Output. When a segment fails for
// good, the others are cancelled and the file fails with that segment's reason; the segment
// files are removed in every case. It answers ProgressQuery.
func ProcessFile(ctx workflow.Context, job Job) (Result, error) {
	progress := Progress{Phase: PhaseProbing}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return progress, nil }); err != nil {
		return Result{}, err
	}
	if err := job.Check(); err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadJob, nil)
	}
	workDir := job.WorkDir
	if workDir == "" {
		workDir = filepath.Join(filepath.Dir(job.Output), ".meshfarm", workflow.GetInfo(ctx).WorkflowExecution.ID)
	}

	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, RetryPolicy: job.Policy.retryPolicy()})
	var probe segment.Probe
	if err := workflow.ExecuteActivity(short, activityProbe, job).Get(ctx, &probe); err != nil {
		return Result{}, failure("probe", err)
	}
	ranges, err := segment.Plan(probe.Frames, job.SegmentFrames, job.WarmupFrames)
	if err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadJob, nil)
	}
	progress = Progress{Phase: PhaseSegments, Frames: probe.Frames, Segments: len(ranges)}

	long := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour, HeartbeatTimeout: job.Policy.HeartbeatTimeout,
		RetryPolicy: job.Policy.retryPolicy()})
	segCtx, cancelSegments := workflow.WithCancel(long)
	defer cancelSegments()
	results := make([]segment.Result, len(ranges))
	files := make([]string, len(ranges))
	var segErr error
	sel := workflow.NewSelector(ctx)
	for i, r := range ranges {
		files[i] = filepath.Join(workDir, fmt.Sprintf("segment-%05d.%s", i, segmentExt(job.Intermediate, probe)))
		f := workflow.ExecuteActivity(segCtx, activitySegment, SegmentTask{Job: job, Probe: probe, Range: r, Out: files[i]})
		sel.AddFuture(f, func(f workflow.Future) {
			err := f.Get(ctx, &results[i])
			switch {
			case err == nil:
				progress.SegmentsDone++
				progress.FramesDone += results[i].Frames
			case segErr == nil:
				segErr = failure(r.String(), err)
				cancelSegments()
			}
		})
	}
	for range ranges {
		sel.Select(ctx)
	}
	if segErr != nil {
		cleanup(ctx, workDir)
		return Result{}, segErr
	}

	progress.Phase = PhaseJoining
	counts, skips := make([]int, len(ranges)), make([]int, len(ranges))
	res := Result{Output: job.Output, Segments: len(ranges)}
	for i, r := range results {
		counts[i], skips[i] = r.Frames, r.Skip
		if r.Seeked {
			res.Seeked++
		}
	}
	if err := workflow.ExecuteActivity(long, activityJoin, JoinTask{Job: job, Probe: probe, Segments: files,
		Frames: counts, Skips: skips, WorkDir: workDir}).Get(ctx, &res.Frames); err != nil {
		cleanup(ctx, workDir)
		return Result{}, failure("join", err)
	}
	progress.Phase = PhaseDone
	return res, nil
}

// segmentExt is the extension of a segment file: y4m or rgb24 (raw), nut (ffvhuff).
func segmentExt(intermediate string, p segment.Probe) string {
	switch {
	case intermediate == segment.FFVHuff:
		return "nut"
	case p.Pipe().Y4M:
		return "y4m"
	}
	return "rgb24"
}

// cleanup removes the segment files (one attempt, in a context that survives the
// workflow's cancellation; a failure only leaves files behind).
func cleanup(ctx workflow.Context, workDir string) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	_ = workflow.ExecuteActivity(dctx, activityCleanup, workDir).Get(dctx, nil)
}

// failure is the file's failure for a step that failed: a non-retryable error whose message
// is the step and the root cause (what ffprobe, ffmpeg or meshpipe said, or which timeout
// passed), and whose type is the cause's (ErrBadInput, ErrBadOptions...).
func failure(step string, err error) error {
	msg, typ := err.Error(), "Failed"
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	var canceled *temporal.CanceledError
	switch {
	case errors.As(err, &app):
		msg = app.Message()
		if app.Type() != "" {
			typ = app.Type()
		}
	case errors.As(err, &timeout):
		msg, typ = fmt.Sprintf("timed out (%s)", timeout.TimeoutType()), "Timeout"
		if cause := errors.Unwrap(timeout); cause != nil {
			msg += ": " + cause.Error()
		}
	case errors.As(err, &canceled):
		msg, typ = "canceled", "Canceled"
	}
	return temporal.NewNonRetryableApplicationError(step+": "+msg, typ, nil)
}
