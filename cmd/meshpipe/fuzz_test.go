package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// argSep separates the arguments of one FuzzParseArgs input: a NUL cannot be part of a
// command-line argument.
const argSep = "\x00"

// FuzzParseArgs parses arbitrary command lines as Run does before it builds anything
// (parseArgs, then the flag checks), without starting the pipeline. Whatever the arguments,
// parsing must not panic; a refused flag must say so on stderr; a check that fails must name
// the flag it is about; and options that pass the checks must be usable: positive worker
// counts and batch, alpha within 0..1, a frame size the pix_fmt can hold, positive rates.
func FuzzParseArgs(f *testing.F) {
	for _, c := range badFlagCases {
		f.Add(strings.Join(c.args, argSep))
	}
	for _, c := range liveErrorCases {
		f.Add(strings.Join(c.args, argSep))
	}
	for _, c := range sizeErrorCases {
		f.Add(strings.Join(c.args, argSep))
	}
	for _, args := range [][]string{
		{"-s", "64x48", "-detector", "full", "-render-workers", "1", "-pose-workers", "1"},
		{"-s", "640x480", "-pix_fmt", "bgr24", "-i", "-", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-"},
		{"--s", "1280x720", "-r", "30000/1001", "-t", "1:30", "-alpha", "0.5", "-batch", "16", "-device", "cuda:1"},
		{"-i", "testsrc", "-s", "640x480", "-r", "ntsc", "-t", "500ms", "-f", "yuv4mpegpipe", "-"},
		{"-i", "in.mp4", "-o", "out.mp4", "-y", "-loglevel", "verbose", "-stats", "-in-flight", "12"},
		{"-list_devices", "true"},
		{"-version"},
		{"-h"},
		{"-s", "64x48", "-nostats", "-stats=false"},
		{"-s", "64x48", "-r", "29.97", "-threads", "0", "-poses", "p.jsonl", "-body", "b.npz", "-model", "m.onnx"},
	} {
		f.Add(strings.Join(args, argSep))
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, argSep)
		}
		var stderr bytes.Buffer
		o, extra, err := parseArgs(args, &stderr)
		switch {
		case errors.Is(err, flag.ErrHelp):
			if !strings.Contains(stderr.String(), "usage: meshpipe") {
				t.Fatalf("%q: -h without the help text", args)
			}
			return
		case err != nil:
			if !strings.Contains(stderr.String(), err.Error()) {
				t.Fatalf("%q: flag error %q not written to stderr", args, err)
			}
			return
		}
		if len(extra) > len(args) {
			t.Fatalf("%q: %d arguments left over from %d", args, len(extra), len(args))
		}
		pl, err := o.check()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "-") {
				t.Fatalf("%q: check error %q does not start with the flag at fault", args, err)
			}
			return
		}
		switch {
		case o.PoseWorkers < 1 || o.RenderWorkers < 0 || o.Batch < 1:
			t.Fatalf("%q: accepted %d pose workers, %d render workers, batch %d", args, o.PoseWorkers, o.RenderWorkers, o.Batch)
		case o.InFlight < 0 || o.Threads < 0:
			t.Fatalf("%q: accepted -in-flight %d, -threads %d", args, o.InFlight, o.Threads)
		case !(o.Alpha >= 0 && o.Alpha <= 1):
			t.Fatalf("%q: accepted -alpha %v", args, o.Alpha)
		case o.duration < 0:
			t.Fatalf("%q: accepted -t %v", args, o.duration)
		case pl.inFormat == "rawvideo" && (pl.inW <= 0 || pl.inH <= 0):
			t.Fatalf("%q: rawvideo input accepted without a size", args)
		}
		for _, r := range []rawvideo.Ratio{pl.inRate, pl.outRate} {
			if !r.IsZero() && (r.Num < 0 || r.Den < 0) {
				t.Fatalf("%q: accepted the rate %v", args, r)
			}
		}
		if pl.inW != 0 || pl.inH != 0 {
			p := pl.inPixFmt
			if p == 0 {
				p = rawvideo.RGB24
			}
			if _, err := p.FrameSize(pl.inW, pl.inH); err != nil {
				t.Fatalf("%q: accepted a size that %v cannot hold: %v", args, p, err)
			}
			if _, err := rawvideo.FrameSize(pl.inW, pl.inH); err != nil {
				t.Fatalf("%q: accepted a size whose rgb24 frame is refused: %v", args, err)
			}
		}
	})
}
