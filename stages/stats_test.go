package stages

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for i := 0; i < histBuckets; i++ {
		v := bucketValue(i)
		if b := bucket(v); b != i {
			t.Fatalf("bucket(bucketValue(%d) = %v) = %d", i, v, b)
		}
		if i <= prev {
			t.Fatal("not increasing")
		}
		prev = i
	}
	for _, c := range []struct {
		d time.Duration
		b int
	}{{0, 0}, {1023, 0}, {1024, 1}, {2048, 9}, {3072, 13}, {3071, 12}, {time.Hour, histBuckets - 1}} {
		if got := bucket(c.d); got != c.b {
			t.Errorf("bucket(%v) = %d, want %d", c.d, got, c.b)
		}
	}
	// Every value is within 9% of its bucket's middle.
	for d := 1024 * time.Nanosecond; d < time.Minute; d = d*11/10 + 1 {
		v := bucketValue(bucket(d))
		if r := float64(v) / float64(d); r < 0.93 || r > 1.07 {
			t.Fatalf("%v falls in a bucket around %v", d, v)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var tm timing
	for i := 1; i <= 100; i++ {
		tm.add(time.Duration(i) * time.Millisecond)
	}
	near := func(got, want time.Duration) bool { r := float64(got) / float64(want); return r > 0.93 && r < 1.07 }
	if p := tm.quantile(0.5); !near(p, 50*time.Millisecond) {
		t.Errorf("p50 = %v", p)
	}
	if p := tm.quantile(0.95); !near(p, 95*time.Millisecond) {
		t.Errorf("p95 = %v", p)
	}
	var empty timing
	if empty.quantile(0.5) != 0 {
		t.Error("empty p50")
	}
}

// Recording costs no allocation.
func TestRecorderAllocs(t *testing.T) {
	r := NewRecorder()
	r.begin(2, 4)
	n := testing.AllocsPerRun(1000, func() {
		t0 := r.now()
		r.record(StagePose, t0)
		r.wrote(t0, 2)
	})
	if n != 0 {
		t.Fatalf("%v allocations a frame", n)
	}
}

type slowPose struct{ d time.Duration }

func (p slowPose) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	time.Sleep(p.d * time.Duration(len(frames)))
	for k := range frames {
		people[k] = human.Reuse(people[k], len(dets[k]))
		for i := range dets[k] {
			people[k][i].Detection = dets[k][i]
		}
	}
	return nil
}

func TestRunRecordsStages(t *testing.T) {
	var out atomic.Int64
	src := &stampedSource{n: 60, out: &out}
	sink := &checkSink{t: t, out: &out}
	det, _, rs := newFakes(3)
	rec := NewRecorder()
	if p := rec.Progress(); p.Frames != 0 || p.Elapsed != 0 {
		t.Fatalf("before Run: %+v", p)
	}
	const poseTime = 2 * time.Millisecond
	_, err := Run(context.Background(), Config{Detector: det, Pose: slowPose{poseTime}, PoseWorkers: 2, Renderers: rs, Recorder: rec}, src, sink)
	if err != nil {
		t.Fatal(err)
	}
	p := rec.Progress()
	if p.Frames != 60 || p.People != 60 || p.Elapsed <= 0 {
		t.Fatalf("progress %+v, want 60 frames, 60 people", p)
	}
	if p2 := rec.Progress(); p2.Elapsed != p.Elapsed {
		t.Errorf("elapsed still moves after Run: %v then %v", p.Elapsed, p2.Elapsed)
	}
	sum := rec.Summary()
	wantWorkers := map[string]int{"read": 1, "detect": 1, "pose": 2, "render": 4, "write": 1, "total": 0}
	if len(sum) != 6 {
		t.Fatalf("%d rows", len(sum))
	}
	for _, s := range sum {
		t.Logf("%-6s workers %d frames %d busy %4.1f%% p50 %v p95 %v", s.Stage, s.Workers, s.Frames, 100*s.Busy, s.P50, s.P95)
		if s.Frames != 60 || s.Workers != wantWorkers[s.Stage] || s.Busy < 0 || s.Busy > 1 || s.P50 > s.P95 {
			t.Errorf("%s: %+v", s.Stage, s)
		}
	}
	// Sleeping lasts at least its time: pose's median cannot be below it (less the 9% of a
	// histogram bucket), and nor can a frame's time through the graph.
	if sum[StagePose].P50 < poseTime*9/10 || sum[5].P50 < poseTime*9/10 {
		t.Errorf("pose p50 %v, total p50 %v; each pose sleeps %v", sum[StagePose].P50, sum[5].P50, poseTime)
	}
}
