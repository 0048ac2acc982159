package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/meshpipe/meshpipe/pipeline"
)

// exitEmpty is the exit status for an input without a single frame (see usageHead).
const exitEmpty = 3

// startUp loads the models (openParts), opens the input and plans -o OUT, in the order that
// lets each failure show first and at once:
//   - -i IN is probed and decoded up to its first frame before any model is loaded, so that
//     a file that is empty, has no video or does not decode fails at once;
//   - stdin is looked at while the models load: an empty stdin is said at once, and a model
//     that fails is said without waiting for stdin (which may stay silent);
//   - a live source opens once the models are up (it starts capturing when it opens).
//
// -o OUT is planned (planOutput) while the models load. What the models' loading logs is held
// back until the input and OUT have passed (and dropped if they fail), so that a bad input or
// OUT, such as the empty stdin of a command before | that failed, is said alone; a second at
// most, so that a stdin that stays silent still shows meshpipe ready.
//
// startUp logs a failure and returns its exit status with nil parts: exitEmpty for an input
// without a frame, exitUsage for a flag that the input shows wrong, the stop status when ctx
// was cancelled, else exitError.
func startUp(ctx context.Context, o *options, pl plan, stdin io.Reader, log *logger) (*pipeline.Parts, *input, *outPlan, int) {
	fail := func(err error) int {
		log.printf(slog.LevelError, "%v", err)
		var empty emptyInputError
		switch {
		case errors.As(err, &empty):
			return exitEmpty
		case errors.As(err, new(usageError)):
			return exitUsage
		}
		return exitError
	}
	stopped := func() int {
		log.printf(slog.LevelWarn, "stopped by %v before the first frame", stopName(ctx))
		return stopStatus(ctx)
	}

	if pl.live {
		p, err := openParts(o, log)
		if err != nil {
			return nil, nil, nil, fail(err)
		}
		if ctx.Err() != nil {
			p.Close()
			return nil, nil, nil, stopped()
		}
		in, err := openInput(o, pl, stdin)
		if err == nil {
			var op *outPlan
			if op, err = planFor(o, pl, in); err == nil {
				return p, in, op, exitOK
			}
			in.finish(true)
		}
		p.Close()
		return nil, nil, nil, fail(err)
	}

	var file *input
	if o.input != "" && o.input != "-" {
		var err error
		if file, err = openInput(o, pl, stdin); err != nil {
			return nil, nil, nil, fail(err)
		}
	}
	type built struct {
		p   *pipeline.Parts
		err error
	}
	type opened struct {
		in  *input
		op  *outPlan
		err error
	}
	// The models load with a log held back until the input and OUT have passed.
	blog := &gatedWriter{w: log.w}
	defer time.AfterFunc(holdLog, blog.release).Stop()
	bc := make(chan built, 1)
	go func() {
		p, err := openParts(o, newLogger(blog, log.level))
		bc <- built{p, err}
	}()
	oc := make(chan opened, 1)
	go func() {
		in := file
		if in == nil {
			var err error
			if in, err = openInput(o, pl, stdin); err != nil {
				oc <- opened{err: err}
				return
			}
		}
		op, err := planFor(o, pl, in)
		if err != nil {
			in.finish(true)
			in = nil
		}
		oc <- opened{in, op, err}
	}()
	// Let go of whichever is still on its way: close what it makes.
	dropBuild := func() {
		blog.close()
		go func() {
			if b := <-bc; b.p != nil {
				b.p.Close()
			}
		}()
	}
	dropOpen := func() {
		go func() {
			if r := <-oc; r.in != nil {
				r.in.finish(true)
			}
		}()
	}
	var b *built
	var r *opened
	done := ctx.Done()
	for b == nil || r == nil {
		select {
		case x := <-bc:
			b = &x
			if x.err != nil && ctx.Err() == nil {
				blog.release()
				if r == nil {
					dropOpen()
				} else if r.in != nil {
					r.in.finish(true)
				}
				return nil, nil, nil, fail(x.err)
			}
		case x := <-oc:
			r = &x
			if x.err == nil {
				blog.release()
			}
			if x.err != nil && ctx.Err() == nil {
				if b == nil {
					dropBuild()
				} else if b.p != nil {
					b.p.Close()
				}
				return nil, nil, nil, fail(x.err)
			}
		case <-done:
			// A stop while the input is opened (a y4m header awaited on a silent stdin)
			// ends the wait; the models cannot be stopped while they load.
			done = nil
			(&input{raw: stdin}).interrupt()
			if file != nil {
				file.interrupt()
			}
		}
	}
	if ctx.Err() != nil {
		blog.close()
		if b.p != nil {
			b.p.Close()
		}
		if r.in != nil {
			r.in.finish(true)
		}
		return nil, nil, nil, stopped()
	}
	return b.p, r.in, r.op, exitOK
}

// planFor plans -o OUT (nil for stdout), for frames that come as in's.
func planFor(o *options, pl plan, in *input) (*outPlan, error) {
	if o.output == "" || o.output == "-" {
		return nil, nil
	}
	info, _, err := outputStream(o, pl, in)
	if err != nil {
		return nil, err
	}
	return planOutput(o, in, info)
}

// holdLog is the longest startUp holds back the models' log.
const holdLog = time.Second

// gatedWriter holds what is written to it until release, which writes it to w and lets later
// writes through, or close, which drops it and later writes.
type gatedWriter struct {
	mu       sync.Mutex
	w        io.Writer
	held     bytes.Buffer
	released bool
	closed   bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return len(p), nil
	case g.released:
		return g.w.Write(p)
	}
	return g.held.Write(p)
}

func (g *gatedWriter) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.released && !g.closed {
		g.released = true
		g.w.Write(g.held.Bytes())
		g.held.Reset()
	}
}

func (g *gatedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.held.Reset()
	g.mu.Unlock()
}
