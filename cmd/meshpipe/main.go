// Command meshpipe draws the recovered 3D body mesh of every person over each frame of a raw
// video stream: rgb24 frames in on stdin, the same frames with meshes out on stdout.
//
//	ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - \
//	  | meshpipe -s 1280x720 \
//	  | ffmpeg -f rawvideo -pix_fmt rgb24 -s 1280x720 -r 30 -i - out.mp4
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// init locks the main goroutine to the process's main OS thread, so that Run, called from
// main, drives the -preview window (GLFW) from that thread.
func init() { runtime.LockOSThread() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
