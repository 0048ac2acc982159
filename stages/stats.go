package stages

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Stage names one stage of the graph, for timing.
type Stage int

// The timed stages, in graph order.
const (
	StageRead Stage = iota
	StageDetect
	StagePose
	StageRender
	StageWrite
	numStages
)

var stageNames = [numStages]string{"read", "detect", "pose", "render", "write"}

func (s Stage) String() string { return stageNames[s] }

// Recorder times the stages of one Run: how many frames each stage worked on, how long its
// workers were busy, and the distribution of its time per frame; and for each frame written,
// the time from the start of its read to the end of its write. Give it to Run through
// Config.Recorder; read it while Run runs (Progress) and after (Summary). It records with
// atomic counters only: no locks, no allocation and no logging per frame. A nil *Recorder
// records nothing.
type Recorder struct {
	started atomic.Pointer[time.Time]
	ended   atomic.Int64 // nanoseconds from started to the end of Run; 0 while running
	workers [numStages]atomic.Int64
	stages  [numStages]timing
	total   timing // read start to write end of each frame written
	frames  atomic.Int64
	people  atomic.Int64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// timing is a count, a busy total and a histogram of durations.
type timing struct {
	n    atomic.Int64
	busy atomic.Int64 // nanoseconds
	hist [histBuckets]atomic.Int64
}

// The histogram has 8 buckets per doubling from 1024 ns (about 9% wide), bucket 0 holding
// everything under 1024 ns and the last everything over about 2^41 ns (37 minutes).
const (
	histPerOctave = 8
	histBaseLog2  = 10 // 1024 ns
	histOctaves   = 31
	histBuckets   = 1 + histOctaves*histPerOctave
)

// bucket returns the histogram bucket of d.
func bucket(d time.Duration) int {
	ns := uint64(max(d, 0))
	l := bits.Len64(ns) - 1 // ns is in [2^l, 2^(l+1))
	if l < histBaseLog2 {
		return 0
	}
	frac := int(ns >> (l - 3) & (histPerOctave - 1)) // the 3 bits after the leading one: eighths of the octave
	return min(1+(l-histBaseLog2)*histPerOctave+frac, histBuckets-1)
}

// bucketValue returns a duration inside bucket i: the middle of its range.
func bucketValue(i int) time.Duration {
	if i == 0 {
		return 1 << (histBaseLog2 - 1)
	}
	l, frac := (i-1)/histPerOctave+histBaseLog2, (i-1)%histPerOctave
	octave := float64(uint64(1) << l)
	return time.Duration(octave * (1 + (float64(frac)+0.5)/histPerOctave))
}

func (t *timing) add(d time.Duration) {
	t.n.Add(1)
	t.busy.Add(int64(d))
	t.hist[bucket(d)].Add(1)
}

// quantile returns the duration below which a share q of the recorded durations lie, to the
// histogram's resolution; 0 when nothing was recorded.
func (t *timing) quantile(q float64) time.Duration {
	n := t.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n-1)) + 1
	var seen int64
	for i := range t.hist {
		if seen += t.hist[i].Load(); seen >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(histBuckets - 1)
}

// begin marks the start of Run and the number of workers of each stage.
func (r *Recorder) begin(poseWorkers, renderWorkers int) {
	if r == nil {
		return
	}
	now := time.Now()
	r.started.Store(&now)
	r.ended.Store(0)
	for s, n := range [numStages]int{1, 1, poseWorkers, renderWorkers, 1} {
		r.workers[s].Store(int64(n))
	}
}

// end marks the end of Run.
func (r *Recorder) end() {
	if r == nil {
		return
	}
	if t := r.started.Load(); t != nil {
		r.ended.Store(int64(max(time.Since(*t), 1)))
	}
}

// record adds the time from start to now to stage s.
func (r *Recorder) record(s Stage, start time.Time) {
	if r == nil {
		return
	}
	r.stages[s].add(time.Since(start))
}

// recordBatch adds the time from start to now to stage s as work on n frames done together:
// each frame is counted with an equal share of the time, so the busy share stays true and the
// percentiles are per-frame costs.
func (r *Recorder) recordBatch(s Stage, start time.Time, n int) {
	if r == nil || n <= 0 {
		return
	}
	d := time.Since(start) / time.Duration(n)
	for i := 0; i < n; i++ {
		r.stages[s].add(d)
	}
}

// wrote counts a frame written with its people, and its time since its read started.
func (r *Recorder) wrote(readStart time.Time, people int) {
	if r == nil {
		return
	}
	r.total.add(time.Since(readStart))
	r.frames.Add(1)
	r.people.Add(int64(people))
}

// now returns the time, or the zero time for a nil Recorder (which never reads it).
func (r *Recorder) now() time.Time {
	if r == nil {
		return time.Time{}
	}
	return time.Now()
}

// Progress is a Recorder's running count.
type Progress struct {
	// Frames and People are the frames written so far and the people drawn in them.
	Frames, People int64
	// Elapsed is the time since Run started (until it ended, once it has).
	Elapsed time.Duration
}

// Progress returns the frames and people written so far and the time since Run started.
// It may be called at any time from any goroutine.
func (r *Recorder) Progress() Progress {
	p := Progress{Frames: r.frames.Load(), People: r.people.Load()}
	if e := r.ended.Load(); e > 0 {
		p.Elapsed = time.Duration(e)
	} else if t := r.started.Load(); t != nil {
		p.Elapsed = time.Since(*t)
	}
	return p
}

// StageSummary is the timing of one stage over a Run.
type StageSummary struct {
	// Stage is "read", "detect", "pose", "render" or "write", or "total" for the time from the
	// start of each frame's read to the end of its write (its latency through meshpipe).
	Stage string
	// Workers is the number of goroutines the stage ran on (0 for "total").
	Workers int
	// Frames is the number of frames the stage worked on: pose and render skip frames
	// without people; "total" counts frames written.
	Frames int64
	// Busy is the share of the run's time the stage's workers spent working, 0..1: busy time
	// over elapsed time times Workers (0 for "total"). Read and write count the time their
	// Source and Sink block, waiting on the pipes included.
	Busy float64
	// P50 and P95 are the median and 95th percentile of the stage's time per frame, to about
	// 9% (the histogram's bucket width).
	P50, P95 time.Duration
}

// Summary returns one StageSummary per stage in graph order, then "total". Called while Run
// runs, it covers the run so far.
func (r *Recorder) Summary() []StageSummary {
	elapsed := r.Progress().Elapsed
	out := make([]StageSummary, 0, numStages+1)
	row := func(name string, workers int, t *timing) StageSummary {
		s := StageSummary{Stage: name, Workers: workers, Frames: t.n.Load(), P50: t.quantile(0.5), P95: t.quantile(0.95)}
		if workers > 0 && elapsed > 0 {
			s.Busy = float64(t.busy.Load()) / (float64(elapsed) * float64(workers))
		}
		return s
	}
	for s := range numStages {
		out = append(out, row(stageNames[s], int(r.workers[s].Load()), &r.stages[s]))
	}
	return append(out, row("total", 0, &r.total))
}
