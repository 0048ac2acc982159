package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/meshpipe/meshpipe/gl/preview"
	"github.com/meshpipe/meshpipe/stages"
)

// previewer shows the output frames in a window (-preview). Its window belongs to the goroutine
// that called Run, which openPreview locks to its OS thread; in the meshpipe binary that is the
// main goroutine on the process's main thread (main.go's init locks it), as GLFW wants. The
// stage graph then runs on other goroutines and hands frames over through a preview.Feed.
type previewer struct {
	win  *preview.Window
	feed *preview.Feed
	log  *slog.Logger
}

// openPreview opens the window for w x h frames, before any frame is read: with no display it
// fails at once (preview.ErrNoDisplay).
func openPreview(w, h int, log *slog.Logger) (*previewer, error) {
	runtime.LockOSThread()
	win, err := preview.Open("meshpipe", w, h)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("cannot open a window on display %s (%v)", os.Getenv("DISPLAY"), err)
	}
	return &previewer{win: win, feed: preview.NewFeed(), log: log}, nil
}

func (pv *previewer) close() {
	pv.win.Close()
	runtime.UnlockOSThread()
}

// runGraph runs the stage graph from src to dst, showing the frames written in pv's window
// when pv is not nil.
func runGraph(ctx context.Context, cfg stages.Config, src stages.Source, dst stages.Sink, pv *previewer) (stages.Stats, error) {
	if pv == nil {
		return stages.Run(ctx, cfg, src, dst)
	}
	return pv.run(ctx, cfg, src, dst)
}

// run runs the graph on another goroutine and, on this one, shows the frames written in the
// window (preview.Window.Follow) until the graph ends. Closing the window stops the preview,
// not the run.
func (pv *previewer) run(ctx context.Context, cfg stages.Config, src stages.Source, dst stages.Sink) (stats stages.Stats, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stats, err = stages.Run(ctx, cfg, src, pv.feed.Tee(dst))
	}()
	pv.win.Follow(pv.feed, done, pv.log)
	put, skipped := pv.feed.Counts()
	pv.log.Info("preview", "frames_shown", pv.win.Shown(), "frames_skipped", skipped, "frames_written", put)
	return stats, err
}

// checkDisplay says, in one sentence, why no window could open on the X display named by
// display (the value of $DISPLAY), before anything is loaded: unset, not of the form
// [host]:N[.S], or no X server answering on its socket (/tmp/.X11-unix/XN, or Linux's abstract
// socket of that name, for a local display; TCP port 6000+N on host). An X server that
// answers but refuses the client is left for the window's own error.
func checkDisplay(display string) error {
	const hint = "run under an X server, e.g. with xvfb-run, or without -preview"
	if display == "" {
		return fmt.Errorf("no display to open a window on: DISPLAY is not set (%s)", hint)
	}
	i := strings.LastIndexByte(display, ':')
	num, _, _ := strings.Cut(display[i+1:], ".")
	if i < 0 || num == "" || strings.Trim(num, "0123456789") != "" {
		return fmt.Errorf("DISPLAY=%q is not an X display name such as :0 (%s)", display, hint)
	}
	host := display[:i]
	var err error
	var c net.Conn
	if host == "" || host == "unix" {
		sock := "/tmp/.X11-unix/X" + num
		if c, err = net.DialTimeout("unix", sock, 2*time.Second); err != nil {
			c, err = net.DialTimeout("unix", "@"+sock, 2*time.Second)
		}
	} else {
		port, _ := strconv.Atoi(num)
		c, err = net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(6000+port)), 2*time.Second)
	}
	if err != nil {
		return fmt.Errorf("no X server answers on display %s (%s)", display, hint)
	}
	c.Close()
	return nil
}
