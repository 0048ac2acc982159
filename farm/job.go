// Package farm runs meshpipe over many files on many machines with Temporal
// (go.temporal.io/sdk): one durable workflow per file (ProcessFile) probes the file, runs its
// frame-exact segments as activities on whichever workers poll the task queue, with retries,
// heartbeats and a warm-up before each segment, and joins the segments into the output. Bad
// input fails its file at once without retries; the other files go on. The client side starts
// one workflow per file, its id a hash of the file's content and the job's options
// (WorkflowID), so that a file submitted twice is processed once, and lists the files with
// their state and progress (List).
//
// Workers and clients must see the inputs, the outputs and the segment files at the same
// paths: shared storage on a cluster, the local disk on one machine. The processing itself is
// package segment's, on the machine that runs the activity.
package farm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshpipe/meshpipe/farm/segment"
)

// Names shared by workers and clients.
const (
	// DefaultTaskQueue is the task queue that workers poll and clients submit to by default.
	DefaultTaskQueue = "meshpipe"
	// WorkflowName is the workflow type of ProcessFile.
	WorkflowName = "ProcessFile"
	// ProgressQuery is the query a running ProcessFile answers with its Progress.
	ProgressQuery = "progress"
	// IDPrefix starts every workflow id WorkflowID makes.
	IDPrefix = "meshfarm-"
)

// Error types of the non-retryable failures (temporal.ApplicationError.Type): the file fails
// at once, with the reason, and no worker tries it again.
const (
	// ErrBadInput: the input cannot be read or decoded (segment.InputError).
	ErrBadInput = "BadInput"
	// ErrBadOptions: meshpipe refuses the job's options or a model file they name
	// (segment.OptionsError).
	ErrBadOptions = "BadOptions"
	// ErrBadJob: the job itself is malformed (Job.Check).
	ErrBadJob = "BadJob"
)

// Defaults of a Job's segmenting.
const (
	// DefaultSegmentFrames is the default segment length: 1800 frames, a minute at 30 fps, so
	// that meshpipe's start-up (about a second) and the warm-up cost little.
	DefaultSegmentFrames = 1800
	// DefaultWarmupFrames is the default number of frames run before each segment but the
	// first and discarded: enough for the tracker (a track ends after 5 missed frames) and for
	// background subtraction to find moving people again; its background model keeps learning
	// for longer (models.DefaultBackgroundWarmup, 60 frames), so frames soon after a segment's
	// start may differ from a single run's (README, "Running beyond one machine").
	DefaultWarmupFrames = 30
)

// Job is one file to process: what to read and write and how.
type Job struct {
	// Input is the video file and Output the file to write, absolute paths that every worker
	// reaches (shared storage). Output's extension picks ffmpeg's container (and, without
	// VideoCodec, its codec), as for `meshpipe -o OUT`; an existing Output is replaced.
	Input, Output string
	// Options are meshpipe's flags for people, models and performance (see CheckOptions).
	Options []string
	// SegmentFrames is the segment length in frames (segment.Plan); WarmupFrames the frames
	// run and discarded before each segment but the first.
	SegmentFrames, WarmupFrames int
	// Intermediate is the segment files' format: segment.Raw or segment.FFVHuff.
	Intermediate string
	// VideoCodec is ffmpeg's -c:v for Output; "" for the container's default.
	VideoCodec string
	// WorkDir is the folder of the segment files, removed once the output is whole; "" for
	// ".meshfarm/WORKFLOW-ID" beside Output.
	WorkDir string
	// Policy sets retries and timeouts.
	Policy Policy
}

// Policy is how activities are retried and when a worker counts as gone.
type Policy struct {
	// MaxAttempts is the most attempts at each activity (first try included).
	MaxAttempts int32
	// InitialInterval is the wait before the first retry; each later wait doubles, up to
	// MaxInterval.
	InitialInterval, MaxInterval time.Duration
	// HeartbeatTimeout is how long a segment or join may go without a heartbeat before the
	// server takes its worker for dead and schedules it again (on any worker).
	HeartbeatTimeout time.Duration
	// StallTimeout is how long a segment may write no frame (model loading included) before
	// its worker gives it up, and it is retried.
	StallTimeout time.Duration
}

// DefaultPolicy is 5 attempts, retries after 2 s, 4 s, 8 s... up to a minute, a 30 s
// heartbeat timeout and a 10 minute stall timeout.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 5, InitialInterval: 2 * time.Second, MaxInterval: time.Minute,
		HeartbeatTimeout: 30 * time.Second, StallTimeout: 10 * time.Minute}
}

// NewJob returns a Job for input and output with the default segmenting, intermediate and
// policy.
func NewJob(input, output string, options []string) Job {
	return Job{Input: input, Output: output, Options: options, SegmentFrames: DefaultSegmentFrames,
		WarmupFrames: DefaultWarmupFrames, Intermediate: segment.Raw, Policy: DefaultPolicy()}
}

// Check returns an error naming the field at fault when the job cannot run: relative or equal
// paths, a segment length below 1, negative warm-up, an unknown intermediate, options
// CheckOptions refuses, or a policy with non-positive attempts or timeouts.
func (j Job) Check() error {
	switch {
	case !filepath.IsAbs(j.Input):
		return fmt.Errorf("input %q: want an absolute path (every worker must reach it)", j.Input)
	case !filepath.IsAbs(j.Output):
		return fmt.Errorf("output %q: want an absolute path (every worker must reach it)", j.Output)
	case filepath.Clean(j.Input) == filepath.Clean(j.Output):
		return fmt.Errorf("output %s is the input", j.Output)
	case j.SegmentFrames < 1:
		return fmt.Errorf("segment length %d frames: want at least 1", j.SegmentFrames)
	case j.WarmupFrames < 0:
		return fmt.Errorf("warm-up %d frames: want 0 or more", j.WarmupFrames)
	case j.WorkDir != "" && !filepath.IsAbs(j.WorkDir):
		return fmt.Errorf("work folder %q: want an absolute path", j.WorkDir)
	case j.Policy.MaxAttempts < 1:
		return fmt.Errorf("policy: %d attempts, want at least 1", j.Policy.MaxAttempts)
	case j.Policy.InitialInterval <= 0 || j.Policy.MaxInterval <= 0 || j.Policy.HeartbeatTimeout <= 0 || j.Policy.StallTimeout <= 0:
		return fmt.Errorf("policy: intervals and timeouts must be positive: %+v", j.Policy)
	}
	if err := segment.CheckIntermediate(j.Intermediate); err != nil {
		return err
	}
	return CheckOptions(j.Options)
}

// reservedFlags are meshpipe's flags that the farm sets itself, or that make no sense for a
// segment of a file (a window, a pose file per segment, a second output).
var reservedFlags = map[string]string{
	"i": "the farm feeds meshpipe", "o": "the farm names the output", "y": "outputs are always replaced",
	"t": "segments cover the whole file", "f": "the farm picks the pipe's format", "s": "the farm reads the size from the file",
	"video_size": "the farm reads the size from the file", "pix_fmt": "the farm picks the pipe's pix_fmt",
	"r": "the frame rate is the file's", "preview": "workers have no window", "poses": "not supported per segment yet",
	"stats_file": "not supported per segment yet", "stats": "workers log no status line", "nostats": "set by the farm",
	"version": "not a processing flag", "list_devices": "not a processing flag", "h": "not a processing flag", "help": "not a processing flag",
}

// CheckOptions returns an error naming the first of opts that the farm cannot pass to
// meshpipe: an argument that is not a flag or a flag's value, or a flag about input, output,
// windows or side files, which the farm sets itself or does not support (see reservedFlags).
// Values of flags are not checked here: meshpipe itself refuses bad ones, and that fails the
// file (ErrBadOptions).
func CheckOptions(opts []string) error {
	for i := 0; i < len(opts); i++ {
		a := opts[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return fmt.Errorf("meshpipe option %q: not a flag (after -- come meshpipe's flags only)", a)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if why, ok := reservedFlags[name]; ok {
			return fmt.Errorf("meshpipe option %s: not allowed here: %s", a, why)
		}
		if !hasValue && i+1 < len(opts) && !boolFlags[name] {
			i++ // its value
		}
	}
	return nil
}

// boolFlags are meshpipe's flags that take no value.
var boolFlags = map[string]bool{"no-render": true, "preview": true, "stats": true, "nostats": true, "y": true, "version": true, "list_devices": true}

// WorkflowID returns the id of the workflow that processes job: IDPrefix and the first 128
// bits, in hex, of SHA-256 over the input's content digest (ContentDigest) and every field of
// the job that changes the output (Output, Options, segmenting, VideoCodec; not the input's
// path, Intermediate, WorkDir or Policy). The same file with the same options gets the same
// id, so Temporal starts it once.
func WorkflowID(contentDigest string, job Job) string {
	key, _ := json.Marshal(struct {
		Content, Output      string
		Options              []string
		SegmentFrames, Warm  int
		VideoCodec, Revision string
	}{contentDigest, filepath.Clean(job.Output), job.Options, job.SegmentFrames, job.WarmupFrames, job.VideoCodec, "1"})
	sum := sha256.Sum256(key)
	return IDPrefix + hex.EncodeToString(sum[:16])
}

// ContentDigest returns "sha256:" and the hex SHA-256 of the file's bytes and its size: what
// the input is, wherever it lies. It reads the whole file.
func ContentDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return fmt.Sprintf("sha256:%s:%d", hex.EncodeToString(h.Sum(nil)), n), nil
}
