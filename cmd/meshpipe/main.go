// Command meshpipe draws the recovered 3D body mesh of every person over each frame of a video
// stream: frames in on stdin (rawvideo or YUV4MPEG2), the same frames with meshes out on
// stdout; or, with -i and -o, from and to files through ffmpeg.
//
//	ffmpeg -i in.mp4 -f yuv4mpegpipe - | meshpipe | ffmpeg -i - out.mp4
//	meshpipe -i in.mp4 -o out.mp4
//
// Signals: the first SIGINT or SIGTERM stops reading; every frame already read is finished
// and written, and meshpipe exits with 130 (SIGINT) or 143 (SIGTERM). A second one exits at
// once with the same status. SIGPIPE is caught, so that a write to a closed stdout fails with
// EPIPE instead of killing the process: meshpipe then stops quietly with status 141.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// init locks the main goroutine to the process's main OS thread, so that Run, called from
// main, drives the -preview window (GLFW) from that thread.
func init() { runtime.LockOSThread() }

func main() {
	os.Exit(realMain())
}

func realMain() int {
	// With SIGPIPE notified (and never read), writes to a closed pipe return EPIPE, even on
	// fd 1, where Go would otherwise die of the signal. Children do not inherit this.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	stdin, restore := pollableStdin()
	defer restore()

	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		stop(stopSignal{s.(syscall.Signal)})
		s = <-sigs
		fmt.Fprintf(os.Stderr, "meshpipe: %v again: exiting at once\n", s)
		restore()
		os.Exit(exitSignal + int(s.(syscall.Signal)))
	}()
	return Run(ctx, os.Args[1:], stdin, os.Stdout, os.Stderr)
}
