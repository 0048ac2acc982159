package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/meshpipe/meshpipe/farm"
)

const workerHead = `usage: meshfarm worker [flags]

Runs segments of files on this machine: polls the task queue and runs, for each segment,
ffmpeg (from PATH) and meshpipe as child processes, which end with the segment (when it is
cancelled, fails, or this worker dies). Stop it with SIGINT or SIGTERM: running segments are
given back and retried on other workers.

Flags:
`

// workerConfig is what `meshfarm worker`'s flags say.
type workerConfig struct {
	conn        connection
	concurrency int
	devices     []string
	meshpipe    string
	identity    string
	verbose     bool
	// found says the devices are the GPUs found, not named with -devices, and the concurrency
	// their count, not set with -concurrency.
	found, foundConcurrency bool
}

// parseWorker reads the worker's flags and resolves its devices and concurrency from the GPUs
// found (gpus). It returns exit status 2 with the reason on stderr for bad flags.
func parseWorker(args []string, gpus []string, stderr io.Writer) (workerConfig, int) {
	var c workerConfig
	fs := newFlags("worker", workerHead, stderr)
	c.conn.define(fs)
	fs.IntVar(&c.concurrency, "concurrency", 0, "segments run at once (default: one per GPU found, else 1)")
	devices := fs.String("devices", "", "comma-separated meshpipe -device values, one segment on each at a time (default: cuda:0... for each GPU found; none: leave -device to the job)")
	fs.StringVar(&c.meshpipe, "meshpipe", "", "meshpipe binary (default: meshpipe beside meshfarm, else from PATH)")
	fs.StringVar(&c.identity, "identity", "", "this worker's name in Temporal (default: pid@host)")
	fs.BoolVar(&c.verbose, "v", false, "log every heartbeat too")
	if err := fs.Parse(args); err != nil {
		return c, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshfarm worker: unexpected argument %q\n", fs.Arg(0))
		return c, 2
	}
	c.devices = gpus
	switch *devices {
	case "":
		c.found = len(gpus) > 0
	case "none":
		c.devices = nil
	default:
		c.devices = strings.Split(*devices, ",")
	}
	switch n := c.concurrency; {
	case n == 0 && len(c.devices) > 0:
		c.concurrency, c.foundConcurrency = len(c.devices), true
	case n == 0:
		c.concurrency = 1
	case n < 0:
		fmt.Fprintf(stderr, "meshfarm worker: -concurrency %d: want 1 or more\n", n)
		return c, 2
	case len(c.devices) > 0 && n > len(c.devices):
		fmt.Fprintf(stderr, "meshfarm worker: -concurrency %d but %d devices (%s): one segment per GPU (-devices none to share)\n", n, len(c.devices), strings.Join(c.devices, ","))
		return c, 2
	}
	return c, 0
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	gpus := gpuDevices(gpuInputs{CudaVisible: os.Getenv("CUDA_VISIBLE_DEVICES"), HasCudaVisible: hasEnv("CUDA_VISIBLE_DEVICES"), DevNames: devNames()})
	c, code := parseWorker(args, gpus, stderr)
	if code != 0 {
		return code
	}
	log := logger(stderr, c.verbose)
	conn, n, devs := c.conn, c.concurrency, c.devices
	bin, err := findMeshpipe(c.meshpipe)
	if err == nil {
		err = lookTools("ffmpeg", "ffprobe")
	}
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm worker: %v\n", err)
		return 1
	}
	if len(devs) > 0 {
		if err := checkDevice(ctx, bin, devs[0]); err != nil {
			if !c.found {
				fmt.Fprintf(stderr, "meshfarm worker: -devices: %v\n", err)
				return 1
			}
			log.Warn("GPUs found, but meshpipe cannot use them: segments run on meshpipe's default device", "gpus", len(devs), "err", err)
			devs = nil
			if c.foundConcurrency {
				n = 1
			}
		}
	}

	cl, err := conn.dial(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meshfarm worker: %v\n", err)
		return 1
	}
	defer cl.Close()
	w := worker.New(cl, conn.taskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: n,
		Identity:                           c.identity,
		WorkerStopTimeout:                  5 * time.Second,
		// Heartbeats reach the server at least every 5 s (the SDK's default is 80% of the
		// heartbeat timeout), so that status shows a segment's progress as it goes.
		MaxHeartbeatThrottleInterval: 5 * time.Second,
	})
	farm.Register(w, &farm.Activities{Meshpipe: bin, Devices: devs, Log: log})
	if err := w.Start(); err != nil {
		fmt.Fprintf(stderr, "meshfarm worker: starting: %v\n", err)
		return 1
	}
	log.Info("worker started", "address", conn.address, "namespace", conn.namespace, "task_queue", conn.taskQueue,
		"concurrency", n, "devices", strings.Join(devs, ","), "meshpipe", bin, "pid", os.Getpid())
	<-ctx.Done()
	log.Info("worker stopping: running segments are given back")
	w.Stop()
	return 0
}

// checkDevice runs meshpipe with -device dev on no frames: it starts ONNX Runtime on the
// device (an error when it cannot, as for CUDA libraries missing) and stops.
func checkDevice(ctx context.Context, meshpipe, dev string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, meshpipe, "-device", dev, "-s", "16x16", "-pose-model", "standin", "-detector", "none",
		"-no-render", "-nostats", "-loglevel", "error")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("meshpipe -device %s: %v: %s", dev, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// findMeshpipe returns the meshpipe binary: path when given, else "meshpipe" in meshfarm's
// own folder, else from PATH. The error says where it looked.
func findMeshpipe(path string) (string, error) {
	if path != "" {
		if _, err := exec.LookPath(path); err != nil {
			return "", fmt.Errorf("-meshpipe: %w", err)
		}
		return filepath.Abs(path)
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "meshpipe")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath("meshpipe")
	if err != nil {
		return "", errors.New("meshpipe not found beside meshfarm nor in PATH (build it with make build, or give -meshpipe)")
	}
	return filepath.Abs(p)
}

func lookTools(names ...string) error {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s is needed in PATH: %w", n, err)
		}
	}
	return nil
}

func hasEnv(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}

// devNames returns the names in /dev (nvidia0, nvidiactl...); none off Linux.
func devNames() []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, _ := os.ReadDir("/dev")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// gpuInputs is what gpuDevices looks at: $CUDA_VISIBLE_DEVICES (and whether it is set) and the
// names in /dev.
type gpuInputs struct {
	CudaVisible    string
	HasCudaVisible bool
	DevNames       []string
}

var nvidiaDev = regexp.MustCompile(`^nvidia[0-9]+$`)

// gpuDevices returns meshpipe's -device value for each NVIDIA GPU this process may use:
// cuda:0 to cuda:N-1, with N the entries of CUDA_VISIBLE_DEVICES when it is set (CUDA numbers
// the visible GPUs from 0; "" or "-1" hides them all), else the /dev/nvidiaN device nodes.
func gpuDevices(in gpuInputs) []string {
	n := 0
	if in.HasCudaVisible {
		for _, f := range strings.Split(in.CudaVisible, ",") {
			f = strings.TrimSpace(f)
			if f == "" || strings.HasPrefix(f, "-") {
				break // CUDA stops at the first invalid entry
			}
			n++
		}
	} else {
		for _, name := range in.DevNames {
			if nvidiaDev.MatchString(name) {
				n++
			}
		}
	}
	devs := make([]string, n)
	for i := range devs {
		devs[i] = fmt.Sprintf("cuda:%d", i)
	}
	return devs
}
