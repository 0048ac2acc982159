package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/meshpipe/meshpipe/farm"
	"github.com/meshpipe/meshpipe/farm/segment"
)

const submitHead = `usage: meshfarm submit -o DIR [flags] FILES... [-- MESHPIPE FLAGS...]

Starts one workflow per file: DIR/NAME.EXT is written from FILE (NAME is the file's name
without its extension), by the workers, with meshpipe's flags after --. A file whose content
and options were submitted before, and is running or done, is not started again ("already").
Paths must be the same on every worker (shared storage); they are made absolute here.

Flags (before, between or after the files):
`

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("submit", submitHead, stderr)
	var conn connection
	conn.define(fs)
	def := farm.NewJob("", "", nil)
	outDir := fs.String("o", "", "output `folder` (required)")
	ext := fs.String("ext", "mp4", "output container, by its file `extension` (ffmpeg picks codec and muxer from it)")
	vcodec := fs.String("vcodec", "", "ffmpeg video `codec` of the outputs (default: the container's, as meshpipe -o)")
	segFrames := fs.Int("segment-frames", def.SegmentFrames, "segment length in `frames`")
	warmup := fs.Int("warmup-frames", def.WarmupFrames, "`frames` run and discarded before each segment but the first")
	intermediate := fs.String("intermediate", def.Intermediate, "segment files: raw (no CPU, 1.5 bytes a pixel) or ffvhuff (lossless, about half the size, a few ms of CPU a frame)")
	attempts := fs.Int("attempts", int(def.Policy.MaxAttempts), "most attempts at each step of a file")
	heartbeat := fs.Duration("heartbeat-timeout", def.Policy.HeartbeatTimeout, "a segment whose worker is silent this long is run again elsewhere")
	retryAfter := fs.Duration("retry-after", def.Policy.InitialInterval, "wait before the first retry (doubling, up to a minute)")
	wait := fs.Bool("wait", false, "wait until every file is done, then print their status (exit status 1 if one failed)")
	files, meshpipeFlags, err := parseSubmitArgs(fs, args)
	if err != nil {
		return 2
	}
	switch {
	case *outDir == "":
		fmt.Fprintln(stderr, "meshfarm submit: -o DIR is required")
		return 2
	case len(files) == 0:
		fmt.Fprintln(stderr, "meshfarm submit: no files given")
		return 2
	case strings.ContainsAny(*ext, "/.") || *ext == "":
		fmt.Fprintf(stderr, "meshfarm submit: -ext %q: want an extension such as mp4 or mkv\n", *ext)
		return 2
	}
	if err := farm.CheckOptions(meshpipeFlags); err != nil {
		fmt.Fprintf(stderr, "meshfarm submit: %v\n", err)
		return 2
	}
	if err := segment.CheckIntermediate(*intermediate); err != nil {
		fmt.Fprintf(stderr, "meshfarm submit: -%v\n", err)
		return 2
	}
	dir, err := filepath.Abs(*outDir)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm submit: -o: %v\n", err)
		return 2
	}

	jobs, failed := make([]farm.Job, 0, len(files)), false
	seen := map[string]string{}
	for _, f := range files {
		in, err := filepath.Abs(f)
		if err == nil {
			var fi os.FileInfo
			if fi, err = os.Stat(in); err == nil && !fi.Mode().IsRegular() {
				err = fmt.Errorf("not a regular file")
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "meshfarm submit: %s: %v\n", f, err)
			failed = true
			continue
		}
		base := filepath.Base(in)
		out := filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+"."+*ext)
		if other, dup := seen[out]; dup {
			fmt.Fprintf(stderr, "meshfarm submit: %s and %s would both write %s: submit them to different folders\n", other, in, out)
			return 2
		}
		seen[out] = in
		j := farm.NewJob(in, out, meshpipeFlags)
		j.VideoCodec, j.SegmentFrames, j.WarmupFrames, j.Intermediate = *vcodec, *segFrames, *warmup, *intermediate
		j.Policy.MaxAttempts, j.Policy.HeartbeatTimeout, j.Policy.InitialInterval = int32(*attempts), *heartbeat, *retryAfter
		if err := j.Check(); err != nil {
			fmt.Fprintf(stderr, "meshfarm submit: %s: %v\n", in, err)
			return 2
		}
		jobs = append(jobs, j)
	}

	cl, err := conn.dial(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm submit: %v\n", err)
		return 1
	}
	defer cl.Close()
	var ids []string
	for _, j := range jobs {
		digest, err := farm.ContentDigest(j.Input)
		var sub farm.Submission
		if err == nil {
			sub, err = farm.Submit(ctx, cl, conn.taskQueue, digest, j)
		}
		if err != nil {
			fmt.Fprintf(stderr, "meshfarm submit: %v\n", err)
			failed = true
			continue
		}
		state := "started"
		if !sub.Started {
			state = "already"
		}
		fmt.Fprintf(stdout, "%-8s %s %s -> %s\n", state, sub.ID, j.Input, j.Output)
		ids = append(ids, sub.ID)
	}
	if *wait && len(ids) > 0 {
		if !waitAll(ctx, cl, ids, stdout, stderr) {
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// parseSubmitArgs parses flags anywhere among the files, up to a "--" after which come
// meshpipe's flags.
func parseSubmitArgs(fs *flag.FlagSet, args []string) (files, meshpipeFlags []string, err error) {
	if i := slices.Index(args, "--"); i >= 0 {
		args, meshpipeFlags = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return files, meshpipeFlags, nil
		}
		files = append(files, args[0])
		args = args[1:]
	}
}

// waitAll waits for the workflows ids to close, printing a line as each does, then their
// status table; it reports whether every one completed.
func waitAll(ctx context.Context, cl client.Client, ids []string, stdout, stderr io.Writer) bool {
	ok := true
	start := time.Now()
	for _, id := range ids {
		res, err := farm.Wait(ctx, cl, id, "")
		if err != nil {
			ok = false
			fmt.Fprintf(stdout, "failed   %s after %.1f s: %v\n", id, time.Since(start).Seconds(), err)
			continue
		}
		fmt.Fprintf(stdout, "done     %s after %.1f s: %d frames in %d segments -> %s\n", id, time.Since(start).Seconds(), res.Frames, res.Segments, res.Output)
	}
	list, err := listIDs(ctx, cl, ids)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm submit: %v\n", err)
		return false
	}
	fmt.Fprintln(stdout)
	printTable(stdout, list)
	return ok
}

// listIDs lists the latest run of each workflow id, 50 ids a query.
func listIDs(ctx context.Context, cl client.Client, ids []string) ([]farm.FileStatus, error) {
	var all []farm.FileStatus
	for len(ids) > 0 {
		n := min(50, len(ids))
		quoted := make([]string, n)
		for i, id := range ids[:n] {
			quoted[i] = "'" + id + "'"
		}
		list, err := farm.List(ctx, cl, "WorkflowId IN ("+strings.Join(quoted, ", ")+")")
		if err != nil {
			return nil, err
		}
		all = append(all, latest(list)...)
		ids = ids[n:]
	}
	return all, nil
}
