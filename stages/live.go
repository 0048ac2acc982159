package stages

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Camera delivers frames to a Live source, one call per frame, from one goroutine.
type Camera interface {
	// Capture fills f with the camera's next frame as rgb24 (reusing f.Pix; f's other
	// buffers are f's own), blocking until the camera delivers one. It returns io.EOF when the
	// camera has no more frames (closed, or its stream ended) and another error when capture
	// failed. Live sets f.Seq and f.Captured itself.
	Capture(f *rawvideo.Frame) error
}

// LiveConfig sizes a Live source.
type LiveConfig struct {
	// Queue is how many captured frames may wait for the graph; when a frame is captured with
	// Queue frames already waiting, the oldest of them is dropped. 0 means 1: the graph always
	// takes the newest frame, at most one camera period old.
	Queue int
	// Duration, when positive, ends the stream: the first frame captured Duration or more
	// after the first frame is not handed over, and capture stops (ffmpeg's -t on a live
	// input: Duration of capture time).
	Duration time.Duration
	// Frames, when positive, ends the stream after that many frames captured, those dropped
	// included (ffmpeg's -t on a source whose frames are timed by their number, k/rate, as a
	// test pattern's are).
	Frames int64
}

// Live is a Source over a camera that never blocks the camera: a goroutine of its own
// captures frame after frame into a ring of Queue+1 buffers, and when the graph has not taken
// the frames waiting by the time a new one is captured, the oldest waiting frame is dropped
// and counted. So the camera runs at its own rate, and a frame waits at most Queue camera
// periods before the graph takes it: with at most N frames in the graph (Config.InFlight),
// capture-to-output latency stays under about Queue camera periods plus N times the slowest
// stage's time per frame, however long the stream.
//
// Read hands frames over by swapping buffers with the caller's frame (no copy); once every
// buffer has grown to the frame size, capturing and reading allocate nothing. Frames are
// numbered (Seq) in the order Read hands them over, from 0, without gaps; Captured is set to
// the time Capture returned. Sink wraps the graph's Sink to time each frame from capture to
// output; Stats reports the counts and that latency.
//
// Read is called from one goroutine (the graph's reader); Start, Stop, Close and Stats from any.
type Live struct {
	cam      Camera
	queue    int
	duration time.Duration
	frames   int64

	mu      sync.Mutex
	ready   sync.Cond         // a frame waits, capture ended, or Stop was called
	waiting []*rawvideo.Frame // ring of captured frames, oldest at head
	head, n int
	spare   []*rawvideo.Frame // buffers holding no frame
	end     error             // why capture ended (io.EOF or its failure); nil while capturing
	stopped bool
	started bool
	done    chan struct{} // closed when the capture goroutine returns
	first   time.Time     // capture time of the first frame
	next    int64         // Seq of the next frame handed over

	captured, dropped, read int64 // under mu

	written    atomic.Int64
	latency    timing       // capture to the end of the write, frames written through Sink
	maxLatency atomic.Int64 // nanoseconds
}

// NewLive returns a Live source over cam; capture starts with Start or the first Read. It
// returns an error for a negative Queue or Duration.
func NewLive(cam Camera, cfg LiveConfig) (*Live, error) {
	switch {
	case cam == nil:
		return nil, errors.New("live source: no camera")
	case cfg.Queue < 0:
		return nil, fmt.Errorf("live source: queue %d: must not be negative", cfg.Queue)
	case cfg.Duration < 0:
		return nil, fmt.Errorf("live source: duration %v: must not be negative", cfg.Duration)
	case cfg.Frames < 0:
		return nil, fmt.Errorf("live source: %d frames: must not be negative", cfg.Frames)
	}
	q := cfg.Queue
	if q == 0 {
		q = 1
	}
	l := &Live{cam: cam, queue: q, duration: cfg.Duration, frames: cfg.Frames, waiting: make([]*rawvideo.Frame, q+1), done: make(chan struct{})}
	l.ready.L = &l.mu
	for range q + 1 {
		l.spare = append(l.spare, &rawvideo.Frame{})
	}
	return l, nil
}

// Start starts capturing, if it has not started yet.
func (l *Live) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startLocked()
}

func (l *Live) startLocked() {
	if l.started || l.stopped {
		return
	}
	l.started = true
	buf := l.popSpare()
	go l.capture(buf)
}

// capture runs the camera into buf, then into the buffer the ring gives back, until the
// camera ends, fails, Duration or Frames is reached or Stop is called.
func (l *Live) capture(buf *rawvideo.Frame) {
	defer close(l.done)
	for {
		err := guard(func() error { return l.cam.Capture(buf) })
		now := time.Now()
		l.mu.Lock()
		if l.first.IsZero() && err == nil {
			l.first = now
		}
		switch {
		case l.stopped:
		case err != nil && !errors.Is(err, io.EOF):
			l.end = fmt.Errorf("camera: capturing frame %d: %w", l.captured, err)
		case err != nil:
			l.end = io.EOF
		case l.duration > 0 && now.Sub(l.first) >= l.duration:
			l.end = io.EOF
		default:
			l.captured++
			buf.Captured = now
			l.waiting[(l.head+l.n)%len(l.waiting)] = buf
			l.n++
			if l.n > l.queue {
				buf = l.popWaiting()
				l.dropped++
			} else {
				buf = l.popSpare()
			}
			if l.frames == 0 || l.captured < l.frames {
				l.ready.Broadcast()
				l.mu.Unlock()
				continue
			}
			l.end = io.EOF // that was the last of Frames; buf is a spare buffer now
		}
		l.spare = append(l.spare, buf)
		l.ready.Broadcast()
		l.mu.Unlock()
		return
	}
}

func (l *Live) popSpare() *rawvideo.Frame {
	b := l.spare[len(l.spare)-1]
	l.spare = l.spare[:len(l.spare)-1]
	return b
}

func (l *Live) popWaiting() *rawvideo.Frame {
	b := l.waiting[l.head]
	l.waiting[l.head] = nil
	l.head = (l.head + 1) % len(l.waiting)
	l.n--
	return b
}

// Read hands over the oldest waiting frame, waiting for one to be captured: f takes the
// frame's buffers and the Live source takes f's. It starts capturing on the first call. It
// returns io.EOF once Stop was called, or once capture ended cleanly (camera closed,
// Duration reached) and every frame captured before was handed over; a failure of the camera
// comes back the same way, after those frames, naming the frame it failed at.
func (l *Live) Read(f *rawvideo.Frame) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startLocked()
	f.Seq = l.next
	for l.n == 0 && l.end == nil && !l.stopped {
		l.ready.Wait()
	}
	switch {
	case l.stopped:
		return io.EOF
	case l.n == 0:
		return l.end
	}
	b := l.popWaiting()
	*f, *b = *b, *f
	f.Seq = l.next
	l.next++
	l.read++
	l.spare = append(l.spare, b)
	return nil
}

// Stop ends the stream at once: Read returns io.EOF from now on, the frames waiting are
// dropped (and counted), and capture stops after the frame it is capturing. It does not wait
// for that; Close does.
func (l *Live) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	l.dropped += int64(l.n)
	for l.n > 0 {
		l.spare = append(l.spare, l.popWaiting())
	}
	l.ready.Broadcast()
}

// Close stops the stream (Stop) and waits until capture has stopped: until the Capture call
// in progress, if any, returns. Close the camera only after Close, so that no Capture runs on
// a closed camera.
func (l *Live) Close() {
	l.Stop()
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if started {
		<-l.done
	}
}

// Sink returns a Sink that writes to dst and times each frame written from its capture
// (Frame.Captured) to the end of its write, for Stats. Frames with no capture time (not from
// a Live source) are written and not timed.
func (l *Live) Sink(dst Sink) Sink { return &liveSink{live: l, dst: dst} }

type liveSink struct {
	live *Live
	dst  Sink
}

func (s *liveSink) Write(f *rawvideo.Frame) error {
	if err := s.dst.Write(f); err != nil {
		return err
	}
	if !f.Captured.IsZero() {
		l := s.live
		d := time.Since(f.Captured)
		l.latency.add(d)
		l.written.Add(1)
		for {
			m := l.maxLatency.Load()
			if int64(d) <= m || l.maxLatency.CompareAndSwap(m, int64(d)) {
				break
			}
		}
	}
	return nil
}

// LiveStats is what a Live source did so far.
type LiveStats struct {
	// Captured counts the frames the camera delivered (within Duration).
	Captured int64
	// Dropped counts captured frames never handed to the graph: the oldest waiting frame each
	// time a newer one was captured with the queue full, and those waiting when Stop was
	// called. Captured = Dropped + Read + the frames waiting now.
	Dropped int64
	// Read counts the frames handed to the graph.
	Read int64
	// Written counts the frames written through Sink. LatencyP50 and LatencyP95 are the median
	// and 95th percentile of their capture-to-output latency (from Frame.Captured to the end of
	// the write), to about 9% (the Recorder's histogram); LatencyMax is the largest, exact.
	Written                            int64
	LatencyP50, LatencyP95, LatencyMax time.Duration
}

// Stats returns the counts and latencies so far; it may be called at any time from any
// goroutine.
func (l *Live) Stats() LiveStats {
	l.mu.Lock()
	s := LiveStats{Captured: l.captured, Dropped: l.dropped, Read: l.read}
	l.mu.Unlock()
	s.Written = l.written.Load()
	s.LatencyP50, s.LatencyP95 = l.latency.quantile(0.5), l.latency.quantile(0.95)
	s.LatencyMax = time.Duration(l.maxLatency.Load())
	return s
}
