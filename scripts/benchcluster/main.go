// Command meshfarm-bench (make bench-cluster) measures meshfarm against single-machine runs on
// the same files, side by side in one run: the files one after another through
// `meshpipe -i IN -o OUT`, then through the farm (a Temporal dev server on loopback and
// meshfarm workers on this machine) with one worker and with two. It prints, and writes to
// out/bench-cluster.md, each run's wall time and total CPU time (user + system of every
// process: meshpipe, ffmpeg, workers; the Temporal server and the submitting client apart).
// It is a benchmark, not a test: it fails only when a run fails or an output's frame count is
// not its input's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/meshpipe/meshpipe/farm"
	"github.com/meshpipe/meshpipe/farm/segment"
)

type options struct {
	files, frames, segmentFrames, warmup int
	flags, intermediate, out             string
	workers                              string
	root                                 string
	load                                 string // the load average at the start
}

func main() {
	o := options{}
	flag.IntVar(&o.files, "files", 2, "input files, each cut from vtest.avi (768x576, 10 fps) at a different place")
	flag.IntVar(&o.frames, "frames", 800, "frames per file")
	flag.IntVar(&o.segmentFrames, "segment-frames", 400, "the farm's segment length (its default, 1800, would make one segment of each file)")
	flag.IntVar(&o.warmup, "warmup-frames", farm.DefaultWarmupFrames, "the farm's warm-up frames before each segment but the first")
	flag.StringVar(&o.flags, "flags", "-pose-model standin", "meshpipe's flags, for both kinds of run")
	flag.StringVar(&o.intermediate, "intermediate", "raw", "the farm's segment files: raw or ffvhuff")
	flag.StringVar(&o.workers, "workers", "1,2", "worker counts to run the farm with")
	flag.StringVar(&o.out, "o", "out/bench-cluster.md", "where the table goes (besides stdout)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "meshfarm-bench:", err)
		os.Exit(1)
	}
}

// result is one run's figures.
type result struct {
	name              string
	workers           int
	wall              time.Duration
	cpu, server, self time.Duration // children (meshpipe, ffmpeg, workers), Temporal server, this process
	workersOwn        time.Duration // the worker processes' own CPU time (the SDK, the frames they pass on)
	frames, run       int           // frames written; frames meshpipe ran (warm-up frames included)
	segments          int
}

func run(o options) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	o.root = root
	bin := func(name string) (string, error) {
		p := filepath.Join(root, "bin", name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s missing: run make build", p)
		}
		return p, nil
	}
	meshpipe, err := bin("meshpipe")
	if err != nil {
		return err
	}
	meshfarm, err := bin("meshfarm")
	if err != nil {
		return err
	}
	temporal := filepath.Join(root, ".deps", "temporal-cli-1.5.1", "temporal")
	if _, err := os.Stat(temporal); err != nil {
		return fmt.Errorf("%s missing: run scripts/setup.sh temporal", temporal)
	}
	work, err := os.MkdirTemp("", "meshfarm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	flags := strings.Fields(o.flags)

	// Inputs: H.264 in MP4, cut from vtest.avi, made once (not timed).
	var inputs []string
	for i := 0; i < o.files; i++ {
		in := filepath.Join(work, "in", fmt.Sprintf("clip%d.mp4", i))
		os.MkdirAll(filepath.Dir(in), 0o755)
		from := (i * 795 / max(1, o.files)) % 795
		args := []string{"-nostdin", "-v", "error", "-stream_loop", "-1", "-i", filepath.Join(root, ".deps", "samples", "vtest.avi"),
			"-vf", fmt.Sprintf("trim=start_frame=%d,setpts=PTS-STARTPTS", from), "-frames:v", strconv.Itoa(o.frames), "-c:v", "libx264", in}
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("making %s: %v\n%s", in, err, b)
		}
		inputs = append(inputs, in)
	}
	fmt.Printf("inputs: %d files of %d frames (768x576 H.264, from vtest.avi); meshpipe %s\n", o.files, o.frames, o.flags)
	o.load = loadavg()
	fmt.Printf("farm: segments of %d frames, %d warm-up frames, %s intermediate; %d cores, %s\n\n", o.segmentFrames, o.warmup, o.intermediate, runtime.NumCPU(), o.load)

	var results []result
	// Single machine: one file after another.
	r := result{name: "single machine: meshpipe -i IN -o OUT, one file after another", workers: 0}
	start := time.Now()
	for _, in := range inputs {
		out := filepath.Join(work, "single", filepath.Base(in))
		os.MkdirAll(filepath.Dir(out), 0o755)
		cmd := exec.Command(meshpipe, append([]string{"-i", in, "-o", out, "-y", "-nostats", "-loglevel", "error"}, flags...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("meshpipe on %s: %w", in, err)
		}
		r.cpu += cpuOf(cmd.ProcessState)
		n, err := frameCount(out)
		if err != nil {
			return err
		}
		r.frames += n
	}
	r.run, r.segments = r.frames, len(inputs)
	r.wall = time.Since(start)
	results = append(results, r)
	report(r, results[0])

	// The farm.
	srv, address, err := startServer(temporal)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Signal(syscall.SIGINT); srv.Wait() }()
	cl, err := dial(address)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, f := range strings.Split(o.workers, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return fmt.Errorf("-workers %q", o.workers)
		}
		r, err := runFarm(o, k, inputs, work, meshfarm, meshpipe, address, cl, srv.Process.Pid, flags)
		if err != nil {
			return err
		}
		results = append(results, r)
		report(r, results[0])
	}
	return writeTable(o, results)
}

// runFarm submits every input to the farm with k workers running and waits for all.
func runFarm(o options, k int, inputs []string, work, meshfarm, meshpipe, address string, cl client.Client, serverPid int, flags []string) (result, error) {
	r := result{name: fmt.Sprintf("farm, %d worker(s) of concurrency 1", k), workers: k}
	logs, _ := os.Create(filepath.Join(work, fmt.Sprintf("workers-%d.log", k)))
	defer logs.Close()
	var workers []*exec.Cmd
	for i := 0; i < k; i++ {
		w := exec.Command(meshfarm, "worker", "-address", address, "-meshpipe", meshpipe, "-identity", fmt.Sprintf("bench-%d-%d", k, i), "-devices", "none")
		w.Stdout, w.Stderr = logs, logs
		if err := w.Start(); err != nil {
			return r, err
		}
		workers = append(workers, w)
	}
	outDir := filepath.Join(work, fmt.Sprintf("farm-%d", k))
	server0 := procCPU(serverPid)
	self0 := selfCPU()
	start := time.Now()
	ctx := context.Background()
	var ids []string
	for _, in := range inputs {
		j := farm.NewJob(in, filepath.Join(outDir, filepath.Base(in)), flags)
		j.SegmentFrames, j.WarmupFrames, j.Intermediate = o.segmentFrames, o.warmup, o.intermediate
		digest, err := farm.ContentDigest(in)
		if err != nil {
			return r, err
		}
		sub, err := farm.Submit(ctx, cl, farm.DefaultTaskQueue, digest, j)
		if err != nil {
			return r, err
		}
		ids = append(ids, sub.ID)
	}
	for _, id := range ids {
		res, err := farm.Wait(ctx, cl, id, "")
		if err != nil {
			return r, fmt.Errorf("farm with %d workers: %s: %w", k, id, err)
		}
		r.frames += res.Frames
		r.segments += res.Segments
	}
	r.wall = time.Since(start)
	r.self = selfCPU() - self0
	r.server = procCPU(serverPid) - server0
	for _, w := range workers {
		r.workersOwn += procCPU(w.Process.Pid)
		w.Process.Signal(syscall.SIGTERM)
	}
	for _, in := range inputs {
		n, _ := frameCount(in)
		ranges, err := segment.Plan(n, o.segmentFrames, o.warmup)
		if err != nil {
			return r, err
		}
		for _, rg := range ranges {
			r.run += rg.Len() + rg.Warmup
		}
	}
	for _, w := range workers {
		w.Wait()
		r.cpu += cpuOf(w.ProcessState) // the worker and every ffmpeg and meshpipe it ran
	}
	for _, in := range inputs {
		n, err := frameCount(filepath.Join(outDir, filepath.Base(in)))
		if err != nil {
			return r, err
		}
		if want, _ := frameCount(in); n != want {
			return r, fmt.Errorf("farm output of %s has %d frames, the input %d", in, n, want)
		}
	}
	return r, nil
}

func report(r, single result) {
	fmt.Printf("%-62s wall %6.1f s (%.2fx single)  CPU %6.1f s (%.3fx single; workers' own %.1f s)  server %5.1f s  client %4.1f s  frames %d (meshpipe ran %d in %d segments)\n",
		r.name, r.wall.Seconds(), r.wall.Seconds()/single.wall.Seconds(), r.cpu.Seconds(), r.cpu.Seconds()/single.cpu.Seconds(),
		r.workersOwn.Seconds(), r.server.Seconds(), r.self.Seconds(), r.frames, r.run, r.segments)
}

func writeTable(o options, rs []result) error {
	var b strings.Builder
	single := rs[0]
	fmt.Fprintf(&b, "Inputs: %d files of %d frames (768x576 H.264 cut from vtest.avi); meshpipe `%s`; farm segments of %d frames with %d warm-up frames, %s intermediate; %d cores, %s.\n\n",
		o.files, o.frames, o.flags, o.segmentFrames, o.warmup, o.intermediate, runtime.NumCPU(), o.load)
	b.WriteString("| run | segments | frames meshpipe ran | wall s | wall vs single | CPU s (meshpipe, ffmpeg, workers) | of which workers' own | CPU vs single | Temporal server CPU s | client CPU s | all CPU vs single |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		all := r.cpu + r.server + r.self
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.2f | %.1f | %.1f | %.3f | %.1f | %.1f | %.3f |\n", r.name, r.segments, r.run, r.wall.Seconds(), r.wall.Seconds()/single.wall.Seconds(),
			r.cpu.Seconds(), r.workersOwn.Seconds(), r.cpu.Seconds()/single.cpu.Seconds(), r.server.Seconds(), r.self.Seconds(), all.Seconds()/single.cpu.Seconds())
	}
	fmt.Println()
	fmt.Print(b.String())
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, []byte(b.String()), 0o644)
}

// cpuOf is a finished process's user + system time, its waited-for descendants included
// (Linux's wait4 reports the child's own and its reaped children's usage).
func cpuOf(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

// procCPU is a running process's user + system time so far, from /proc/PID/stat (clock ticks
// of 1/100 s).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + f[0] + " at the start (other work on the machine slows the figures)"
}

func frameCount(file string) (int, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w", file, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// startServer starts the dev server on a free loopback port, in memory.
func startServer(temporal string) (*exec.Cmd, string, error) {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1000)); err == nil && port+1000 < 65536 {
			l2.Close()
			cmd := exec.Command(temporal, "server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--headless", "--log-level", "error")
			cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
			if err := cmd.Start(); err != nil {
				return nil, "", err
			}
			return cmd, fmt.Sprintf("127.0.0.1:%d", port), nil
		}
	}
	return nil, "", errors.New("no free loopback port pair")
}

// dial connects to the dev server, waiting up to a minute for it to start.
func dial(address string) (client.Client, error) {
	var last error
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		cl, err := client.Dial(client.Options{HostPort: address, Logger: quiet{}})
		if err == nil {
			return cl, nil
		}
		last = err
	}
	return nil, fmt.Errorf("the dev server at %s did not answer: %w", address, last)
}

// quiet drops the SDK's log lines.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
