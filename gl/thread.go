package gl

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// thread is one goroutine locked to its OS thread for its whole life, running functions handed
// to it one at a time (the shape of ollama's x/internal/mlxthread): OpenGL contexts are current
// on one thread, so every GL call of a context must run there. A panic in a function comes back
// to the caller as an error and the thread keeps serving.
type thread struct {
	sem    chan struct{}     // one caller at a time; held while a job runs
	jobs   chan func() error // to the locked goroutine
	reply  chan error        // from the locked goroutine, one per job
	done   chan struct{}     // closed when the locked goroutine has returned
	closed bool              // guarded by sem
}

// startThread starts the locked goroutine and runs init on it. When init fails (or panics) the
// goroutine ends, taking its OS thread with it, and the error is returned.
func startThread(init func() error) (*thread, error) {
	t := &thread{
		sem:   make(chan struct{}, 1),
		jobs:  make(chan func() error),
		reply: make(chan error),
		done:  make(chan struct{}),
	}
	initErr := make(chan error, 1)
	go t.loop(init, initErr)
	if err := <-initErr; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

func (t *thread) loop(init func() error, initErr chan<- error) {
	// Never unlocked: when this goroutine returns, the Go runtime ends the OS thread too, so no
	// other goroutine ever runs on a thread with GL state left on it.
	runtime.LockOSThread()
	defer close(t.done)
	if err := protect(init); err != nil {
		initErr <- err
		return
	}
	initErr <- nil
	for fn := range t.jobs {
		t.reply <- protect(fn)
	}
}

// protect runs fn and turns a panic into an error.
func protect(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gl: panic on the render thread: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

// acquire waits for the right to hand the thread a job, or for ctx to end.
func (t *thread) acquire(ctx context.Context) error {
	select {
	case t.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *thread) release() { <-t.sem }

// call runs fn on the locked thread and returns its error. The caller holds sem and has checked
// that the thread is not closed.
func (t *thread) call(fn func() error) error {
	t.jobs <- fn
	return <-t.reply
}

// Do runs fn on the locked thread and waits for it. It returns ErrClosed once the thread has
// been stopped, ctx.Err() when ctx ends before fn could start, and fn's error (or its panic, as
// an error) otherwise. Safe to call from any goroutine; calls run one at a time.
func (t *thread) Do(ctx context.Context, fn func() error) error {
	if err := t.acquire(ctx); err != nil {
		return err
	}
	defer t.release()
	if t.closed {
		return ErrClosed
	}
	return t.call(fn)
}

// stop runs cleanup on the locked thread, then ends it and waits for it to return. A second
// stop does nothing and returns nil.
func (t *thread) stop(cleanup func() error) error {
	t.sem <- struct{}{}
	defer t.release()
	if t.closed {
		return nil
	}
	err := t.call(cleanup)
	t.closed = true
	close(t.jobs)
	<-t.done
	return err
}
