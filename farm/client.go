package farm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Memo keys of a ProcessFile workflow: its input and output paths, for List.
const (
	memoInput  = "input"
	memoOutput = "output"
)

// Submission is what Submit did with one file.
type Submission struct {
	// ID is the workflow id (WorkflowID); RunID the run started, or the one found.
	ID, RunID string
	// Started is false when a workflow with this id was running or had completed: the file
	// is (being) processed already, and nothing new started.
	Started bool
}

// Submit starts ProcessFile for job on taskQueue under the id WorkflowID(contentDigest, job),
// unless a workflow with that id is running or has completed (Temporal's id reuse policy
// "allow duplicate failed only": a file that failed may be submitted again). The job is
// checked first (Job.Check).
func Submit(ctx context.Context, c client.Client, taskQueue, contentDigest string, job Job) (Submission, error) {
	if err := job.Check(); err != nil {
		return Submission{}, fmt.Errorf("%s: %w", job.Input, err)
	}
	id := WorkflowID(contentDigest, job)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{memoInput: job.Input, memoOutput: job.Output},
	}, WorkflowName, job)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return Submission{ID: id, RunID: started.RunId}, nil
	}
	if err != nil {
		return Submission{}, fmt.Errorf("starting the workflow for %s: %w", job.Input, err)
	}
	return Submission{ID: id, RunID: run.GetRunID(), Started: true}, nil
}

// FileStatus is one file as List reports it.
type FileStatus struct {
	// ID and RunID name the workflow run.
	ID, RunID string
	// Input and Output are the job's paths.
	Input, Output string
	// State is Temporal's status in lower case: running, completed, failed, canceled,
	// terminated, timed out, continued as new.
	State string
	// Phase is the running file's Progress.Phase ("" once closed).
	Phase string
	// Frames is the frame count (probed, or written once completed); FramesDone the frames
	// written so far (segments done, plus the running segments' heartbeats).
	Frames, FramesDone int
	// Segments and SegmentsDone count the planned and the written segments.
	Segments, SegmentsDone int
	// Retrying describes activities on a second or later attempt ("segment 2 attempt 3: ...
	// last failure"), "" when none.
	Retrying string
	// Error is the failure's reason for a failed, timed-out or terminated file.
	Error string
	// Start and Close are when the run started and ended (Close zero while running).
	Start, Close time.Time
}

// List returns the ProcessFile workflows that match query (a Temporal visibility query,
// ANDed with the workflow type; "" for all), newest first, with each running file's progress
// (ProgressQuery and its pending activities' heartbeats), each completed file's frame count
// and each failed file's reason.
func List(ctx context.Context, c client.Client, query string) ([]FileStatus, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", WorkflowName)
	if query != "" {
		q += " AND (" + query + ")"
	}
	var out []FileStatus
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing workflows: %w", err)
		}
		for _, e := range resp.Executions {
			fs := FileStatus{ID: e.Execution.WorkflowId, RunID: e.Execution.RunId, State: stateName(e.Status),
				Start: e.StartTime.AsTime()}
			if e.CloseTime != nil {
				fs.Close = e.CloseTime.AsTime()
			}
			if e.Memo != nil {
				dc := converter.GetDefaultDataConverter()
				if p, ok := e.Memo.Fields[memoInput]; ok {
					dc.FromPayload(p, &fs.Input)
				}
				if p, ok := e.Memo.Fields[memoOutput]; ok {
					dc.FromPayload(p, &fs.Output)
				}
			}
			fill(ctx, c, &fs, e.Status)
			out = append(out, fs)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, nil
}

// fill adds progress, result or failure to fs. What cannot be read (a run closed meanwhile)
// is left out.
func fill(ctx context.Context, c client.Client, fs *FileStatus, status enumspb.WorkflowExecutionStatus) {
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if v, err := c.QueryWorkflow(ctx, fs.ID, fs.RunID, ProgressQuery); err == nil {
			var p Progress
			if v.Get(&p) == nil {
				fs.Phase, fs.Frames, fs.FramesDone, fs.Segments, fs.SegmentsDone = p.Phase, p.Frames, p.FramesDone, p.Segments, p.SegmentsDone
			}
		}
		d, err := c.DescribeWorkflowExecution(ctx, fs.ID, fs.RunID)
		if err != nil {
			return
		}
		for _, pa := range d.PendingActivities {
			var hb Heartbeat
			if pa.HeartbeatDetails != nil && len(pa.HeartbeatDetails.Payloads) > 0 &&
				converter.GetDefaultDataConverter().FromPayload(pa.HeartbeatDetails.Payloads[0], &hb) == nil &&
				pa.ActivityType.GetName() == activitySegment {
				fs.FramesDone += hb.Written
			}
			if pa.Attempt > 1 {
				msg := ""
				if pa.LastFailure != nil {
					msg = ": " + pa.LastFailure.Message
				}
				fs.Retrying += fmt.Sprintf("%s attempt %d%s; ", pa.ActivityType.GetName(), pa.Attempt, msg)
			}
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var res Result
		if c.GetWorkflow(ctx, fs.ID, fs.RunID).Get(ctx, &res) == nil {
			fs.Frames, fs.FramesDone, fs.Segments, fs.SegmentsDone = res.Frames, res.Frames, res.Segments, res.Segments
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		if err := c.GetWorkflow(ctx, fs.ID, fs.RunID).Get(ctx, nil); err != nil {
			fs.Error = Reason(err)
		}
	}
}

// Reason is the root cause of a file's failure as a workflow run reports it: the message of
// the innermost application error (which for ProcessFile names the step and what the tool
// said), else err's own message.
func Reason(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var term *temporal.TerminatedError
	if errors.As(err, &term) {
		return "terminated"
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "timed out (" + to.TimeoutType().String() + ")"
	}
	return err.Error()
}

// Wait waits for the workflow run id (its latest run when runID is "") to close and returns
// its result, or its failure as an error whose message is Reason's.
func Wait(ctx context.Context, c client.Client, id, runID string) (Result, error) {
	var res Result
	if err := c.GetWorkflow(ctx, id, runID).Get(ctx, &res); err != nil {
		return res, errors.New(Reason(err))
	}
	return res, nil
}

func stateName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued as new"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	}
	return s.String()
}
