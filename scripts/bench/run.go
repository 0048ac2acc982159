package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/statsfile"
	"golang.org/x/sys/unix"
)

// rssSample is the command's memory after a number of frames came out, in KiB.
type rssSample struct {
	Frames int   `json:"frames"`
	RSS    int64 `json:"rss_kib"`
	HWM    int64 `json:"hwm_kib"`
}

// result is one cell's measurement.
type result struct {
	cell
	// Wall is from starting the command to its exit; Steady from the first whole frame out to
	// the last (start-up and the pipeline's filling left out).
	Wall, Steady time.Duration
	FramesOut    int
	// CPU is the command's user plus system time; MaxRSS its peak resident set (ru_maxrss), KiB.
	CPU    time.Duration
	MaxRSS int64
	RSS    []rssSample
	Fig    *statsfile.Figures // meshpipe's -stats_file; nil for cat
	// Runs is the number of times the cell ran; Slowest the fps of its slowest run.
	Runs    int
	Slowest float64
	err     error
}

// fps is the cell's frames per second: in the pipe-cost table, and for cat, the steady rate
// the bench saw (the same measure for every command); elsewhere meshpipe's own (frames over
// the graph's run time).
func (r *result) fps() float64 {
	if r.section != "pipe" && r.Fig != nil && r.Fig.FPS > 0 {
		return r.Fig.FPS
	}
	return r.steadyFPS()
}

// steadyFPS is frames per second from the first frame out to the last.
func (r *result) steadyFPS() float64 {
	if r.Steady <= 0 || r.FramesOut < 2 {
		return 0
	}
	return float64(r.FramesOut-1) / r.Steady.Seconds()
}

// cpuPerFrame is the CPU time per frame written: for meshpipe over the graph's run only
// (its -stats_file's cpu_seconds: start-up left out), for other commands over the whole
// process.
func (r *result) cpuPerFrame() time.Duration {
	if r.Fig != nil && r.Fig.Frames > 0 && r.Fig.CPUSeconds > 0 {
		return time.Duration(r.Fig.CPUSeconds / float64(r.Fig.Frames) * 1e9)
	}
	if r.FramesOut == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.FramesOut)
}

// runCell runs one cell: the command with the frames written into its stdin, its stdout read
// and counted, its memory sampled when asked.
func runCell(ctx context.Context, c *config, cl cell, raw *rawFile, tmp string) *result {
	res := &result{cell: cl}
	var args []string
	statsPath := filepath.Join(tmp, "stats.json")
	os.Remove(statsPath)
	if cl.cmd != nil {
		args = cl.cmd
	} else {
		args = append([]string{c.bin, "-s", cl.size.String(), "-nostats", "-loglevel", "warning", "-stats_file", statsPath,
			"-device", c.device, "-threads", fmt.Sprint(c.threads)}, cl.args...)
		if c.ortLib != "" {
			args = append(args, "-ort-lib", c.ortLib)
		}
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// The pipes are made here, so that their size can be set (it belongs to the pipe, not to
	// one end).
	inR, stdin, err := os.Pipe()
	if err != nil {
		res.err = err
		return res
	}
	stdout, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		stdin.Close()
		res.err = err
		return res
	}
	defer stdout.Close()
	if n := cl.pipeSize; n > 0 {
		for _, f := range []*os.File{stdin, stdout} {
			if _, err := unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, n); err != nil {
				res.err = fmt.Errorf("setting the pipe size to %d bytes: %w (the most is /proc/sys/fs/pipe-max-size)", n, err)
			}
		}
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	t0 := time.Now()
	if res.err == nil {
		res.err = cmd.Start()
	}
	inR.Close()
	outW.Close()
	if res.err != nil {
		stdin.Close()
		return res
	}
	writeErr := make(chan error, 1)
	go func() { writeErr <- copyFrames(stdin, raw, cl.frames) }()

	fb := cl.size.frameBytes()
	buf := make([]byte, fb)
	var first, last time.Time
	sample := map[int]bool{}
	for _, n := range cl.rssAt {
		sample[n] = true
	}
	var readErr error
	for {
		_, err := io.ReadFull(stdout, buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("after %d whole frames out: %w", res.FramesOut, err)
			io.Copy(io.Discard, stdout)
			break
		}
		last = time.Now()
		if res.FramesOut == 0 {
			first = last
		}
		res.FramesOut++
		if sample[res.FramesOut] {
			status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			res.RSS = append(res.RSS, rssSample{Frames: res.FramesOut, RSS: procField(status, "VmRSS"), HWM: procField(status, "VmHWM")})
		}
	}
	waitErr := cmd.Wait()
	res.Wall = time.Since(t0)
	res.Steady = last.Sub(first)
	if st := cmd.ProcessState; st != nil {
		res.CPU = st.UserTime() + st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSS = ru.Maxrss // KiB on Linux
		}
	}
	werr := <-writeErr
	switch {
	case waitErr != nil:
		res.err = fmt.Errorf("%s: %v: %s", strings.Join(args, " "), waitErr, lastLines(stderr.String(), 5))
	case readErr != nil:
		res.err = readErr
	case werr != nil:
		res.err = werr
	case res.FramesOut != cl.frames:
		res.err = fmt.Errorf("%d frames out for %d in: %s", res.FramesOut, cl.frames, lastLines(stderr.String(), 5))
	}
	if res.err != nil || cl.cmd != nil {
		return res
	}
	fig, err := statsfile.Read(statsPath)
	if err != nil {
		res.err = fmt.Errorf("meshpipe's -stats_file: %w", err)
		return res
	}
	res.Fig = fig
	return res
}

// procField returns a "Name: value kB" field of a /proc file in KiB, or 0.
func procField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		return n
	}
	return 0
}
