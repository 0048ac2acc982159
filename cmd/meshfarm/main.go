// Command meshfarm runs meshpipe over many video files on many machines through Temporal: a
// worker takes segments of files from a task queue and runs meshpipe on them; submit starts
// one durable workflow per file (submitting a file twice processes it once); status lists the
// files with their state, progress and errors.
//
//	meshfarm worker -address temporal:7233
//	meshfarm submit -o /shared/out /shared/in/*.mp4 -- -pose-model blazepose-full
//	meshfarm status
//
// Exit status: 0 done; 1 a failure (submit -wait: a file failed); 2 bad flags.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: meshfarm COMMAND [flags]

Runs meshpipe over many video files on many machines, through a Temporal service: one
durable workflow per file, its segments run by whichever workers are free, retried when a
worker fails, joined frame-exactly into the output.

Commands:
  worker    run segments of files on this machine (meshfarm worker -h)
  submit    start processing files: meshfarm submit -o DIR FILES... [-- MESHPIPE FLAGS]
  status    list the files with their state, progress and errors

Every command takes -address HOST:PORT (default $TEMPORAL_ADDRESS, else 127.0.0.1:7233),
-namespace NS (default "default") and -task-queue Q (default "meshpipe").
`

// run is meshfarm: it dispatches to the command named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "worker":
		return runWorker(ctx, args[1:], stdout, stderr)
	case "submit":
		return runSubmit(ctx, args[1:], stdout, stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "meshfarm: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// logger writes text logs to w at info level, or debug when verbose is set.
func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
