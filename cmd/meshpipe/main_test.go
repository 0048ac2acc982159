package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// envAsMain makes the test binary run meshpipe's main instead of the tests, so that the
// tests can start meshpipe as a real child process (signals, pipes, shell pipelines) without
// building it separately.
const envAsMain = "MESHPIPE_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envAsMain) == "1" {
		os.Exit(realMain())
	}
	// testDir holds files made once and shared by the package's tests (exported models,
	// body files); it is removed at the end.
	var err error
	if testDir, err = os.MkdirTemp("", "meshpipe-cmd-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(testDir)
	os.Exit(code)
}

// meshpipeCmd returns a command that runs meshpipe with args as a child process.
func meshpipeCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envAsMain+"=1")
	return cmd
}

// binDir returns a directory holding a `meshpipe` script that runs the test binary as
// meshpipe, for shell pipelines.
func binDir(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", envAsMain, exe)
	if err := os.WriteFile(filepath.Join(dir, "meshpipe"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lineWatcher collects a child's stderr and lets a test wait for a line containing a text.
type lineWatcher struct {
	mu    sync.Mutex
	text  strings.Builder
	cond  *sync.Cond
	ended bool
}

func watchLines(r io.Reader) *lineWatcher {
	w := &lineWatcher{}
	w.cond = sync.NewCond(&w.mu)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.text.WriteString(sc.Text() + "\n")
			w.cond.Broadcast()
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.ended = true
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
	return w
}

// waitFor blocks until the text has been seen (true) or the stream ended without it (false).
func (w *lineWatcher) waitFor(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !strings.Contains(w.text.String(), s) {
		if w.ended {
			return false
		}
		w.cond.Wait()
	}
	return true
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// waitExit waits for cmd and returns its exit status. A child still running after a minute
// is killed and fails the test: that guards against a hang, it measures nothing.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatal("meshpipe did not exit within a minute")
	}
	return cmd.ProcessState.ExitCode()
}

// sigChild starts meshpipe on rgb24 64x48 frames with pipes on stdin, stdout and stderr.
func sigChild(t *testing.T, extra ...string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.ReadCloser, stderr *lineWatcher) {
	t.Helper()
	args := append([]string{"-s", "64x48", "-detector", "full", "-render-workers", "1", "-pose-workers", "1"}, extra...)
	cmd = meshpipeCmd(t, args...)
	var err error
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if stdout, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	se, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdin, stdout, watchLines(se)
}

func frame64x48(k int) []byte {
	f := make([]byte, 64*48*3)
	for i := range f {
		f[i] = byte(i*3 + k*17)
	}
	return f
}

// SIGINT or SIGTERM: meshpipe stops reading although stdin stays open, writes every frame it
// read, says how many, and exits with 128 + the signal.
func TestSignalStopsReadingAndDrains(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", 130}, {syscall.SIGTERM, "SIGTERM", 143}} {
		cmd, stdin, stdout, stderr := sigChild(t)
		const n = 5
		for k := 0; k < n; k++ {
			if _, err := stdin.Write(frame64x48(k)); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]byte, n*64*48*3)
		if _, err := io.ReadFull(stdout, got); err != nil {
			t.Fatalf("%s: reading the first %d frames: %v\n%s", c.name, n, err, stderr)
		}
		cmd.Process.Signal(c.sig)
		rest, _ := io.ReadAll(stdout) // stdin is still open: only the stop ends this
		code := waitExit(t, cmd)
		stdin.Close()
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, c.code, stderr)
		}
		if len(rest) != 0 {
			t.Errorf("%s: %d bytes after the stop, when no frame was in flight", c.name, len(rest))
		}
		want := fmt.Sprintf("stopped by %s after %d frames: every frame read was written", c.name, n)
		if !stderr.waitFor(want) {
			t.Errorf("%s: stderr lacks %q:\n%s", c.name, want, stderr)
		}
	}
}

// Frames read but not yet written when the signal comes are still written.
func TestSignalWritesFramesInFlight(t *testing.T) {
	cmd, stdin, stdout, stderr := sigChild(t, "-in-flight", "8")
	const n = 6
	for k := 0; k < n; k++ {
		stdin.Write(frame64x48(k))
	}
	// The 6 frames fit in the pipe and in meshpipe's 8 slots; wait until the first is out,
	// then stop it while the others may still be on their way.
	first := make([]byte, 64*48*3)
	if _, err := io.ReadFull(stdout, first); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(stdout)
	code := waitExit(t, cmd)
	stdin.Close()
	written := 1 + len(rest)/(64*48*3)
	if code != 130 || len(rest)%(64*48*3) != 0 {
		t.Fatalf("exit %d, %d bytes after the first frame\n%s", code, len(rest), stderr)
	}
	if !stderr.waitFor(fmt.Sprintf("after %d frames: every frame read was written", written)) {
		t.Errorf("%d frames written, stderr:\n%s", written, stderr)
	}
	t.Logf("%d of %d frames had been read and were written", written, n)
}

// A second SIGINT exits at once, even when the first one's draining cannot finish (no one
// reads stdout).
func TestSecondSignalExitsAtOnce(t *testing.T) {
	cmd := meshpipeCmd(t, "-s", "320x240", "-detector", "full", "-render-workers", "1", "-pose-workers", "1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe() // never read: the first frame's write blocks
	se, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	defer stdout.Close()
	stderr := watchLines(se)
	frame := make([]byte, 320*240*3)
	for k := 0; k < 3; k++ {
		stdin.Write(frame)
	}
	if !stderr.waitFor("level=INFO msg=streams") {
		t.Fatalf("meshpipe did not start:\n%s", stderr)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if !stderr.waitFor("no more frames are read") {
		t.Fatalf("no stop message:\n%s", stderr)
	}
	cmd.Process.Signal(syscall.SIGINT)
	code := waitExit(t, cmd)
	stdin.Close()
	if code != 130 || !strings.Contains(stderr.String(), "interrupt again: exiting at once") {
		t.Fatalf("exit %d, want 130:\n%s", code, stderr)
	}
}

// When the reader of stdout goes away, meshpipe stops quietly with status 141.
func TestClosedStdoutEndsQuietly(t *testing.T) {
	cmd, stdin, stdout, stderr := sigChild(t, "-loglevel", "warning")
	go func() {
		for k := 0; k < 200; k++ {
			if _, err := stdin.Write(frame64x48(k)); err != nil {
				return
			}
		}
		stdin.Close()
	}()
	one := make([]byte, 64*48*3)
	if _, err := io.ReadFull(stdout, one); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	code := waitExit(t, cmd)
	stderr.waitFor("\x00") // until stderr ends
	if code != exitPipe {
		t.Errorf("exit %d, want %d", code, exitPipe)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr is not quiet:\n%s", s)
	}
}

// A signal while meshpipe waits for the first bytes of a silent stdin (to tell y4m from
// rawvideo) stops it too.
func TestSignalWhileWaitingForInput(t *testing.T) {
	cmd := meshpipeCmd(t, "-render-workers", "1")
	stdin, _ := cmd.StdinPipe() // stays open and silent
	se, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	stderr := watchLines(se)
	if !stderr.waitFor("msg=meshpipe") { // built: now it waits on stdin
		t.Fatalf("meshpipe did not start:\n%s", stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	code := waitExit(t, cmd)
	stdin.Close()
	if code != 143 || !strings.Contains(stderr.String(), "stopped by SIGTERM before the first frame") {
		t.Fatalf("exit %d, want 143:\n%s", code, stderr)
	}
}

// With stderr on a terminal (script(1) from bsdutils, which every Debian has, gives it one)
// the status line and the summary show without -stats, and -nostats turns them off.
func TestStatsOnTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) from bsdutils: %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.rgb")
	if err := os.WriteFile(in, make([]byte, 4*32*24*3), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag string
		want bool
	}{{"", true}, {"-nostats", false}} {
		line := fmt.Sprintf("meshpipe -s 32x24 -detector full -render-workers 1 %s < %s > %s", c.flag, in, filepath.Join(dir, "out.rgb"))
		cmd := exec.Command("script", "-qec", line, "/dev/null")
		cmd.Env = append(os.Environ(), "PATH="+binDir(t)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		s := string(out)
		if got := strings.Contains(s, "frame=     4 fps=") && strings.Contains(s, "p95"); got != c.want {
			t.Errorf("%q: status line and summary shown: %v, want %v\n%s", c.flag, got, c.want, s)
		}
	}
}
