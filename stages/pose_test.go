package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/fakes"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// cropJob is a job whose crop count batchFrames reads from its frame's Seq field.
func cropJob(seq int64, crops int) *job {
	return &job{frame: &rawvideo.Frame{Seq: seq}, dets: make([]human.Detection, crops)}
}

// batchFrames keeps jobs in order, never puts more than the limit of crops in a batch (unless
// one job alone has more), sends jobs without crops on their own at once, and fills batches
// while nobody takes them.
func TestBatchFramesGrouping(t *testing.T) {
	for _, c := range []struct {
		crops []int
		limit int
		want  [][]int64 // frames of each batch
	}{
		{[]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 5, [][]int64{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}, {10, 11}}},
		{[]int{2, 2, 2, 0, 3, 5, 1}, 4, [][]int64{{0, 1}, {3}, {2}, {4}, {5}, {6}}},
		{[]int{1, 1, 1}, 1, [][]int64{{0}, {1}, {2}}},
	} {
		in := make(chan *job, len(c.crops))
		for i, n := range c.crops {
			in <- cropJob(int64(i), n)
		}
		close(in)
		out := make(chan []*job)
		go func() {
			defer close(out)
			batchFrames(context.Background(), in, out, nil, c.limit, time.Millisecond, func(j *job) int { return len(j.dets) })
		}()
		time.Sleep(20 * time.Millisecond) // the wait is over long before anyone takes a batch
		var got [][]int64
		for b := range out {
			var seqs []int64
			for _, j := range b {
				seqs = append(seqs, j.frame.Seq)
			}
			got = append(got, seqs)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("crops %v, limit %d: batches %v, want %v", c.crops, c.limit, got, c.want)
		}
	}
}

// peopleDetector gives frame k (k mod 4) people, so batches mix frames of 0 to 3 people.
func peopleDetector() *fakes.Detector {
	d := fakes.NewDetector()
	d.People = func(seq int64) int { return int(seq % 4) }
	return d
}

// With batching, frames still come out whole, in order, each with its own people; the pose
// estimator sees batches of consecutive frames with at most Batch people.
func TestRunBatchesFrames(t *testing.T) {
	for _, batch := range []int{1, 4, 16} {
		var out atomic.Int64
		src := &stampedSource{n: 400, out: &out}
		sink := &checkSink{t: t, out: &out} // frames without people are not rendered
		_, pose, rs := newFakes(uint64(batch))
		stats, err := Run(context.Background(), Config{Detector: peopleDetector(), Pose: pose, Batch: batch, Renderers: rs}, src, sink)
		if err != nil {
			t.Fatal(err)
		}
		if len(sink.frames) != 400 || stats.People != 100*(0+1+2+3) {
			t.Fatalf("batch %d: %d frames, %d people; want 400 and 600", batch, len(sink.frames), stats.People)
		}
		for i, s := range sink.frames {
			if s != int64(i) {
				t.Fatalf("batch %d: output %d is frame %d", batch, i, s)
			}
		}
		most, multi := 0, 0
		batches, crops := pose.Batches()
		for i, b := range batches {
			if crops[i] > batch && len(b) > 1 {
				t.Errorf("batch %d: a run of %d people from frames %v", batch, crops[i], b)
			}
			for k := 1; k < len(b); k++ {
				if b[k] <= b[k-1] {
					t.Errorf("batch %d: frames %v out of order", batch, b)
				}
			}
			most = max(most, crops[i])
			if len(b) > 1 {
				multi++
			}
		}
		t.Logf("batch %d: %d model runs for 600 people (largest %d), %d of several frames", batch, len(batches), most, multi)
		if batch > 1 && (multi == 0 || most < batch-1) {
			t.Errorf("batch %d: frames were not batched: largest run %d people, %d runs of several frames", batch, most, multi)
		}
	}
}

// A failing or panicking model run is retried frame by frame, so the error names the frame at
// fault and every frame before it is written.
func TestRunBatchFailureNamesFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*fakes.Pose)
		want string
	}{
		{"error", func(p *fakes.Pose) { p.Fail = 37 }, "pose: frame 37: pose broke"},
		{"panic", func(p *fakes.Pose) { p.Panic = 37 }, "pose: frame 37: panic: assignment to entry in nil map"},
	} {
		var out atomic.Int64
		src := &stampedSource{n: 100, out: &out}
		sink := &checkSink{t: t, out: &out}
		det, pose, rs := newFakes(9)
		c.set(pose)
		_, err := Run(context.Background(), Config{Detector: det, Pose: pose, Batch: 8, Renderers: rs}, src, sink)
		var se *StageError
		if !errors.As(err, &se) || se.Frame != 37 || !strings.HasPrefix(err.Error(), c.want) {
			t.Fatalf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if len(sink.frames) != 37 {
			t.Fatalf("%s: %d frames written before the failure, want 37", c.name, len(sink.frames))
		}
		whole := false
		batches, _ := pose.Batches()
		for _, b := range batches {
			whole = whole || len(b) > 1 && b[0] <= 37 && b[len(b)-1] >= 37
		}
		if !whole {
			t.Errorf("%s: frame 37 never ran in a batch of several frames (batches %v): the test shows nothing", c.name, batches)
		}
	}
}

// lockstepSource gives frame k+1 only after frame k was written, like a live stream that
// waits for its output: a batch that waited for a full load would wait for ever.
type lockstepSource struct {
	n, next int64
	written chan int64
}

func (s *lockstepSource) Read(f *rawvideo.Frame) error {
	if s.next == s.n {
		return io.EOF
	}
	if s.next > 0 {
		select {
		case <-s.written:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("frame %d was not written within 10 s of being read: batching held it back", s.next-1)
		}
	}
	if cap(f.Pix) < fw*fh*3 {
		f.Pix = make([]byte, fw*fh*3)
	}
	f.Pix, f.Width, f.Height, f.Stride, f.Seq = f.Pix[:fw*fh*3], fw, fh, fw*3, s.next
	stamp(f, s.next)
	s.next++
	return nil
}

type signalSink struct {
	written chan int64
	frames  int
}

func (s *signalSink) Write(f *rawvideo.Frame) error {
	s.frames++
	s.written <- f.Seq
	return nil
}

// A slow stream is not held back: each frame's batch goes out after the wait cap, alone.
func TestRunSlowStreamNotHeldBack(t *testing.T) {
	written := make(chan int64, 1)
	src := &lockstepSource{n: 20, written: written}
	sink := &signalSink{written: written}
	det, pose, rs := newFakes(3)
	if _, err := Run(context.Background(), Config{Detector: det, Pose: pose, Batch: 16, BatchWait: time.Millisecond, Renderers: rs}, src, sink); err != nil {
		t.Fatal(err)
	}
	if batches, _ := pose.Batches(); sink.frames != 20 || len(batches) != 20 {
		t.Fatalf("%d frames in %d model runs, want 20 frames one by one", sink.frames, len(batches))
	}
}
