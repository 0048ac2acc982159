package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/capture"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// doneFields reads the counts of meshpipe's closing "done" log line.
func doneFields(t *testing.T, stderr string) (frames, captured, dropped int) {
	t.Helper()
	m := regexp.MustCompile(`msg=done frames=(\d+) .* captured=(\d+) dropped=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no done line with live counts in:\n%s", stderr)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return a, b, c
}

// The live pipeline, as a shell runs it: the test pattern for 5 seconds as y4m into
// ffmpeg. The test pattern's -t is by frame time, so 150 frames are captured at 30 fps; those
// the graph could not take in time are dropped and counted, and out.mp4 holds the others,
// at the pattern's size and rate, the colour bars converted right.
func TestLiveTestsrcPipeline(t *testing.T) {
	dir := t.TempDir()
	sh := exec.Command("bash", "-o", "pipefail", "-c", `meshpipe -i testsrc -s 640x480 -t 5 -f yuv4mpegpipe - | ffmpeg -i - out.mp4`)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+binDir(t)+":"+os.Getenv("PATH"), "MESHPIPE_ORT_LIB="+testenv.ORTLibrary(t))
	b, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("pipeline: %v\n%s", err, b)
	}
	frames, captured, dropped := doneFields(t, string(b))
	t.Logf("captured %d, dropped %d, written %d", captured, dropped, frames)
	if captured != 150 || frames+dropped != captured || frames == 0 {
		t.Fatalf("captured %d, dropped %d, written %d: want 150 captured = written + dropped", captured, dropped, frames)
	}
	out := filepath.Join(dir, "out.mp4")
	if got, want := probeStreams(t, out), "video,640,480,30/1,"+strconv.Itoa(frames); got != want {
		t.Fatalf("out.mp4: %q, want %q (size, rate, the frames meshpipe wrote)", got, want)
	}
	// The first frame (no person in it, and none found: the default detector, NanoDet-g, finds
	// none in the bars; background subtraction would be learning from it) is the pattern: 75% gray, then yellow, at the top; through x264, within a few levels.
	px := ffmpegOut(t, nil, "-i", out, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	at := func(x, y int) (int, int, int) {
		i := (y*640 + x) * 3
		return int(px[i]), int(px[i+1]), int(px[i+2])
	}
	near := func(v, want int) bool { return v >= want-8 && v <= want+8 }
	if r, g, b := at(40, 40); !near(r, 186) || !near(g, 186) || !near(b, 186) {
		t.Errorf("first bar %d,%d,%d, want about 186,186,186", r, g, b)
	}
	if r, g, b := at(640*3/14, 40); !(r > 160 && g > 160 && b < 60) {
		t.Errorf("second bar %d,%d,%d, want yellow", r, g, b)
	}
}

// In process, fast: a small test pattern through the graph to stdout as rgb24, with the
// live counts in the status line and the summary.
func TestLiveRun(t *testing.T) {
	code, out, stderr := run(t, nil, "-i", "testsrc", "-s", "64x48", "-r", "200", "-t", "0.1",
		"-detector", "full", "-render-workers", "1", "-pose-workers", "1", "-stats")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, captured, dropped := doneFields(t, stderr)
	if captured != 20 || frames+dropped != 20 || len(out) != frames*64*48*3 {
		t.Fatalf("%d bytes out; captured %d, dropped %d, written %d: want 20 captured (0.1 s at 200 fps) = written + dropped, written on stdout",
			len(out), captured, dropped, frames)
	}
	for _, want := range []string{" drop=", " latency=", "live: 20 frames captured", "capture-to-output latency p50",
		`input="live rgb24 64x48 200/1 fps (YUYV from testsrc)"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// -s before -i asks for the size too; rawvideo output to "-".
	code, out, stderr = run(t, nil, "-s", "32x24", "-i", "testsrc", "-r", "100", "-t", "30ms", "-f", "rawvideo",
		"-pix_fmt", "gray", "-", "-detector", "full", "-render-workers", "1", "-pose-workers", "1")
	if frames, _, _ := doneFields(t, stderr); code != 0 || len(out) != frames*32*24 || frames == 0 {
		t.Fatalf("gray: exit %d, %d bytes for %d frames: %s", code, len(out), frames, stderr)
	}
}

// liveErrorCases are bad command lines for live sources, the exit status and what stderr
// must say; FuzzParseArgs starts from their arguments too.
var liveErrorCases = []struct {
	args []string
	code int
	want string
}{
	{[]string{"-pix_fmt", "yuyv422", "-i", "testsrc"}, exitUsage, "-pix_fmt yuyv422 before -i testsrc"},
	{[]string{"-f", "v4l2", "-i", "testsrc"}, exitUsage, "-f v4l2 before -i testsrc"},
	{[]string{"-s", "64x48", "-i", "testsrc", "-s", "32x24"}, exitUsage, "give the size once"},
	{[]string{"-i", "testsrc", "-s", "63x48"}, exitError, "needs an even width"},
	{[]string{"-i", "testsrc", "-t", "soon"}, exitUsage, `want a duration such as 5`},
	{[]string{"-i", "testsrc", "-t", "0"}, exitUsage, "above 0"},
	{[]string{"-i", "testsrc", "out.y4m"}, exitUsage, `unexpected argument "out.y4m"`},
	{[]string{"-i", "webcam:x"}, exitError, "want webcam:N"},
}

func TestLiveErrors(t *testing.T) {
	for _, c := range liveErrorCases {
		code, out, stderr := run(t, nil, append(c.args, "-render-workers", "1")...)
		if code != c.code || len(out) != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, %d bytes out, stderr %q; want exit %d and %q", c.args, code, len(out), stderr, c.code, c.want)
		}
	}
	if len(capture.Devices()) == 0 && capture.CameraDriver != "" {
		code, _, stderr := run(t, nil, "-i", "webcam", "-render-workers", "1")
		if code != exitError || !strings.Contains(stderr, "no cameras were found") || !strings.Contains(stderr, "-i testsrc gives a test pattern") {
			t.Errorf("-i webcam without cameras: exit %d, %s", code, stderr)
		}
	}
}

// -list_devices says plainly when there is no camera (as on the CI machines), and otherwise
// lists each with its formats, sizes and rates.
func TestListDevices(t *testing.T) {
	for _, args := range [][]string{{"-list_devices"}, {"-list_devices", "true"}} {
		code, out, stderr := run(t, nil, args...)
		if code != 0 || !strings.Contains(string(out), "testsrc    test pattern") {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
		if len(capture.Devices()) == 0 && !strings.Contains(string(out), "Cameras: none found: no video device (/dev/video*) on this machine") {
			t.Errorf("no cameras here, but -list_devices says:\n%s", out)
		}
		t.Logf("%s", out)
	}
	var b bytes.Buffer
	printDevices(&b, []capture.Device{
		{Node: "video0", Path: "/dev/video0", Name: "HD Webcam: usb-0000:00:14.0-1", Modes: []capture.Mode{
			{Width: 640, Height: 480, Format: "YUYV", FPS: 30}, {Width: 640, Height: 480, Format: "YUYV", FPS: 15},
			{Width: 1280, Height: 720, Format: "YUYV", FPS: 10}, {Width: 1280, Height: 720, Format: "MJPEG", FPS: 30},
		}},
		{Node: "video1", Path: "/dev/video1", Name: "HD Webcam: usb-0000:00:14.0-1"},
		{Node: "video2", Path: "/dev/video2", Link: "usb-cam-video-index0", Err: errors.New("device or resource busy")},
	})
	want := "  webcam:0   /dev/video0  HD Webcam: usb-0000:00:14.0-1\n" +
		"      YUYV  640x480 at 30, 15 fps; 1280x720 at 10 fps\n" +
		"      MJPEG 1280x720 at 30 fps\n" +
		"  webcam:1   /dev/video1  HD Webcam: usb-0000:00:14.0-1\n" +
		"      no video in a format meshpipe reads (a camera's metadata node?)\n" +
		"  webcam:2   /dev/video2 (usb-cam-video-index0)  (no name)\n" +
		"      cannot be opened to list its modes: device or resource busy\n"
	if capture.CameraDriver != "" && !strings.HasSuffix(b.String(), want) || !strings.Contains(b.String(), "Cameras: 3 found") {
		t.Errorf("listing:\n%s\nwant it to end with:\n%s", b.String(), want)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5": 5 * time.Second, "2.5": 2500 * time.Millisecond, "500ms": 500 * time.Millisecond, "250us": 250 * time.Microsecond,
		"3s": 3 * time.Second, "1:30": 90 * time.Second, "01:02:03.5": time.Hour + 2*time.Minute + 3500*time.Millisecond,
		"-2": -2 * time.Second, "0.04": 40 * time.Millisecond,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "1:2:3:4", "1:60", "1.5:00", "5m", "1e3", "inf", "+5", "--1", "1:-5"} {
		if d, err := parseDuration(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, d)
		}
	}
}

func TestFramesBelow(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		rate rawvideo.Ratio
		want int64
	}{
		{5 * time.Second, rawvideo.Ratio{Num: 30, Den: 1}, 150},
		{5*time.Second + time.Nanosecond, rawvideo.Ratio{Num: 30, Den: 1}, 151},
		{250 * time.Millisecond, rawvideo.Ratio{Num: 10, Den: 1}, 3},
		{time.Second, rawvideo.Ratio{Num: 30000, Den: 1001}, 30},
		{time.Millisecond, rawvideo.Ratio{Num: 25, Den: 1}, 1},
	} {
		if got := c.rate.FramesBelow(c.d); got != c.want {
			t.Errorf("%v.FramesBelow(%v) = %d, want %d", c.rate, c.d, got, c.want)
		}
	}
}

// -t on a stream: the frames whose time k/rate lies below it, as ffmpeg counts them; on a
// file, ffmpeg itself cuts video and audio.
func TestDurationOnStreams(t *testing.T) {
	in := make([]byte, 5*32*24*3)
	code, out, stderr := run(t, in, "-s", "32x24", "-r", "10", "-t", "0.25", "-detector", "full", "-render-workers", "1")
	if code != 0 || len(out) != 3*32*24*3 {
		t.Fatalf("-t 0.25 at 10 fps: exit %d, %d frames out, want 3: %s", code, len(out)/(32*24*3), stderr)
	}
	// Without a rate, rawvideo runs at ffmpeg's 25 fps: 0.1 s is 3 frames (0, 0.04, 0.08).
	code, out, _ = run(t, in, "-s", "32x24", "-t", "0.1", "-detector", "full", "-render-workers", "1")
	if code != 0 || len(out) != 3*32*24*3 {
		t.Fatalf("-t 0.1 at 25 fps: exit %d, %d frames out, want 3", code, len(out)/(32*24*3))
	}
	clip := makeClip(t) // 1 s at 30000/1001 with audio
	o := filepath.Join(t.TempDir(), "cut.mp4")
	code, _, stderr = run(t, nil, "-i", clip, "-t", "0.5", "-o", o, "-detector", "full", "-render-workers", "1")
	if code != 0 {
		t.Fatalf("-i clip -t 0.5: exit %d: %s", code, stderr)
	}
	got := probeStreams(t, o)
	if !strings.Contains(got, "video,160,120,30000/1001,15") || !strings.Contains(got, "audio") {
		t.Errorf("-t 0.5 of the clip: %q, want 15 frames (k*1001/30000 < 0.5) and audio", got)
	}
	dur := strings.TrimSpace(string(ffmpegOutErr(t, "ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=duration", "-of", "csv=p=0", o)))
	if d, err := strconv.ParseFloat(dur, 64); err != nil || d > 0.6 {
		t.Errorf("the audio lasts %q s; -t 0.5 cuts it too", dur)
	}
}

func ffmpegOutErr(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return out
}

// A signal stops a live source at once (it never ends by itself); every frame read is
// written, whole, and meshpipe exits with 128 + the signal.
func TestLiveSignal(t *testing.T) {
	cmd := meshpipeCmd(t, "-i", "testsrc", "-s", "64x48", "-r", "100", "-detector", "full",
		"-render-workers", "1", "-pose-workers", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	se, _ := cmd.StderrPipe()
	stderr := watchLines(se)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	first := make([]byte, 64*48*3)
	if _, err := io.ReadFull(stdout, first); err != nil {
		t.Fatalf("no first frame: %v\n%s", err, stderr)
	}
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(stdout)
	if code := waitExit(t, cmd); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, stderr)
	}
	frames, captured, dropped := doneFields(t, stderr.String())
	if len(rest)%len(first) != 0 || len(rest)/len(first)+1 != frames || frames+dropped != captured {
		t.Fatalf("%d bytes after the first frame; done says written %d, captured %d, dropped %d", len(rest), frames, captured, dropped)
	}
	if !strings.Contains(stderr.String(), "stopped by SIGINT after") {
		t.Errorf("stderr:\n%s", stderr)
	}
}
