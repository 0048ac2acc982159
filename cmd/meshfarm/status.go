package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/meshpipe/meshpipe/farm"
)

const statusHead = `usage: meshfarm status [flags]

Lists the files submitted, newest first: state (running, completed, failed...), frames done
of the frames probed, segments done, the input, and the output or the reason of a failure
(or, while an activity is being retried, its attempt and last failure). A file submitted
again after failing shows its latest run (-all: every run).

Flags:
`

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", statusHead, stderr)
	var conn connection
	conn.define(fs)
	query := fs.String("query", "", "Temporal visibility `query` to narrow the list, e.g. \"ExecutionStatus = 'Running'\"")
	all := fs.Bool("all", false, "every run of each file, not only its latest")
	asJSON := fs.Bool("json", false, "one JSON object per file instead of the table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshfarm status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cl, err := conn.dial(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm status: %v\n", err)
		return 1
	}
	defer cl.Close()
	list, err := farm.List(ctx, cl, *query)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm status: %v\n", err)
		return 1
	}
	if !*all {
		list = latest(list)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, s := range list {
			enc.Encode(s)
		}
		return 0
	}
	printTable(stdout, list)
	return 0
}

// latest keeps the first (newest) run of each workflow id of a newest-first list.
func latest(list []farm.FileStatus) []farm.FileStatus {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s.ID] {
			seen[s.ID] = true
			out = append(out, s)
		}
	}
	return out
}

// printTable writes the files as a table: state, frames, segments, input, and output or error.
func printTable(w io.Writer, list []farm.FileStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tFRAMES\tSEGMENTS\tINPUT\tOUTPUT / ERROR")
	counts := map[string]int{}
	for _, s := range list {
		counts[s.State]++
		frames, segs := "-", "-"
		if s.Frames > 0 {
			frames = fmt.Sprintf("%d/%d %3.0f%%", s.FramesDone, s.Frames, 100*float64(s.FramesDone)/float64(s.Frames))
		}
		if s.Segments > 0 {
			segs = fmt.Sprintf("%d/%d", s.SegmentsDone, s.Segments)
		}
		state := s.State
		if s.Phase != "" && s.State == "running" {
			state += " (" + s.Phase + ")"
		}
		last := s.Output
		switch {
		case s.Error != "":
			last = s.Error
		case s.Retrying != "":
			last = "retrying: " + strings.TrimSuffix(s.Retrying, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", state, frames, segs, s.Input, oneLine(last))
	}
	tw.Flush()
	var parts []string
	for _, st := range []string{"running", "completed", "failed", "canceled", "terminated", "timed out"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	fmt.Fprintf(w, "%d files: %s\n", len(list), strings.Join(parts, ", "))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
