package farm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/meshpipe/meshpipe/farm/segment"
	"github.com/meshpipe/meshpipe/internal/testenv"
)

// quietSuite is a test suite whose environments log nothing (the activity errors the tests
// cause on purpose would fill the output).
func quietSuite() *testsuite.WorkflowTestSuite {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return &s
}

// testJob is a job with short segments and quick retries.
func testJob() Job {
	j := NewJob("/data/in/a.mp4", "/data/out/a.mp4", []string{"-pose-model", "standin"})
	j.SegmentFrames, j.WarmupFrames = 30, 5
	j.Policy.InitialInterval, j.Policy.MaxInterval, j.Policy.MaxAttempts = time.Second, 4*time.Second, 3
	return j
}

// calls records the mocked activities' calls, safe for the environment's goroutines.
type calls struct {
	mu       sync.Mutex
	probe    int
	segments map[int]int // segment index -> attempts
	tasks    map[int]SegmentTask
	join     []JoinTask
	cleanup  []string
}

func newCalls() *calls { return &calls{segments: map[int]int{}, tasks: map[int]SegmentTask{}} }

// env returns a test workflow environment whose Probe returns probe (or probeErr), whose
// Segment runs segment(task, attempt) and whose Join and Cleanup succeed, recording calls.
func env(t *testing.T, c *calls, probe segment.Probe, probeErr error, seg func(SegmentTask, int) (segment.Result, error)) *testsuite.TestWorkflowEnvironment {
	s := quietSuite()
	e := s.NewTestWorkflowEnvironment()
	Register(e, &Activities{})
	e.OnActivity(activityProbe, mock.Anything, mock.Anything).Return(func(ctx context.Context, j Job) (segment.Probe, error) {
		c.mu.Lock()
		c.probe++
		c.mu.Unlock()
		return probe, probeErr
	})
	e.OnActivity(activitySegment, mock.Anything, mock.Anything).Return(func(ctx context.Context, task SegmentTask) (segment.Result, error) {
		c.mu.Lock()
		c.segments[task.Range.Index]++
		c.tasks[task.Range.Index] = task
		n := c.segments[task.Range.Index]
		c.mu.Unlock()
		return seg(task, n)
	})
	e.OnActivity(activityJoin, mock.Anything, mock.Anything).Return(func(ctx context.Context, task JoinTask) (int, error) {
		c.mu.Lock()
		c.join = append(c.join, task)
		c.mu.Unlock()
		n := 0
		for _, f := range task.Frames {
			n += f
		}
		return n, nil
	})
	e.OnActivity(activityCleanup, mock.Anything, mock.Anything).Return(func(ctx context.Context, dir string) error {
		c.mu.Lock()
		c.cleanup = append(c.cleanup, dir)
		c.mu.Unlock()
		return nil
	})
	return e
}

func whole(task SegmentTask, _ int) (segment.Result, error) {
	return segment.Result{Frames: task.Range.Len(), EOF: task.Range.Last}, nil
}

// TestWorkflowSegmentsAndJoins: 95 frames in segments of about 30 become 3 contiguous
// segments with 5 warm-up frames each but the first, joined in order with their counts.
func TestWorkflowSegmentsAndJoins(t *testing.T) {
	c := newCalls()
	e := env(t, c, segment.Probe{Frames: 95, PixFmt: "yuv420p", Width: 8, Height: 8}, nil, whole)
	e.ExecuteWorkflow(WorkflowName, testJob())
	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", e.GetWorkflowError())
	}
	var res Result
	if err := e.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Frames != 95 || res.Segments != 3 || res.Output != "/data/out/a.mp4" {
		t.Errorf("result %+v", res)
	}
	next := 0
	for i := 0; i < 3; i++ {
		task := c.tasks[i]
		r := task.Range
		if r.Start != next || (i > 0 && r.Warmup != 5) || (i == 0 && r.Warmup != 0) || r.Last != (i == 2) {
			t.Errorf("segment %d: %+v", i, r)
		}
		next = r.End
		want := fmt.Sprintf("/data/out/.meshfarm/default-test-workflow-id/segment-%05d.y4m", i)
		if task.Out != want {
			t.Errorf("segment %d writes %s, want %s", i, task.Out, want)
		}
	}
	if next != 95 || c.probe != 1 || len(c.join) != 1 {
		t.Fatalf("segments end at %d, probe called %d times, join %d", next, c.probe, len(c.join))
	}
	j := c.join[0]
	if fmt.Sprint(j.Frames) != "[31 32 32]" || len(j.Segments) != 3 || j.Segments[1] != c.tasks[1].Out {
		t.Errorf("join task %+v", j)
	}
	v, err := e.QueryWorkflow(ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p Progress
	if err := v.Get(&p); err != nil || p != (Progress{Phase: PhaseDone, Frames: 95, Segments: 3, SegmentsDone: 3, FramesDone: 95}) {
		t.Errorf("progress %+v (%v)", p, err)
	}
}

// TestWorkflowRetries: a segment that fails twice with a retryable error succeeds on its
// third attempt, the others run once, and the file completes.
func TestWorkflowRetries(t *testing.T) {
	c := newCalls()
	e := env(t, c, segment.Probe{Frames: 60, PixFmt: "yuv420p"}, nil, func(task SegmentTask, attempt int) (segment.Result, error) {
		if task.Range.Index == 1 && attempt < 3 {
			return segment.Result{}, fmt.Errorf("meshpipe: killed (attempt %d)", attempt)
		}
		return whole(task, attempt)
	})
	e.ExecuteWorkflow(WorkflowName, testJob())
	if err := e.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if c.segments[0] != 1 || c.segments[1] != 3 {
		t.Errorf("attempts per segment %v, want segment 1 three times, segment 0 once", c.segments)
	}
	if len(c.join) != 1 {
		t.Errorf("join called %d times", len(c.join))
	}
}

// TestWorkflowGivesUpAfterMaxAttempts: a segment that always fails fails the file after
// MaxAttempts attempts, with the last reason, and the segment files are cleaned up.
func TestWorkflowGivesUpAfterMaxAttempts(t *testing.T) {
	c := newCalls()
	e := env(t, c, segment.Probe{Frames: 60, PixFmt: "yuv420p"}, nil, func(task SegmentTask, attempt int) (segment.Result, error) {
		if task.Range.Index == 0 {
			return segment.Result{}, fmt.Errorf("ffmpeg decoding: I/O error (attempt %d)", attempt)
		}
		return whole(task, attempt)
	})
	e.ExecuteWorkflow(WorkflowName, testJob())
	err := e.GetWorkflowError()
	if err == nil || !strings.Contains(Reason(err), "I/O error (attempt 3)") || !strings.Contains(Reason(err), "segment 0") {
		t.Fatalf("workflow error %v (reason %q), want segment 0's third failure", err, Reason(err))
	}
	if c.segments[0] != 3 || len(c.join) != 0 || len(c.cleanup) != 1 {
		t.Errorf("segment 0 attempts %d, joins %d, cleanups %v", c.segments[0], len(c.join), c.cleanup)
	}
}

// TestWorkflowBadInputFailsAtOnce: a non-retryable probe failure fails the file on the first
// attempt, with the probe's reason, and no segment runs.
func TestWorkflowBadInputFailsAtOnce(t *testing.T) {
	c := newCalls()
	bad := temporal.NewNonRetryableApplicationError("/data/in/a.mp4: ffprobe: Invalid data found when processing input", ErrBadInput, nil)
	e := env(t, c, segment.Probe{}, bad, whole)
	e.ExecuteWorkflow(WorkflowName, testJob())
	err := e.GetWorkflowError()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrBadInput || Reason(err) != "probe: /data/in/a.mp4: ffprobe: Invalid data found when processing input" {
		t.Fatalf("workflow error %v (reason %q)", err, Reason(err))
	}
	if c.probe != 1 || len(c.segments) != 0 {
		t.Errorf("probe called %d times, segments %v", c.probe, c.segments)
	}
}

// TestWorkflowBadOptionsFailsAtOnce: a segment refused as bad options is not retried, fails
// the file with meshpipe's reason, and the file is not joined.
func TestWorkflowBadOptionsFailsAtOnce(t *testing.T) {
	c := newCalls()
	e := env(t, c, segment.Probe{Frames: 90, PixFmt: "yuv420p"}, nil, func(task SegmentTask, attempt int) (segment.Result, error) {
		return segment.Result{}, temporal.NewNonRetryableApplicationError(
			"meshpipe refused the job's options: meshpipe: model /m/bad.onnx: input is images[1 3 416 416], want img[-1 3 256 256]", ErrBadOptions, nil)
	})
	e.ExecuteWorkflow(WorkflowName, testJob())
	err := e.GetWorkflowError()
	if err == nil || !strings.Contains(Reason(err), "want img[-1 3 256 256]") {
		t.Fatalf("workflow error %v", err)
	}
	for i, n := range c.segments {
		if n != 1 {
			t.Errorf("segment %d ran %d times", i, n)
		}
	}
	if len(c.join) != 0 || len(c.cleanup) != 1 {
		t.Errorf("joins %d, cleanups %d", len(c.join), len(c.cleanup))
	}
}

func TestBadJobFailsAtOnce(t *testing.T) {
	c := newCalls()
	e := env(t, c, segment.Probe{Frames: 60}, nil, whole)
	j := testJob()
	j.Options = []string{"-o", "x.mp4"}
	e.ExecuteWorkflow(WorkflowName, j)
	var app *temporal.ApplicationError
	if err := e.GetWorkflowError(); !errors.As(err, &app) || app.Type() != ErrBadJob || c.probe != 0 {
		t.Fatalf("workflow error %v, probe calls %d", err, c.probe)
	}
}

func TestWorkflowID(t *testing.T) {
	j := testJob()
	id := WorkflowID("sha256:aa:10", j)
	if !strings.HasPrefix(id, IDPrefix) || len(id) != len(IDPrefix)+32 {
		t.Fatalf("id %q", id)
	}
	same := []func(*Job){
		func(j *Job) { j.Input = "/elsewhere/copy.mp4" }, // same content elsewhere
		func(j *Job) { j.Intermediate = segment.FFVHuff },
		func(j *Job) { j.Policy.MaxAttempts = 9 },
		func(j *Job) { j.WorkDir = "/scratch" },
	}
	for i, f := range same {
		k := testJob()
		f(&k)
		if got := WorkflowID("sha256:aa:10", k); got != id {
			t.Errorf("change %d changed the id", i)
		}
	}
	differ := []func(*Job){
		func(j *Job) { j.Options = append(j.Options, "-alpha", "0.5") },
		func(j *Job) { j.Output = "/data/out/b.mp4" },
		func(j *Job) { j.SegmentFrames = 31 },
		func(j *Job) { j.WarmupFrames = 6 },
		func(j *Job) { j.VideoCodec = "ffv1" },
	}
	for i, f := range differ {
		k := testJob()
		f(&k)
		if got := WorkflowID("sha256:aa:10", k); got == id {
			t.Errorf("change %d kept the id", i)
		}
	}
	if WorkflowID("sha256:ab:10", j) == id {
		t.Error("other content, same id")
	}
}

func TestContentDigest(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	os.WriteFile(a, []byte("frames"), 0o644)
	os.WriteFile(b, []byte("frames"), 0o644)
	os.WriteFile(c, []byte("framez"), 0o644)
	da, _ := ContentDigest(a)
	db, _ := ContentDigest(b)
	dc, _ := ContentDigest(c)
	if da != db || da == dc || !strings.HasSuffix(da, ":6") {
		t.Errorf("digests %s %s %s", da, db, dc)
	}
	if _, err := ContentDigest(filepath.Join(dir, "none")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestCheck(t *testing.T) {
	ok := testJob()
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(*Job)
		want   string
	}{
		{func(j *Job) { j.Input = "a.mp4" }, "absolute"},
		{func(j *Job) { j.Output = j.Input }, "is the input"},
		{func(j *Job) { j.SegmentFrames = 0 }, "segment length"},
		{func(j *Job) { j.WarmupFrames = -1 }, "warm-up"},
		{func(j *Job) { j.Intermediate = "png" }, "intermediate"},
		{func(j *Job) { j.Policy.MaxAttempts = 0 }, "attempts"},
		{func(j *Job) { j.Options = []string{"-pose-model", "standin", "-i", "x"} }, "-i: not allowed"},
		{func(j *Job) { j.Options = []string{"--poses=p.jsonl"} }, "--poses=p.jsonl: not allowed"},
		{func(j *Job) { j.Options = []string{"-no-render", "-t", "5"} }, "-t: not allowed"},
		{func(j *Job) { j.Options = []string{"standin"} }, "not a flag"},
	} {
		j := testJob()
		c.change(&j)
		if err := j.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %q", j, err, c.want)
		}
	}
	if err := CheckOptions([]string{"-pose-model", "standin", "-no-render", "-alpha=0.5", "--detector", "full"}); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

// slowMeshpipe writes a stand-in for meshpipe that passes y4m frames through, 60 ms each.
func slowMeshpipe(t *testing.T) string {
	slow := filepath.Join(t.TempDir(), "meshpipe")
	os.WriteFile(slow, []byte(`#!/usr/bin/python3
import sys, time
i, o = sys.stdin.buffer, sys.stdout.buffer
head = i.readline()
o.write(head)
w = int([f for f in head.split() if f.startswith(b"W")][0][1:])
h = int([f for f in head.split() if f.startswith(b"H")][0][1:])
size = w * h * 3 // 2
while True:
    line = i.readline()
    if not line:
        break
    o.write(line)
    o.write(i.read(size))
    o.flush()
    time.sleep(0.15)
`), 0o755)
	return slow
}

// TestProcessFileWithRealActivities runs ProcessFile in the SDK's test environment with the
// real activities (ffprobe, ffmpeg, and a stand-in for meshpipe that passes frames through
// slowly): the output holds the input's frames exactly, the segment files are gone, and the
// segments heartbeat the frame they reached as they go.
func TestProcessFileWithRealActivities(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.avi")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", testenv.Sample(t, "vtest.avi"), "-frames:v", "24",
		"-vf", "scale=192:144", "-c:v", "mpeg4", "-q:v", "4", in).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	s := quietSuite()
	e := s.NewTestWorkflowEnvironment()
	Register(e, &Activities{Meshpipe: slowMeshpipe(t)})
	var mu sync.Mutex
	var beats []Heartbeat
	e.SetOnActivityHeartbeatListener(func(info *activity.Info, details converter.EncodedValues) {
		var hb Heartbeat
		if info.ActivityType.Name == activitySegment && details.Get(&hb) == nil {
			mu.Lock()
			beats = append(beats, hb)
			mu.Unlock()
		}
	})
	job := testJob()
	job.Input, job.Output, job.VideoCodec = in, filepath.Join(dir, "out", "in.mkv"), "ffv1"
	job.SegmentFrames, job.WarmupFrames = 12, 4
	job.Policy.HeartbeatTimeout = 600 * time.Millisecond
	e.ExecuteWorkflow(WorkflowName, job)
	if err := e.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	e.GetWorkflowResult(&res)
	if res.Frames != 24 || res.Segments != 2 || res.Seeked != 1 {
		t.Errorf("result %+v", res)
	}
	decode := func(f string) []byte {
		b, err := exec.Command("ffmpeg", "-v", "error", "-i", f, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-").Output()
		if err != nil {
			t.Fatalf("decoding %s: %v", f, err)
		}
		return b
	}
	if a, b := decode(in), decode(job.Output); len(a) != 24*192*144*3/2 || !bytes.Equal(a, b) {
		t.Errorf("output frames differ from the input's (%d and %d bytes)", len(a), len(b))
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "out", ".meshfarm")); len(left) != 0 {
		t.Errorf("segment folders left: %v", left)
	}
	mu.Lock()
	defer mu.Unlock()
	moving := 0
	for _, hb := range beats {
		if start := hb.Frame + 1 - hb.Written; start != 0 && start != 12 || hb.Written > 12 {
			t.Errorf("heartbeat %+v: frame is not the segment's start + written - 1", hb)
		}
		if hb.Written > 0 && hb.Written < 12 {
			moving++
		}
	}
	if moving == 0 {
		t.Errorf("no heartbeat in the middle of a segment among %d: %+v", len(beats), beats)
	}
}

// TestProbeActivityBadInput: the Probe activity turns an undecodable input into a
// non-retryable BadInput failure that carries ffprobe's reason.
func TestProbeActivityBadInput(t *testing.T) {
	s := quietSuite()
	e := s.NewTestActivityEnvironment()
	e.RegisterActivity(&Activities{Meshpipe: "meshpipe"})
	garbage := filepath.Join(t.TempDir(), "garbage.mp4")
	os.WriteFile(garbage, []byte(strings.Repeat("no video here ", 1000)), 0o644)
	job := testJob()
	job.Input = garbage
	_, err := e.ExecuteActivity(activityProbe, job)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != ErrBadInput || !strings.Contains(app.Message(), "Invalid data") {
		t.Errorf("probe of garbage: %v", err)
	}
}

// TestSubmitDedupes: Submit starts the workflow under the job's id with Temporal's "allow
// duplicate failed only" reuse policy and an error when the id is taken, and reports a taken
// id (running or completed) as not started.
func TestSubmitDedupes(t *testing.T) {
	job := testJob()
	id := WorkflowID("sha256:aa:10", job)
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetRunID").Return("run-1")
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, WorkflowName, job).Return(run, nil).Once()
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, WorkflowName, job).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-1")).Once()
	for i, wantStarted := range []bool{true, false} {
		sub, err := Submit(context.Background(), c, "q", "sha256:aa:10", job)
		if err != nil || sub.ID != id || sub.RunID != "run-1" || sub.Started != wantStarted {
			t.Errorf("submit %d: %+v, %v; want id %s, started %v", i, sub, err, id, wantStarted)
		}
	}
	for _, call := range c.Calls {
		o := call.Arguments.Get(1).(client.StartWorkflowOptions)
		if o.ID != id || o.TaskQueue != "q" || o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY ||
			!o.WorkflowExecutionErrorWhenAlreadyStarted || o.Memo[memoInput] != job.Input {
			t.Errorf("start options %+v", o)
		}
	}
	bad := job
	bad.Options = []string{"-o", "x"}
	if _, err := Submit(context.Background(), c, "q", "sha256:aa:10", bad); err == nil || len(c.Calls) != 2 {
		t.Errorf("a bad job: %v after %d calls; want an error before any call", err, len(c.Calls))
	}
}
