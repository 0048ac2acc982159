package preview

import (
	"sync"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Feed hands the newest frame from a pipeline's goroutines to the window's thread, so that a
// slow window never slows the pipeline: Put copies a frame in and returns at once, replacing
// (and counting as dropped) one that was not taken yet; Take hands the newest one out. It is
// safe for concurrent use. Use NewFeed to make one.
type Feed struct {
	mu      sync.Mutex
	frame   rawvideo.Frame // the newest frame put, when fresh
	fresh   bool
	put     int64
	dropped int64
	ready   chan struct{} // holds a token while a frame is waiting
}

// NewFeed returns an empty Feed.
func NewFeed() *Feed { return &Feed{ready: make(chan struct{}, 1)} }

// Put copies f into the feed as its newest frame. It does not keep f.
func (q *Feed) Put(f *rawvideo.Frame) {
	q.mu.Lock()
	if q.fresh {
		q.dropped++
	}
	q.frame.CopyFrom(f)
	q.fresh = true
	q.put++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Ready returns a channel that has a value while a frame waits to be taken (it may also have
// one just after a Take emptied the feed; Take then reports false).
func (q *Feed) Ready() <-chan struct{} { return q.ready }

// Take moves the newest frame into dst and reports true, or reports false when no frame came
// since the last Take. dst's pixel buffer is swapped with the feed's, so no copy is made and
// dst must not be in use elsewhere.
func (q *Feed) Take(dst *rawvideo.Frame) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.fresh {
		return false
	}
	*dst, q.frame = q.frame, *dst
	q.fresh = false
	return true
}

// Counts returns how many frames were put and how many of them were replaced before they were
// taken.
func (q *Feed) Counts() (put, dropped int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.put, q.dropped
}
