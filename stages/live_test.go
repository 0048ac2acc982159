package stages

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// fakeCamera captures fw x fh frames stamped with their capture index (stamp), n of them,
// then returns io.EOF. With a period it delivers frame k at start + k*period, as a camera
// running at a fixed rate does; without, as fast as it is called. Call k == failAt fails.
// When atEnd is set, the call after the last frame closes it and waits for release first.
type fakeCamera struct {
	n, failAt int64
	period    time.Duration
	atEnd     chan struct{}
	release   chan struct{}

	next    int64
	start   time.Time
	last    time.Time
	maxGap  time.Duration // longest time between two frames delivered
	calls   atomic.Int64
	stopped atomic.Bool // set when a call returns io.EOF
}

func (c *fakeCamera) Capture(f *rawvideo.Frame) error {
	c.calls.Add(1)
	if c.next == c.n {
		if c.atEnd != nil {
			close(c.atEnd)
			<-c.release
		}
		c.stopped.Store(true)
		return io.EOF
	}
	if c.next == c.failAt {
		return errors.New("the camera was unplugged")
	}
	if c.period > 0 {
		if c.start.IsZero() {
			c.start = time.Now()
		}
		time.Sleep(time.Until(c.start.Add(time.Duration(c.next) * c.period)))
	}
	if cap(f.Pix) < fw*fh*3 {
		f.Pix = make([]byte, fw*fh*3)
	}
	f.Pix, f.Width, f.Height, f.Stride = f.Pix[:fw*fh*3], fw, fh, fw*3
	stamp(f, c.next)
	c.next++
	now := time.Now()
	if !c.last.IsZero() {
		c.maxGap = max(c.maxGap, now.Sub(c.last))
	}
	c.last = now
	return nil
}

// Without reads, the camera still runs to its end; the reader then gets the newest Queue
// frames, in capture order, numbered from 0, and every older one is counted as dropped.
func TestLiveDropsOldest(t *testing.T) {
	for _, queue := range []int{0, 1, 3} {
		cam := &fakeCamera{n: 10, failAt: -1, atEnd: make(chan struct{}), release: make(chan struct{})}
		l, err := NewLive(cam, LiveConfig{Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		l.Start()
		<-cam.atEnd // all 10 frames captured; none read
		close(cam.release)
		q := max(queue, 1)
		var f rawvideo.Frame
		for i := 0; i < q; i++ {
			if err := l.Read(&f); err != nil {
				t.Fatalf("queue %d: read %d: %v", queue, i, err)
			}
			if got, want := stampOf(&f), int64(10-q+i); got != want || f.Seq != int64(i) {
				t.Fatalf("queue %d: read %d is capture %d as frame %d; want capture %d as frame %d", queue, i, got, f.Seq, want, i)
			}
			if f.Captured.IsZero() {
				t.Fatalf("queue %d: read %d has no capture time", queue, i)
			}
		}
		if err := l.Read(&f); err != io.EOF {
			t.Fatalf("queue %d: after the newest frames: %v, want io.EOF", queue, err)
		}
		want := LiveStats{Captured: 10, Dropped: int64(10 - q), Read: int64(q)}
		if s := l.Stats(); s != want {
			t.Fatalf("queue %d: stats %+v, want %+v", queue, s, want)
		}
		l.Close()
	}
}

// slowRenderer takes at least d a frame, on purpose, and records its longest call.
type slowRenderer struct {
	d    time.Duration
	mu   sync.Mutex
	most time.Duration
}

func (r *slowRenderer) Render(f *rawvideo.Frame, _ []human.Person) error {
	t0 := time.Now()
	time.Sleep(r.d)
	f.Pix[8] = 0xAA
	r.mu.Lock()
	r.most = max(r.most, time.Since(t0))
	r.mu.Unlock()
	return nil
}

// latencySink records the capture index and capture-to-write latency of each frame.
type latencySink struct {
	stamps  []int64
	latency []time.Duration
}

func (s *latencySink) Write(f *rawvideo.Frame) error {
	s.stamps = append(s.stamps, stampOf(f))
	s.latency = append(s.latency, time.Since(f.Captured))
	return nil
}

// The render stage is slowed on purpose far below the camera's rate (20 ms a frame against a
// frame every 2 ms): the camera is never held up, the frames the graph cannot take are
// dropped oldest first and counted, and every frame written is fresh: its capture-to-output
// latency stays within the bound Live documents (Queue camera periods plus InFlight render
// times), measured against the camera's and renderer's actual times, however long the run.
// A source that blocked the camera instead would deliver all 250 frames, the last one about
// 250*20 ms - 0.5 s = 4.5 s after its capture.
func TestLiveSlowRenderDropsAndBoundsLatency(t *testing.T) {
	const n, inFlight, queue = 250, 3, 1
	cam := &fakeCamera{n: n, failAt: -1, period: 2 * time.Millisecond}
	l, err := NewLive(cam, LiveConfig{Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := &slowRenderer{d: 20 * time.Millisecond}
	det, pose, _ := newFakes(1)
	sink := &latencySink{}
	rec := NewRecorder()
	stats, err := Run(context.Background(), Config{Detector: det, Pose: pose, PoseWorkers: 1,
		Renderers: []Renderer{r}, InFlight: inFlight, Recorder: rec}, l, l.Sink(sink))
	if err != nil {
		t.Fatal(err)
	}
	ls := l.Stats()
	t.Logf("captured %d, dropped %d, written %d; latency p50 %v, p95 %v, max %v; render at most %v, camera gap at most %v",
		ls.Captured, ls.Dropped, ls.Written, ls.LatencyP50, ls.LatencyP95, ls.LatencyMax, r.most, cam.maxGap)

	// Counted: every frame captured was either written or dropped.
	if ls.Captured != n || ls.Dropped+ls.Read != n || ls.Read != stats.Frames || ls.Written != stats.Frames || int64(len(sink.stamps)) != stats.Frames {
		t.Fatalf("live stats %+v, graph wrote %d (sink saw %d): want %d captured = dropped + read, read = written", ls, stats.Frames, len(sink.stamps), n)
	}
	if ls.Dropped < n/2 {
		t.Fatalf("%d of %d frames dropped; a render stage 10 times slower than the camera must drop most", ls.Dropped, n)
	}
	// Oldest first: what is written keeps capture order, and the newest frame always gets through.
	for i := 1; i < len(sink.stamps); i++ {
		if sink.stamps[i] <= sink.stamps[i-1] {
			t.Fatalf("output %d is capture %d, after capture %d", i, sink.stamps[i], sink.stamps[i-1])
		}
	}
	if last := sink.stamps[len(sink.stamps)-1]; last != n-1 {
		t.Fatalf("the last frame written is capture %d; dropping the oldest must keep the newest, %d", last, n-1)
	}
	// Bounded: Queue camera periods of waiting, then at most InFlight frames ahead in the graph
	// (plus its own) through the slowest stage; 250 ms for the scheduler on a busy machine.
	bound := time.Duration(queue)*cam.maxGap + time.Duration(inFlight+1)*r.most + 250*time.Millisecond
	for i, d := range sink.latency {
		if d > bound {
			t.Fatalf("output %d (capture %d) came %v after its capture; the bound is %v", i, sink.stamps[i], d, bound)
		}
	}
	if ls.LatencyMax > bound || ls.LatencyP95 > ls.LatencyMax*11/10 || ls.LatencyP50 <= 0 {
		t.Fatalf("latency p50 %v, p95 %v, max %v: want 0 < p50, p95 <= max (to the histogram's 9%%) <= %v", ls.LatencyP50, ls.LatencyP95, ls.LatencyMax, bound)
	}
}

// Duration ends the stream by capture time; frames captured before it are all handed over.
func TestLiveDuration(t *testing.T) {
	cam := &fakeCamera{n: 1 << 30, failAt: -1, period: time.Millisecond}
	l, _ := NewLive(cam, LiveConfig{Queue: 1 << 10, Duration: 40 * time.Millisecond})
	var f rawvideo.Frame
	var first time.Time
	var got int64
	for {
		err := l.Read(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = f.Captured
		}
		if d := f.Captured.Sub(first); d >= 40*time.Millisecond {
			t.Fatalf("frame %d was captured %v after the first; Duration is 40ms", f.Seq, d)
		}
		if stampOf(&f) != got {
			t.Fatalf("frame %d is capture %d; with a queue that never fills nothing is dropped", got, stampOf(&f))
		}
		got++
	}
	l.Close()
	s := l.Stats()
	if got == 0 || s.Captured != got || s.Dropped != 0 {
		t.Fatalf("read %d frames, stats %+v: want every captured frame read", got, s)
	}
	if c := cam.calls.Load(); c != got+1 {
		t.Fatalf("the camera was called %d times for %d frames: capture must stop at Duration", c, got)
	}
}

// A failing camera ends the stream after the frames captured before, with an error naming the
// frame; through the graph it is a read error at that frame.
func TestLiveCameraFailure(t *testing.T) {
	cam := &fakeCamera{n: 100, failAt: 5}
	l, _ := NewLive(cam, LiveConfig{Queue: 100})
	det, pose, rs := newFakes(2)
	sink := &latencySink{}
	_, err := Run(context.Background(), Config{Detector: det, Pose: pose, Renderers: rs}, l, l.Sink(sink))
	l.Close()
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "read" || se.Frame != 5 || !strings.Contains(err.Error(), "camera: capturing frame 5: the camera was unplugged") {
		t.Fatalf("err = %v; want a read error at frame 5 naming the camera's failure", err)
	}
	if len(sink.stamps) != 5 {
		t.Fatalf("%d frames written before the failure, want 5", len(sink.stamps))
	}
}

// Stop wakes a Read waiting on a camera that delivers nothing, and drops what waits; Close
// returns once the camera's Capture in progress has returned.
func TestLiveStop(t *testing.T) {
	cam := &fakeCamera{n: 0, failAt: -1, atEnd: make(chan struct{}), release: make(chan struct{})}
	l, _ := NewLive(cam, LiveConfig{})
	errc := make(chan error)
	go func() {
		var f rawvideo.Frame
		errc <- l.Read(&f)
	}()
	<-cam.atEnd // the camera is blocked in Capture; Read waits
	l.Stop()
	if err := <-errc; err != io.EOF {
		t.Fatalf("Read after Stop: %v, want io.EOF", err)
	}
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while Capture was still running")
	case <-time.After(20 * time.Millisecond):
	}
	close(cam.release)
	<-closed
	if !cam.stopped.Load() {
		t.Fatal("Close returned before Capture did")
	}

	// Frames waiting at Stop are counted as dropped.
	cam = &fakeCamera{n: 3, failAt: -1, atEnd: make(chan struct{}), release: make(chan struct{})}
	l, _ = NewLive(cam, LiveConfig{Queue: 8})
	l.Start()
	<-cam.atEnd
	l.Stop()
	close(cam.release)
	l.Close()
	var f rawvideo.Frame
	if err := l.Read(&f); err != io.EOF {
		t.Fatalf("Read after Close: %v, want io.EOF", err)
	}
	if s := l.Stats(); s.Captured != 3 || s.Dropped != 3 || s.Read != 0 {
		t.Fatalf("stats %+v: want 3 captured, 3 dropped at Stop", s)
	}
}

func TestNewLiveErrors(t *testing.T) {
	for _, c := range []struct {
		cam  Camera
		cfg  LiveConfig
		want string
	}{
		{nil, LiveConfig{}, "no camera"},
		{&fakeCamera{}, LiveConfig{Queue: -1}, "queue -1"},
		{&fakeCamera{}, LiveConfig{Duration: -time.Second}, "duration -1s"},
		{&fakeCamera{}, LiveConfig{Frames: -2}, "-2 frames"},
	} {
		if _, err := NewLive(c.cam, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewLive(%+v): %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
}

// Once its buffers have grown to the frame size, a Live source hands frames over without
// allocating: capture and read swap buffers.
func TestLiveReadAllocatesNothing(t *testing.T) {
	cam := &fakeCamera{n: 1 << 40, failAt: -1, period: 100 * time.Microsecond}
	l, _ := NewLive(cam, LiveConfig{Queue: 2})
	defer l.Close()
	var f rawvideo.Frame
	for range 20 { // every buffer of the ring, and f, grow once
		if err := l.Read(&f); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(50, func() {
		if err := l.Read(&f); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Read allocates %v times a frame (capture included), want 0", n)
	}
}

// Frames ends the stream after that many captures, dropped ones included.
func TestLiveFrames(t *testing.T) {
	cam := &fakeCamera{n: 1 << 30, failAt: -1, atEnd: make(chan struct{}), release: make(chan struct{})}
	l, _ := NewLive(cam, LiveConfig{Queue: 2, Frames: 7})
	l.Start()
	<-l.done // capture stopped by itself at 7 frames
	var f rawvideo.Frame
	for want := int64(5); want < 7; want++ {
		if err := l.Read(&f); err != nil || stampOf(&f) != want {
			t.Fatalf("read: capture %d, %v; want capture %d", stampOf(&f), err, want)
		}
	}
	if err := l.Read(&f); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if s, calls := l.Stats(), cam.calls.Load(); s.Captured != 7 || s.Dropped != 5 || calls != 7 {
		t.Fatalf("stats %+v after %d camera calls: want 7 captured in 7 calls, 5 dropped", s, calls)
	}
}
