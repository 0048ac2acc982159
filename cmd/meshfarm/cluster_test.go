package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/meshpipe/meshpipe/farm"
	"github.com/meshpipe/meshpipe/internal/testenv"
)

// envAsMain makes the test binary run meshfarm's main, so that the tests start real worker
// processes without building meshfarm separately.
const envAsMain = "MESHFARM_TEST_AS_MAIN"

// envWorkerTag marks a worker and, by inheritance, every process it starts: the test finds
// them in /proc.
const envWorkerTag = "MESHFARM_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envAsMain) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// temporalCLI returns the temporal CLI that scripts/setup.sh builds into .deps. Without it the
// test is skipped, except in CI (CI=true), where setup.sh has run and its absence is a failure.
func temporalCLI(t *testing.T) string {
	t.Helper()
	p := filepath.Join(testenv.Root(t), ".deps", "temporal-cli-1.5.1", "temporal")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Temporal dev server is missing (scripts/setup.sh builds it): %v", err)
		}
		t.Skipf("the Temporal dev server is not built (run scripts/setup.sh temporal): %v", err)
	}
	return p
}

// devServer starts a Temporal dev server on a free loopback port for the test, in memory,
// and stops it at the end.
func devServer(t *testing.T) (*testsuite.DevServer, client.Client) {
	t.Helper()
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  temporalCLI(t),
		ClientOptions: &client.Options{HostPort: freeLoopbackPort(t)},
		LogLevel:      "error",
		Stdout:        &logs, Stderr: &logs,
	})
	if err != nil {
		t.Fatalf("starting the Temporal dev server: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Logf("stopping the dev server: %v", err)
		}
	})
	return srv, srv.Client()
}

// freeLoopbackPort returns 127.0.0.1:PORT with a port free for the dev server's frontend and
// for the HTTP port it opens at PORT+1000.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+1000 >= 65536 {
			continue
		}
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1000)); err == nil {
			l2.Close()
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
	}
	t.Fatal("no free pair of loopback ports found")
	return ""
}

// buildMeshpipe builds meshpipe into a temporary folder and returns its path.
func buildMeshpipe(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "meshpipe")
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/meshpipe")
	cmd.Dir = testenv.Root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/meshpipe: %v\n%s", err, b)
	}
	return out
}

// workerProc is a meshfarm worker started by the test.
type workerProc struct {
	tag  string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWorker starts `meshfarm worker` (the test binary as meshfarm) with tag in its
// environment; it is stopped (SIGTERM) at the end of the test if still running.
func startWorker(t *testing.T, address, meshpipe, tag string) *workerProc {
	t.Helper()
	exe, _ := os.Executable()
	w := &workerProc{tag: tag, log: &lockedBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(exe, "worker", "-address", address, "-meshpipe", meshpipe, "-identity", "worker-"+tag, "-devices", "none", "-v")
	w.cmd.Env = append(os.Environ(), envAsMain+"=1", envWorkerTag+"="+tag)
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-w.done:
			case <-time.After(20 * time.Second):
				w.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("worker %s log:\n%s", tag, tail(w.log.String(), 60))
		}
	})
	return w
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tagged returns the pids of live processes whose environment holds envWorkerTag=tag.
func tagged(tag string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	want := []byte(envWorkerTag + "=" + tag + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); strings.Contains(string(stat), ") Z ") {
			continue // a zombie: dead, not yet reaped
		}
		pids = append(pids, pid)
	}
	return pids
}

// makeClip writes n frames of vtest.avi from frame `from`, scaled to 384x288, with ffmpeg args.
func makeClip(t *testing.T, dir, name string, from, n int, audio bool, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	a := []string{"-nostdin", "-v", "error", "-i", testenv.Sample(t, "vtest.avi")}
	if audio {
		a = append(a, "-f", "lavfi", "-i", "sine=f=440:d=60", "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-shortest")
	}
	a = append(a, "-vf", fmt.Sprintf("trim=start_frame=%d,setpts=PTS-STARTPTS,scale=384:288", from), "-frames:v", strconv.Itoa(n))
	a = append(append(a, args...), out)
	if b, err := exec.Command("ffmpeg", a...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

// y4mFrames decodes the frames of a y4m stream (yuv420p) of w x h.
func y4mFrames(t *testing.T, data []byte, w, h int) [][]byte {
	t.Helper()
	size := w * h * 3 / 2
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || !bytes.HasPrefix(data, []byte("YUV4MPEG2 ")) {
		t.Fatalf("not a y4m stream (%d bytes)", len(data))
	}
	data = data[nl+1:]
	var frames [][]byte
	for len(data) > 0 {
		nl = bytes.IndexByte(data, '\n')
		if nl < 0 || len(data) < nl+1+size {
			t.Fatalf("truncated y4m stream after %d frames", len(frames))
		}
		frames = append(frames, data[nl+1:nl+1+size])
		data = data[nl+1+size:]
	}
	return frames
}

// decodeY4M decodes a file's video as yuv420p y4m.
func decodeY4M(t *testing.T, file string) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", file, "-map", "0:v:0", "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-").Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return out
}

// singleRun is the single-machine run of file: ffmpeg decodes it as meshpipe's file mode does
// and meshpipe, with opts, draws every frame in one process.
func singleRun(t *testing.T, meshpipe, file string, opts []string) []byte {
	t.Helper()
	dec := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", file, "-map", "0:v:0", "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-")
	mp := exec.Command(meshpipe, append(append([]string{}, opts...), "-nostats", "-loglevel", "warning")...)
	pipe, _ := dec.StdoutPipe()
	mp.Stdin = pipe
	var out, errs bytes.Buffer
	mp.Stdout, mp.Stderr = &out, &errs
	if err := dec.Start(); err != nil {
		t.Fatal(err)
	}
	if err := mp.Run(); err != nil {
		t.Fatalf("meshpipe on %s: %v\n%s", file, err, errs.String())
	}
	dec.Wait()
	return out.Bytes()
}

// meanAbsDiff is the mean absolute difference of two frames' bytes.
func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

var segmentStarted = regexp.MustCompile(`msg="segment started" input=(\S+) segment=(\d+) attempt=(\d+)`)

// compareRuns compares a farm output with the single run's frames and the input's: it fails
// the test when counts differ, when a frame of the first segment differs, when a differing
// frame is nearer a neighbouring input frame than its own (order), or when it changes more
// than maxShare of its luma pixels; it returns the differing frames.
func compareRuns(t *testing.T, name string, got, want, src [][]byte, frames, segFrames int, maxShare float64) (differ []int, worstShare float64) {
	t.Helper()
	if len(got) != frames || len(want) != frames || len(src) != frames {
		t.Fatalf("%s: %d frames out, single run %d, input %d; want %d", name, len(got), len(want), len(src), frames)
	}
	luma := 384 * 288
	for k := range got {
		if bytes.Equal(got[k], want[k]) {
			continue
		}
		differ = append(differ, k)
		if k < segFrames {
			t.Errorf("%s: frame %d of the first segment differs from the single run", name, k)
		}
		changed := 0
		for i := 0; i < luma; i++ {
			if got[k][i] != want[k][i] {
				changed++
			}
		}
		share := float64(changed) / float64(luma)
		worstShare = max(worstShare, share)
		if share > maxShare {
			t.Errorf("%s: frame %d differs from the single run in %.1f%% of its pixels, more than %.0f%%", name, k, 100*share, 100*maxShare)
		}
		own := meanAbsDiff(got[k], src[k])
		for _, n := range []int{k - 1, k + 1} {
			if n >= 0 && n < frames && meanAbsDiff(got[k], src[n]) < own {
				t.Errorf("%s: output frame %d is nearer input frame %d than its own", name, k, n)
			}
		}
	}
	return differ, worstShare
}

// TestCluster runs the farm for real: a Temporal dev server started here on loopback, two
// worker processes, three short clips and an undecodable file. One worker is killed with
// SIGKILL in the middle of a segment; its meshpipe and ffmpeg must end with it, and the
// segment must run again on the other worker once the heartbeat timeout has passed. Every
// output must hold exactly its input's frame count, in order. With a detector without memory
// (YOLOX) every frame must equal a single meshpipe run over the whole clip; with background
// subtraction, whose background model is built from every frame before, frames after a
// segment's start may differ: the test reports how many, and bounds how much. A second submit
// of a file starts nothing; the undecodable file fails at once with ffprobe's reason, and a
// file whose pose model breaks the contract with meshpipe's, neither retried, while the others
// finish.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the cluster test takes about a minute")
	}
	srv, cl := devServer(t)
	address := srv.FrontendHostPort()
	meshpipe := buildMeshpipe(t)
	yolox := testenv.Shared(t, "models/yolox_nano.onnx")
	dir := t.TempDir()
	const frames, segFrames, warm = 60, 30, 8
	clips := []string{
		makeClip(t, dir, "walkers.mp4", 0, frames, true, "-c:v", "libx264", "-bf", "2", "-g", "15"),
		makeClip(t, dir, "square.avi", 250, frames, false, "-c:v", "mpeg4", "-q:v", "3"),
		makeClip(t, dir, "late.mkv", 500, frames, false, "-c:v", "libx264"),
	}
	bad := filepath.Join(dir, "broken.mp4")
	os.WriteFile(bad, bytes.Repeat([]byte("this is not a video file "), 4000), 0o644)
	light := []string{"-pose-model", "standin", "-render-workers", "1", "-pose-workers", "1", "-samples", "1"}
	stateless := append([]string{"-detector", yolox, "-smooth", "off"}, light...) // smoothing is memory
	stateful := append([]string{"-detector", "bgsub"}, light...)
	offContract := append([]string{"-pose-model", "hmr2", "-model", yolox}, light[2:]...) // a detector is no HMR2
	outStateless, outStateful, outOffContract := filepath.Join(dir, "yolox"), filepath.Join(dir, "bgsub"), filepath.Join(dir, "offcontract")

	a := startWorker(t, address, meshpipe, "A")
	b := startWorker(t, address, meshpipe, "B")

	// submit runs `meshfarm submit` and returns its lines as input -> fields.
	submit := func(outDir string, opts []string, files ...string) map[string][]string {
		var out, errs bytes.Buffer
		args := append([]string{"submit", "-address", address, "-o", outDir, "-ext", "mkv", "-vcodec", "ffv1",
			"-segment-frames", strconv.Itoa(segFrames), "-warmup-frames", strconv.Itoa(warm),
			"-heartbeat-timeout", "3s", "-retry-after", "500ms"}, files...)
		args = append(append(args, "--"), opts...)
		if code := run(context.Background(), args, &out, &errs); code != 0 {
			t.Fatalf("meshfarm submit: exit %d\n%s%s", code, out.String(), errs.String())
		}
		lines := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if f := strings.Fields(line); len(f) >= 3 {
				lines[f[2]] = f
			}
		}
		return lines
	}
	start := time.Now()
	type job struct{ in, outDir, id string }
	var jobs []job
	for _, sub := range []struct {
		out   string
		opts  []string
		files []string
	}{{outStateless, stateless, append([]string{bad}, clips...)}, {outStateful, stateful, clips[:1]}, {outOffContract, offContract, clips[1:2]}} {
		lines := submit(sub.out, sub.opts, sub.files...)
		for _, f := range sub.files {
			l := lines[f]
			if len(l) < 2 || l[0] != "started" {
				t.Fatalf("submit of %s said %q", f, l)
			}
			jobs = append(jobs, job{f, sub.out, l[1]})
		}
	}
	ids := map[string]string{} // output folder + input -> workflow id
	for _, j := range jobs {
		ids[j.outDir+j.in] = j.id
	}
	if ids[outStateless+clips[0]] == ids[outStateful+clips[0]] {
		t.Error("the same file with other options got the same workflow id")
	}
	if again := submit(outStateless, stateless, clips[0])[clips[0]]; len(again) < 2 || again[0] != "already" || again[1] != ids[outStateless+clips[0]] {
		t.Errorf("second submit of a running file: %q, want already %s", again, ids[outStateless+clips[0]])
	}

	// Kill A with SIGKILL once a segment of its own has frames in its segment file.
	var killedInput, killedSeg string
	var killedAt time.Time
	deadline := time.Now().Add(3 * time.Minute)
	for killedAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("worker A never had a segment half written:\n%s", tail(a.log.String(), 30))
		}
		time.Sleep(20 * time.Millisecond)
		m := segmentStarted.FindAllStringSubmatch(a.log.String(), -1)
		if len(m) == 0 {
			continue
		}
		last := m[len(m)-1]
		input, seg := last[1], last[2]
		if strings.Contains(a.log.String(), fmt.Sprintf(`msg="segment done" input=%s segment=%s `, input, seg)) {
			continue
		}
		var parts []string
		for _, j := range jobs {
			if j.in == input {
				p, _ := filepath.Glob(filepath.Join(j.outDir, ".meshfarm", j.id, fmt.Sprintf("segment-%05s.y4m.part-*", seg)))
				parts = append(parts, p...)
			}
		}
		for _, p := range parts {
			// Written past the first frames (the file is buffered by the MiB: about 6 frames).
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killedAt, killedInput, killedSeg = time.Now(), input, seg
				t.Logf("killed worker A (SIGKILL) at %.1f s, in segment %s of %s (%d bytes written)", time.Since(start).Seconds(), seg, filepath.Base(input), fi.Size())
				break
			}
		}
	}
	<-a.done
	var left []int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if left = tagged("A"); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		for _, pid := range left {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("process %d of the killed worker still runs: %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
			syscall.Kill(pid, syscall.SIGKILL)
		}
	} else {
		t.Logf("every process of worker A ended with it (%.1f s after the kill)", time.Since(killedAt).Seconds())
	}

	// Every file ends: four outputs, two failures.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	closed := map[string]time.Time{}
	for _, j := range jobs {
		res, err := farm.Wait(ctx, cl, j.id, "")
		if d, derr := cl.DescribeWorkflowExecution(ctx, j.id, ""); derr == nil {
			closed[j.id] = d.WorkflowExecutionInfo.CloseTime.AsTime()
		}
		if j.in == bad {
			if err == nil || !strings.Contains(err.Error(), "Invalid data found when processing input") || !strings.Contains(err.Error(), bad) {
				t.Errorf("%s: %v, want a failure naming the file and ffprobe's reason", filepath.Base(j.in), err)
			}
			continue
		}
		if j.outDir == outOffContract {
			if err == nil || !strings.Contains(err.Error(), "want img[-1 3 256 256]") || !strings.Contains(err.Error(), "yolox_nano.onnx") {
				t.Errorf("%s with a detector as pose model: %v, want meshpipe's contract error", filepath.Base(j.in), err)
			} else {
				t.Logf("off-contract model: %v", err)
			}
			if n, most := activityAttempts(ctx, t, cl, j.id, "Segment"); n == 0 || most != 1 {
				t.Errorf("off-contract model: %d segments started, up to attempt %d: want no retry", n, most)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(j.in), err)
		}
		if res.Frames != frames || res.Segments != frames/segFrames {
			t.Errorf("%s: %+v", filepath.Base(j.in), res)
		}
	}
	badID := ids[outStateless+bad]
	for _, j := range jobs {
		if j.in != bad && j.outDir != outOffContract && !closed[badID].Before(closed[j.id]) {
			t.Errorf("the undecodable file closed at %v, not before %s (%v)", closed[badID], filepath.Base(j.in), closed[j.id])
		}
	}
	t.Logf("all files closed %.1f s after the submit; the undecodable file %.1f s after it",
		time.Since(start).Seconds(), closed[badID].Sub(start).Seconds())
	if probes, attempt := activityAttempts(ctx, t, cl, badID, "Probe"); probes != 1 || attempt != 1 {
		t.Errorf("the undecodable file was probed %d times (attempt %d): want once, no retry", probes, attempt)
	}

	// The killed segment ran again on B, after the heartbeat timeout.
	retried := false
	blog := b.log.String()
	for _, m := range segmentStarted.FindAllStringSubmatchIndex(blog, -1) {
		if blog[m[2]:m[3]] != killedInput || blog[m[4]:m[5]] != killedSeg || blog[m[6]:m[7]] == "1" {
			continue
		}
		retried = true
		line := blog[strings.LastIndex(blog[:m[0]], "\n")+1 : m[1]]
		if ts, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(strings.Fields(line)[0], "time=")); err == nil {
			t.Logf("segment %s of %s ran again on worker B %.1f s after the kill (heartbeat timeout 3 s)", killedSeg, filepath.Base(killedInput), ts.Sub(killedAt).Seconds())
			if ts.Sub(killedAt) < 2*time.Second {
				t.Errorf("retried %.1f s after the kill, before the heartbeat timeout", ts.Sub(killedAt).Seconds())
			}
		}
	}
	if !retried {
		t.Errorf("segment %s of %s was not run again on worker B", killedSeg, killedInput)
	}

	id0 := ids[outStateless+clips[0]]
	if again := submit(outStateless, stateless, clips[0])[clips[0]]; len(again) < 2 || again[0] != "already" || again[1] != id0 {
		t.Errorf("second submit of a completed file: %q", again)
	}
	if list, err := farm.List(ctx, cl, fmt.Sprintf("WorkflowId = '%s'", id0)); err != nil || len(list) != 1 {
		t.Errorf("runs of %s: %d (%v), want 1", id0, len(list), err)
	}

	// Outputs against single runs of the same options over the whole clip.
	for _, j := range jobs {
		if j.in == bad || j.outDir == outOffContract {
			continue
		}
		name := filepath.Base(j.outDir) + "/" + filepath.Base(j.in)
		out := filepath.Join(j.outDir, strings.TrimSuffix(filepath.Base(j.in), filepath.Ext(j.in))+".mkv")
		opts := stateless
		if j.outDir == outStateful {
			opts = stateful
		}
		got := y4mFrames(t, decodeY4M(t, out), 384, 288)
		want := y4mFrames(t, singleRun(t, meshpipe, j.in, opts), 384, 288)
		src := y4mFrames(t, decodeY4M(t, j.in), 384, 288)
		if j.outDir == outStateless {
			differ, _ := compareRuns(t, name, got, want, src, frames, segFrames, 0)
			if len(differ) > 0 {
				t.Errorf("%s: frames %v differ from the single run; with a detector without memory none may", name, differ)
			} else {
				t.Logf("%s: %d frames, all equal to the single run's", name, len(got))
			}
		} else {
			differ, share := compareRuns(t, name, got, want, src, frames, segFrames, 0.05)
			t.Logf("%s: %d frames; %d of the %d after the first segment differ from the single run (background model built from %d warm-up frames instead of %d), in at most %.1f%% of a frame's pixels",
				name, len(got), len(differ), frames-segFrames, warm, segFrames, 100*share)
		}
		if j.in == clips[0] {
			streams, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", out).Output()
			if !strings.Contains(string(streams), "audio") {
				t.Errorf("%s: no audio stream in the output (%q)", name, streams)
			}
		}
	}
	for _, d := range []string{outStateless, outStateful} {
		if left, _ := os.ReadDir(filepath.Join(d, ".meshfarm")); len(left) > 0 {
			t.Errorf("segment folders left behind in %s: %v", d, left)
		}
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		t.Error("worker B did not stop within 20 s of SIGTERM")
	}
}

// activityAttempts returns how many activities of type name a workflow started and the
// highest attempt among them.
func activityAttempts(ctx context.Context, t *testing.T, cl client.Client, id, name string) (started, most int) {
	it := cl.GetWorkflowHistory(ctx, id, "", false, 0)
	ofType := map[int64]bool{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		switch a := e.Attributes.(type) {
		case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
			if a.ActivityTaskScheduledEventAttributes.ActivityType.GetName() == name {
				ofType[e.EventId] = true
			}
		case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
			if ofType[a.ActivityTaskStartedEventAttributes.ScheduledEventId] {
				started++
				most = max(most, int(a.ActivityTaskStartedEventAttributes.Attempt))
			}
		}
	}
	return started, most
}
