package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// ffmpegOut runs ffmpeg with args and stdin in, and returns its stdout.
func ffmpegOut(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %q: %v: %s", args, err, stderr.String())
	}
	return out
}

// afterHeader returns a y4m stream without its header line.
func afterHeader(t *testing.T, y4m []byte) []byte {
	t.Helper()
	_, rest, ok := bytes.Cut(y4m, []byte("\n"))
	if !ok {
		t.Fatal("no y4m header")
	}
	return rest
}

// The pipeline: ffmpeg -i X -f yuv4mpegpipe - | meshpipe | ffmpeg -i - Y, no size flags.
func TestY4MShellPipeline(t *testing.T) {
	src := testenv.Sample(t, "vtest.avi")
	out := filepath.Join(t.TempDir(), "out.mp4")
	sh := exec.Command("bash", "-o", "pipefail", "-c",
		`ffmpeg -v error -i "$1" -frames:v 12 -f yuv4mpegpipe - | meshpipe -render-workers 2 -loglevel error | ffmpeg -v error -i - -c:v libx264 -preset ultrafast "$2"`,
		"pipeline", src, out)
	sh.Env = append(os.Environ(), "PATH="+binDir(t)+":"+os.Getenv("PATH"))
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("pipeline: %v\n%s", err, b)
	}
	info, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(info)); got != "768,576,10/1,12" {
		t.Errorf("output stream %q, want 768,576,10/1,12 (size, rate, frames)", got)
	}
}

// y4m through meshpipe and back through ffmpeg is bit-exact where nothing is drawn: with
// -alpha 0 the meshes change no pixel, so every frame comes out as it went in.
func TestY4MRoundTripBitExact(t *testing.T) {
	src := testenv.Sample(t, "vtest.avi")
	in := ffmpegOut(t, nil, "-i", src, "-frames:v", "8", "-f", "yuv4mpegpipe", "-")
	code, out, stderr := run(t, in, "-alpha", "0", "-detector", "full", "-render-workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("meshpipe's y4m (%d bytes) differs from its input (%d bytes)", len(out), len(in))
	}
	again := ffmpegOut(t, out, "-f", "yuv4mpegpipe", "-i", "-", "-f", "yuv4mpegpipe", "-")
	if !bytes.Equal(afterHeader(t, again), afterHeader(t, in)) {
		t.Fatal("ffmpeg reads meshpipe's y4m back to other frames")
	}
}

// Drawing people into yuv420p frames leaves every 2x2 block away from them byte for byte as
// it came, and changes blocks inside their boxes.
func TestY4MDrawnBlocksOnly(t *testing.T) {
	src := testenv.Sample(t, "vtest.avi")
	in := ffmpegOut(t, nil, "-i", src, "-frames:v", "30", "-f", "yuv4mpegpipe", "-")
	// The boxes meshpipe's background subtractor finds, on the frames as meshpipe sees them.
	r, err := rawvideo.NewY4MReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	found := drawtest.NewBoxes()
	f := &rawvideo.Frame{}
	for r.Read(f) == nil {
		found.Add(t, f)
	}
	boxes := found.PerFrame
	// The stand-in draws each body inside its crop window, which the check below relies on.
	code, out, stderr := run(t, in, "-detector", "bgsub", "-render-workers", "2", "-pose-model", "standin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	w, h := 768, 576
	frameBytes := w * h * 3 / 2
	ins, outs := bytes.Split(afterHeader(t, in), []byte("FRAME\n")), bytes.Split(afterHeader(t, out), []byte("FRAME\n"))
	if len(outs) != len(ins) || len(ins) != 31 {
		t.Fatalf("%d frames out, %d in", len(outs)-1, len(ins)-1)
	}
	drawn := 0
	for k := range boxes {
		fi, fo := ins[k+1], outs[k+1]
		if len(fi) != frameBytes || len(fo) != frameBytes {
			t.Fatalf("frame %d: %d and %d bytes", k, len(fi), len(fo))
		}
		inside := make([]bool, (w/2)*(h/2)) // per 2x2 block
		for _, b := range boxes[k] {
			win := models.WindowOf(b)
			x0, x1 := int(win.CX-win.Side/2)-2, int(win.CX+win.Side/2)+2
			y0, y1 := int(win.CY-win.Side/2)-2, int(win.CY+win.Side/2)+2
			for y := max(y0, 0) / 2; y < min(y1, h-1)/2+1; y++ {
				for x := max(x0, 0) / 2; x < min(x1, w-1)/2+1; x++ {
					inside[y*w/2+x] = true
				}
			}
		}
		for cy := 0; cy < h/2; cy++ {
			for cx := 0; cx < w/2; cx++ {
				if inside[cy*w/2+cx] {
					continue
				}
				same := fi[w*h+cy*w/2+cx] == fo[w*h+cy*w/2+cx] && fi[w*h*5/4+cy*w/2+cx] == fo[w*h*5/4+cy*w/2+cx]
				for _, i := range []int{2*cy*w + 2*cx, 2*cy*w + 2*cx + 1, (2*cy+1)*w + 2*cx, (2*cy+1)*w + 2*cx + 1} {
					same = same && fi[i] == fo[i]
				}
				if !same {
					t.Fatalf("frame %d: block (%d, %d) changed, away from every person", k, cx, cy)
				}
			}
		}
		for _, b := range boxes[k] {
			changed, total := 0, 0
			for y := int(b.Y1); y < int(b.Y2); y++ {
				for x := int(b.X1); x < int(b.X2); x++ {
					total++
					if fi[y*w+x] != fo[y*w+x] {
						changed++
					}
				}
			}
			if changed < total/10 {
				t.Errorf("frame %d: only %d of %d pixels drawn in the box %v", k, changed, total, b)
			}
			drawn++
		}
	}
	if drawn == 0 {
		t.Fatal("no person in any frame: the test shows nothing")
	}
	t.Logf("%d people drawn over 30 frames; every other block kept its bytes", drawn)
}

// Packed pix_fmts and gray with odd sizes: -alpha 0 gives the input back byte for byte,
// alpha included; after -i -, -pix_fmt converts the output as ffmpeg would.
func TestPixFmtsThroughMeshpipe(t *testing.T) {
	const w, h = 65, 49
	img := make([]byte, w*h*3)
	for i := range img {
		img[i] = byte(i*7 + i/97)
	}
	for _, pf := range []string{"rgb24", "bgr24", "rgba", "bgra", "gray"} {
		in := ffmpegOut(t, img, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "65x49", "-i", "-", "-f", "rawvideo", "-pix_fmt", pf, "-")
		if pf == "rgba" || pf == "bgra" {
			for i := 3; i < len(in); i += 4 {
				in[i] = byte(i) // an alpha channel that is not all 255
			}
		}
		in = append(in, in...) // two frames
		code, out, stderr := run(t, in, "-s", "65x49", "-pix_fmt", pf, "-alpha", "0", "-detector", "full", "-render-workers", "1", "-loglevel", "warning")
		if code != 0 || !bytes.Equal(out, in) {
			t.Errorf("%s: exit %d, output equal to input: %v; %s", pf, code, bytes.Equal(out, in), stderr)
		}
	}
	// bgr24 in, rgba and yuv420p out (an even size for yuv420p).
	in := ffmpegOut(t, img, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "65x49", "-i", "-", "-f", "rawvideo", "-pix_fmt", "bgr24", "-")
	code, out, stderr := run(t, in, "--video_size=65x49", "--pix_fmt", "bgr24", "-i", "-", "-pix_fmt", "rgba", "-alpha", "0", "-detector", "full", "-render-workers", "1")
	want := ffmpegOut(t, in, "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "65x49", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgba", "-")
	if code != 0 || !bytes.Equal(out, want) {
		t.Errorf("bgr24 to rgba: exit %d, equal to ffmpeg's: %v; %s", code, bytes.Equal(out, want), stderr)
	}
	in = ffmpegOut(t, img[:64*48*3], "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-i", "-", "-f", "rawvideo", "-pix_fmt", "bgr24", "-")
	code, out, stderr = run(t, in, "-s", "64x48", "-pix_fmt", "bgr24", "-i", "-", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-r", "ntsc",
		"-alpha", "0", "-detector", "full", "-render-workers", "1")
	// meshpipe's yuv420p matches ffmpeg's rgb24 -> yuv420p (ffmpeg has another, unfiltered,
	// chroma path from bgr24), since frames are rgb24 inside.
	want = ffmpegOut(t, img[:64*48*3], "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	if code != 0 || !strings.HasPrefix(string(out), "YUV4MPEG2 W64 H48 F30000:1001 Ip A0:0 C420jpeg\nFRAME\n") {
		t.Fatalf("bgr24 to y4m: exit %d, %.60q; %s", code, out, stderr)
	}
	got := afterHeader(t, out)[len("FRAME\n"):]
	for i := range want {
		if d := int(got[i]) - int(want[i]); d > 1 || d < -1 {
			t.Fatalf("bgr24 to yuv420p: byte %d is %d, ffmpeg's %d", i, got[i], want[i])
		}
	}
}

// Sizes and formats that cannot work are refused before anything is read, with the flag or
// header at fault named.
func TestSizesRefusedBeforeReading(t *testing.T) {
	for _, c := range sizeErrorCases {
		code, out, stderr := run(t, []byte(c.stdin), append(c.args, "-render-workers", "1")...)
		if code != c.code || len(out) != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q on %q: exit %d, %d bytes out, stderr %q; want exit %d and %q", c.args, c.stdin, code, len(out), stderr, c.code, c.want)
		}
	}
}

// sizeErrorCases are flags and stdin refused before any frame is read, the exit status and
// what stderr must say; FuzzParseArgs starts from their arguments too.
var sizeErrorCases = []struct {
	args  []string
	stdin string
	code  int
	want  string
}{
	{[]string{"-s", "65x48", "-pix_fmt", "yuv420p"}, "", exitUsage, "yuv420p needs an even width and height"},
	{[]string{"-s", "64x47", "-pix_fmt", "yuv420p"}, "", exitUsage, "yuv420p needs an even width and height"},
	{[]string{"-s", "0x0"}, "", exitUsage, `-s "0x0": want a frame size`},
	{[]string{"-s", "100000x100000", "-pix_fmt", "gray"}, "", exitUsage, "over the 268435456-byte limit"},
	{[]string{}, "YUV4MPEG2 W63 H48 F25:1\nFRAME\n", exitError, "yuv420p needs an even width and height"},
	{[]string{}, "YUV4MPEG2 W64 H48 C422\nFRAME\n", exitError, "C422: only 4:2:0"},
	{[]string{}, "YUV4MPEG2 W0 H48\n", exitError, "no W (width) field"},
	{[]string{}, "\x01\x02\x03", exitUsage, "-s WxH is required: rawvideo carries no frame size"},
	{[]string{"-f", "rawvideo"}, "", exitUsage, "-s WxH is required"},
	{[]string{"-f", "yuv4mpegpipe", "-s", "64x48"}, "", exitUsage, "carries its own size"},
	{[]string{"-s", "64x48", "-i", "-", "-s", "32x24"}, "", exitUsage, "meshpipe does not scale"},
	{[]string{"-s", "64x48", "-i", "-", "-f", "yuv4mpegpipe", "-pix_fmt", "rgb24"}, "", exitUsage, "yuv4mpegpipe output carries yuv420p or gray"},
	{[]string{"-s", "64x48", "-pix_fmt", "yuv422p"}, "", exitUsage, `pix_fmt "yuv422p" is not supported`},
	{[]string{"-s", "64x48", "-f", "avi"}, "", exitUsage, `-f "avi"`},
	{[]string{"-s", "64x48", "-r", "fast"}, "", exitUsage, `-r "fast"`},
	{[]string{"-s", "64x48", "-loglevel", "loud"}, "", exitUsage, "want quiet, error"},
}

// makeClip writes a 1-second 160x120 clip at 30000/1001 fps with a 440 Hz tone, H.264 and AAC.
func makeClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.mp4")
	ffmpegOut(t, nil, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30000/1001:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", p)
	return p
}

// audioMD5 is the MD5 of a file's audio packets, as they are stored.
func audioMD5(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(string(ffmpegOut(t, nil, "-i", path, "-map", "0:a", "-c", "copy", "-f", "md5", "-")))
}

func probeStreams(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// -i IN -o OUT: ffmpeg decodes and encodes, the frame rate is kept and the audio is copied.
func TestFileInFileOutKeepsAudio(t *testing.T) {
	clip := makeClip(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	code, stdout, stderr := run(t, nil, "-i", clip, "-o", out, "-detector", "full", "-render-workers", "2")
	if code != 0 || len(stdout) != 0 {
		t.Fatalf("exit %d, %d bytes on stdout: %s", code, len(stdout), stderr)
	}
	in, got := probeStreams(t, clip), probeStreams(t, out)
	t.Logf("in:  %q\nout: %q", in, got)
	wantVideo := "video,160,120,30000/1001,30"
	if !strings.Contains(got, wantVideo) || !strings.Contains(got, "audio") {
		t.Errorf("output streams %q; want video %q and an audio stream", got, wantVideo)
	}
	if a, b := audioMD5(t, clip), audioMD5(t, out); a != b {
		t.Errorf("audio packets differ: %s in, %s out", a, b)
	}
	// The meshes are drawn: the output's frames differ from the input's.
	fa := ffmpegOut(t, nil, "-i", clip, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	fb := ffmpegOut(t, nil, "-i", out, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	if bytes.Equal(fa, fb) {
		t.Error("the first frame came out unchanged")
	}
	// Without -y an existing OUT is refused before anything runs; with -y it is replaced.
	code, _, stderr = run(t, nil, "-i", clip, "-o", out)
	if code != exitError || !strings.Contains(stderr, "the file exists; add -y") {
		t.Errorf("existing OUT: exit %d, %s", code, stderr)
	}
	code, _, stderr = run(t, nil, "-i", clip, "-o", out, "-y", "-detector", "full", "-render-workers", "1", "-nostats")
	if code != 0 {
		t.Errorf("-y: exit %d, %s", code, stderr)
	}
}

// -i IN to stdout, and stdin to -o OUT.
func TestFileToPipeAndPipeToFile(t *testing.T) {
	clip := makeClip(t)
	code, y4m, stderr := run(t, nil, "-i", clip, "-alpha", "0", "-detector", "full", "-render-workers", "1")
	if code != 0 || !bytes.HasPrefix(y4m, []byte("YUV4MPEG2 W160 H120 F30000:1001")) {
		t.Fatalf("exit %d, %.50q: %s", code, y4m, stderr)
	}
	want := ffmpegOut(t, nil, "-i", clip, "-f", "yuv4mpegpipe", "-")
	if !bytes.Equal(afterHeader(t, y4m), afterHeader(t, want)) {
		t.Error("with -alpha 0, -i IN to stdout differs from ffmpeg's own decoding")
	}
	out := filepath.Join(t.TempDir(), "piped.mkv")
	code, _, stderr = run(t, y4m, "-o", out, "-detector", "full", "-render-workers", "1")
	if code != 0 {
		t.Fatalf("stdin to -o: exit %d: %s", code, stderr)
	}
	if got := probeStreams(t, out); !strings.Contains(got, "160,120,30000/1001,30") {
		t.Errorf("stdin to -o: %q", got)
	}
	code, _, stderr = run(t, nil, "-i", "/nonexistent/clip.mp4")
	if code != exitError || !strings.Contains(stderr, "/nonexistent/clip.mp4") {
		t.Errorf("missing IN: exit %d, %s", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, stderr := run(t, nil, "-h")
	if code != 0 || len(out) != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	for _, s := range []string{"Input and output", "People and meshes", "Performance", "Logging and information",
		"-s, -video_size WxH", "-pix_fmt FMT", "-loglevel, -v LEVEL", "-stats", "-nostats", "-y", "(default 2)"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	code, out, stderr = run(t, nil, "--version")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "meshpipe ") ||
		!strings.HasPrefix(lines[1], "ONNX Runtime 1.29.0") || !strings.Contains(lines[2], "OpenGL") || !strings.Contains(lines[2], "EGL") {
		t.Fatalf("-version: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("%s", out)
}

func TestLogLevelsAndStats(t *testing.T) {
	in := make([]byte, 3*32*24*3)
	args := []string{"-s", "32x24", "-detector", "full", "-render-workers", "1"}
	code, _, stderr := run(t, in, append(args, "-loglevel", "quiet")...)
	if code != 0 || stderr != "" {
		t.Errorf("quiet: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, in, append(args, "-loglevel", "quiet", "-stats")...)
	if code != 0 || !strings.Contains(stderr, "frame=     3 fps=") || !strings.Contains(stderr, "people/frame=1.00") ||
		!strings.Contains(stderr, "render        1       3") || !strings.Contains(stderr, "total") {
		t.Errorf("-stats: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = run(t, in, append(args, "-r", "25", "-stats", "-nostats")...)
	if code != 0 || strings.Contains(stderr, "frame=") {
		t.Errorf("-nostats: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = run(t, in, append(args, "-loglevel", "verbose")...)
	if code != 0 || !strings.Contains(stderr, "p95") || strings.Contains(stderr, "frame=") {
		t.Errorf("verbose: the summary without the status line; exit %d, stderr:\n%s", code, stderr)
	}
	// A rate gives the speed.
	if s := statusLine(progressOf(90, 150, 3), 25); s != "frame=    90 fps= 30.0 people/frame=1.67 speed=1.2x elapsed=3s" {
		t.Errorf("status line %q", s)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]rawvideo.Ratio{
		"25": {Num: 25, Den: 1}, "30000/1001": {Num: 30000, Den: 1001}, "29.97": {Num: 30000, Den: 1001},
		"23.976": {Num: 24000, Den: 1001}, "59.94": {Num: 60000, Den: 1001}, "12.5": {Num: 25, Den: 2},
		"ntsc": {Num: 30000, Den: 1001}, "pal": {Num: 25, Den: 1}, "film": {Num: 24, Den: 1}, "": {},
	} {
		if got, err := parseRate(in, "-r"); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "-5", "x", "1/0", "3/"} {
		if _, err := parseRate(bad, "-r"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStopStatus(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	if stopStatus(ctx) != exitError {
		t.Error("status before a stop")
	}
	cancel(stopSignal{2})
	if stopStatus(ctx) != 130 || stopName(ctx) != "SIGINT" {
		t.Errorf("after SIGINT: %d %s", stopStatus(ctx), stopName(ctx))
	}
}

func progressOf(frames, people int64, secs int) stages.Progress {
	return stages.Progress{Frames: frames, People: people, Elapsed: time.Duration(secs) * time.Second}
}
