package segment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		frames, seg, warm int
		want              string
	}{
		{0, 10, 3, "[0,0) w0 last"},
		{5, 10, 3, "[0,5) w0 last"},
		{14, 10, 3, "[0,14) w0 last"},
		{15, 10, 3, "[0,7) w0 | [7,15) w3 last"},
		{60, 20, 5, "[0,20) w0 | [20,40) w5 | [40,60) w5 last"},
		{61, 20, 30, "[0,20) w0 | [20,40) w20 | [40,61) w30 last"},
		{795, 300, 16, "[0,265) w0 | [265,530) w16 | [530,795) w16 last"},
	} {
		rs, err := Plan(c.frames, c.seg, c.warm)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		next := 0
		for i, r := range rs {
			if r.Index != i || r.Start != next || r.End < r.Start || r.Start-r.Warmup < 0 {
				t.Errorf("Plan(%d, %d, %d): segment %d is %+v", c.frames, c.seg, c.warm, i, r)
			}
			next = r.End
			s := fmt.Sprintf("[%d,%d) w%d", r.Start, r.End, r.Warmup)
			if r.Last {
				s += " last"
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, " | "); got != c.want {
			t.Errorf("Plan(%d, %d, %d) = %s, want %s", c.frames, c.seg, c.warm, got, c.want)
		}
		if next != c.frames {
			t.Errorf("Plan(%d, %d, %d) covers %d frames", c.frames, c.seg, c.warm, next)
		}
	}
	for _, bad := range [][3]int{{-1, 10, 0}, {10, 0, 0}, {10, 5, -1}} {
		if _, err := Plan(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Plan%v: no error", bad)
		}
	}
}

func TestSeekTime(t *testing.T) {
	for _, c := range []struct {
		p    Probe
		k    int
		want string
	}{
		{Probe{TimeBase: "1/10240", FrameTicks: 1024}, 1, "0.100000"},
		{Probe{TimeBase: "1/10240", FrameTicks: 1024}, 95, "9.500000"},
		{Probe{TimeBase: "1/30000", FrameTicks: 1001}, 1, "0.033366"},                                  // 33366.67 us, rounded down
		{Probe{TimeBase: "1/90000", FirstPTS: 9000, FrameTicks: 3003, StartTime: 0.1}, 10, "0.333666"}, // (9000 + 30030)/90000 - 0.1
		{Probe{TimeBase: "1/25", FirstPTS: 0, FrameTicks: 1, StartTime: 1.5}, 2, "0.000000"},           // before the start: 0
	} {
		got, err := c.p.SeekTime(c.k)
		if err != nil || got != c.want {
			t.Errorf("%+v.SeekTime(%d) = %q, %v; want %q", c.p, c.k, got, err, c.want)
		}
	}
	if _, err := (Probe{TimeBase: "x"}).SeekTime(3); err == nil {
		t.Error("bad time base: no error")
	}
}

func TestSpacingIsRate(t *testing.T) {
	for _, c := range []struct {
		ticks    int64
		tb, rate string
		want     bool
	}{
		{1024, "1/10240", "10/1", true},
		{3003, "1/90000", "30000/1001", true},
		{1, "1/10", "10/1", true},
		{1, "1/25", "50/1", false}, // fields counted as frames: a decode would repeat each frame
		{2, "1/25", "25/1", false},
		{1, "1/25", "", false},
	} {
		if got := spacingIsRate(c.ticks, c.tb, c.rate); got != c.want {
			t.Errorf("spacingIsRate(%d, %s, %s) = %v", c.ticks, c.tb, c.rate, got)
		}
	}
}

func TestOptionFiles(t *testing.T) {
	got := optionFiles([]string{"-pose-model", "hmr2", "-model", "/m/hmr2.onnx", "--detector=../y.onnx", "-detector", "bgsub", "-body", "b.npz", "-alpha", "0.5"})
	want := []string{"/m/hmr2.onnx", "../y.onnx", "b.npz"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("optionFiles = %q, want %q", got, want)
	}
}

// clip makes a short clip from frames of vtest.avi: n frames at 384x288, 10 fps, with args
// choosing codec and container (and a sine as audio when audio is set).
func clip(t *testing.T, name string, from, n int, audio bool, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	a := []string{"-nostdin", "-v", "error", "-i", testenv.Sample(t, "vtest.avi")}
	if audio {
		a = append(a, "-f", "lavfi", "-i", "sine=f=440:d=30", "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-shortest")
	}
	a = append(a, "-vf", fmt.Sprintf("trim=start_frame=%d,setpts=PTS-STARTPTS,scale=384:288", from), "-frames:v", strconv.Itoa(n))
	a = append(a, args...)
	a = append(a, out)
	if b, err := exec.Command("ffmpeg", a...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

// decodeFrames decodes file's video with ffmpeg as YUV4MPEG2 in pixFmt and returns its frames.
func decodeFrames(t *testing.T, file string, pipe Pipe) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-i", file, "-map", "0:v:0"}, pipe.decoderArgs()...)...).Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	fr, err := newFrameReader(bytes.NewReader(out), pipe)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		f, err := fr.next(nil)
		if err != nil {
			break
		}
		frames = append(frames, f)
	}
	return frames
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-meshpipe")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// rotated returns a copy of file whose video stream says to turn it a quarter turn (as a
// phone's does).
func rotated(t *testing.T, file string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "turned"+filepath.Ext(file))
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-c", "copy", "-metadata:s:v:0", "rotate=90", out).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return out
}

// through420 writes file's frames as rgb24 through ffmpeg's format=yuv420p into a lossless
// file, the way the join encodes RGB frames, and returns it.
func through420(t *testing.T, file string, pipe Pipe) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref.mkv")
	sh := fmt.Sprintf("ffmpeg -v error -i %q -map 0:v:0 -f rawvideo -pix_fmt rgb24 - | ffmpeg -v error -f rawvideo -pix_fmt rgb24 -s %dx%d -i - -vf format=yuv420p -c:v ffv1 %q",
		file, pipe.Width, pipe.Height, out)
	if b, err := exec.Command("sh", "-c", sh).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", sh, err, b)
	}
	return out
}

// TestJoinEncodesAudioTheContainerRefuses: PCM audio cannot be copied into MP4; the join then
// encodes it with the container's usual encoder (AAC), as meshpipe -o does.
func TestJoinEncodesAudioTheContainerRefuses(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "camera.avi")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", testenv.Sample(t, "vtest.avi"), "-f", "lavfi", "-i", "sine=d=3",
		"-map", "0:v", "-map", "1:a", "-frames:v", "20", "-vf", "scale=192:144", "-c:v", "mpeg4", "-c:a", "pcm_s16le", "-shortest", in).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	ctx := context.Background()
	p, err := ProbeFile(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "seg")
	res, err := Run(ctx, Job{Input: in, Probe: p, Range: Range{End: p.Frames, Last: true}, Meshpipe: script(t, "exec cat"), Intermediate: Raw, Out: seg})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	n, err := Join(ctx, JoinJob{Input: in, Probe: p, Segments: []string{seg}, Frames: []int{res.Frames}, Intermediate: Raw, Output: out})
	if err != nil || n != 20 {
		t.Fatalf("join: %d frames, %v", n, err)
	}
	streams, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,pix_fmt", "-of", "csv=p=0", out).Output()
	if !strings.Contains(string(streams), "aac") || !strings.Contains(string(streams), "h264,yuv420p") {
		t.Errorf("output streams %q: want H.264 in yuv420p and the PCM audio as AAC", streams)
	}
}

// TestSegmentsJoinExactly cuts clips into segments, runs each through a stand-in for meshpipe
// that passes frames through unchanged (cat), joins them into a lossless file, and checks that
// the result holds exactly the input's frames, in order (RGB frames as the join's 4:2:0
// makes them): with seeking (constant-rate files) and without, for y4m and rgb24 pipes, raw
// and ffvhuff intermediates.
func TestSegmentsJoinExactly(t *testing.T) {
	cat := script(t, "exec cat")
	cases := []struct {
		name, file   string
		noSeek       bool
		intermediate string
		wantAudio    bool
	}{
		{"h264 mp4 with audio, seeking", clip(t, "a.mp4", 100, 47, true, "-c:v", "libx264", "-bf", "2", "-g", "12"), false, Raw, true},
		{"h264 mp4, decoding from the start", clip(t, "b.mp4", 100, 47, false, "-c:v", "libx264", "-bf", "2", "-g", "12"), true, FFVHuff, false},
		{"mpeg4 avi, seeking", clip(t, "c.avi", 300, 33, false, "-c:v", "mpeg4", "-q:v", "3", "-g", "10"), false, FFVHuff, false},
		{"yuv444p (rgb24 pipe)", clip(t, "d.mkv", 0, 25, false, "-c:v", "libx264", "-pix_fmt", "yuv444p"), false, Raw, false},
		{"odd size, turned a quarter (rgb24 pipe)", rotated(t, clip(t, "e.mp4", 0, 25, false, "-c:v", "libx264", "-pix_fmt", "yuv444p", "-s", "383x287")), false, Raw, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			p, err := ProbeFile(ctx, c.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.noSeek {
				p.Seekable = false
			} else if !p.Seekable {
				t.Fatalf("%s: not seekable: %+v", c.file, p)
			}
			if p.Audio != c.wantAudio {
				t.Errorf("probe audio %v", p.Audio)
			}
			if strings.Contains(c.name, "turned") && (p.Width != 287 || p.Height != 383) {
				t.Errorf("a 383x287 stream turned a quarter: probed %dx%d, want the upright 287x383", p.Width, p.Height)
			}
			want := decodeFrames(t, c.file, p.Pipe())
			if pp := p.Pipe(); !pp.Y4M && pp.Width%2 == 0 && pp.Height%2 == 0 {
				// RGB frames go to the encoder as 4:2:0 where the size allows, as meshpipe -o sends them.
				want = decodeFrames(t, through420(t, c.file, p.Pipe()), p.Pipe())
			}
			if len(want) != p.Frames {
				t.Fatalf("probe counts %d frames, ffmpeg decodes %d", p.Frames, len(want))
			}
			ranges, err := Plan(p.Frames, 10, 3)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var segs []string
			var counts, skips []int
			for _, r := range ranges {
				out := filepath.Join(dir, fmt.Sprintf("seg-%d", r.Index))
				res, err := Run(ctx, Job{Input: c.file, Probe: p, Range: r, Meshpipe: cat, Intermediate: c.intermediate, Out: out})
				if err != nil {
					t.Fatalf("%s: %v", r, err)
				}
				wantSkip := 0
				if c.intermediate == Raw {
					wantSkip = r.Warmup
				}
				if res.Frames != r.Len() || res.Skip != wantSkip || res.EOF != r.Last || res.Seeked != (r.Start-r.Warmup > 0 && !c.noSeek) {
					t.Errorf("%s: %+v", r, res)
				}
				segs, counts, skips = append(segs, out), append(counts, res.Frames), append(skips, res.Skip)
			}
			output := filepath.Join(dir, "out.mkv")
			n, err := Join(ctx, JoinJob{Input: c.file, Probe: p, Segments: segs, Frames: counts, Skips: skips, Intermediate: c.intermediate, Output: output, VideoCodec: "ffv1"})
			if err != nil {
				t.Fatal(err)
			}
			got := decodeFrames(t, output, p.Pipe())
			if n != len(want) || len(got) != len(want) {
				t.Fatalf("joined %d frames, output has %d, input %d", n, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("frame %d differs from the input's", i)
				}
			}
			streams, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", output).Output()
			if hasAudio := strings.Contains(string(streams), "audio"); hasAudio != c.wantAudio {
				t.Errorf("output streams %q, want audio %v", streams, c.wantAudio)
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*part*"))
			left2, _ := filepath.Glob(filepath.Join(dir, ".*part*"))
			if len(left)+len(left2) > 0 {
				t.Errorf("temporary files left: %q %q", left, left2)
			}
		})
	}
}

func TestProbeBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mp4")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a video "), 5000), 0o644)
	audioOnly := filepath.Join(dir, "tone.wav")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", audioOnly).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for file, want := range map[string]string{
		garbage:                        "Invalid data found when processing input",
		audioOnly:                      "no video stream",
		filepath.Join(dir, "none.mp4"): "no such file or directory",
	} {
		_, err := ProbeFile(context.Background(), file)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("ProbeFile(%s) = %v, want an *InputError naming the file and saying %q", filepath.Base(file), err, want)
		}
	}
}

// TestMeshpipeRefusesOptions: meshpipe's exit status 2, or status 1 naming a model file of
// the options before any frame, is an *OptionsError; other failures are not.
func TestMeshpipeRefusesOptions(t *testing.T) {
	in := clip(t, "a.avi", 0, 12, false, "-c:v", "mpeg4")
	p, err := ProbeFile(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r := Range{Start: 0, End: 12, Last: true}
	for _, c := range []struct {
		body    string
		options []string
		refused bool
	}{
		{"echo 'meshpipe: -alpha: want a number' >&2; exit 2", []string{"-alpha", "x"}, true},
		{"echo 'meshpipe: model /m/bad.onnx: input is images[1 3 416 416], want img[-1 3 256 256]' >&2; exit 1", []string{"-model", "/m/bad.onnx"}, true},
		{"echo 'meshpipe: render: frame 3: out of memory' >&2; exit 1", []string{"-model", "/m/bad.onnx"}, false},
	} {
		_, err := Run(context.Background(), Job{Input: in, Probe: p, Range: r, Meshpipe: script(t, c.body), Options: c.options,
			Intermediate: Raw, Out: filepath.Join(t.TempDir(), "seg")})
		var oe *OptionsError
		if err == nil || errors.As(err, &oe) != c.refused {
			t.Errorf("%q: %v (refused: want %v)", c.body, err, c.refused)
		}
		if !strings.Contains(fmt.Sprint(err), strings.Split(c.body, "'")[1]) {
			t.Errorf("%q: the error does not carry meshpipe's message: %v", c.body, err)
		}
	}
}

// TestCancelEndsChildren: when the segment's context ends, meshpipe (here a script that reads
// nothing and sleeps) and the children it started end too, and Run returns the context's error.
func TestCancelEndsChildren(t *testing.T) {
	in := clip(t, "a.avi", 0, 12, false, "-c:v", "mpeg4")
	p, err := ProbeFile(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	pids := filepath.Join(t.TempDir(), "pids")
	fake := script(t, fmt.Sprintf("sleep 300 & echo $! > %s.tmp; echo $$ >> %s.tmp; mv %s.tmp %s; wait", pids, pids, pids, pids))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Job{Input: in, Probe: p, Range: Range{End: 12, Last: true}, Meshpipe: fake, Intermediate: Raw, Out: filepath.Join(t.TempDir(), "seg")})
		done <- err
	}()
	var b []byte
	for deadline := time.Now().Add(20 * time.Second); len(b) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the fake meshpipe did not start")
		}
		b, _ = os.ReadFile(pids)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of the cancel")
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		if err := syscall.Kill(pid, 0); err == nil {
			if stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(stat), ") Z ") {
				t.Errorf("process %d (%s) still runs after the cancel", pid, stat)
			}
		}
	}
}

// TestSegmentPastTheEnd: a segment that starts after the stream's last frame (a frame count
// from the container that was too high) is empty, not a failure, also when meshpipe says its
// input held no frame (exit status 3).
func TestSegmentPastTheEnd(t *testing.T) {
	in := clip(t, "a.avi", 0, 12, false, "-c:v", "mpeg4")
	p, err := ProbeFile(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	noFrame := script(t, `n=$(wc -c); if [ "$n" -lt 1000 ]; then echo "meshpipe: stdin holds no frame" >&2; exit 3; fi; exit 1`)
	for _, seekable := range []bool{true, false} {
		p.Seekable = seekable
		out := filepath.Join(t.TempDir(), "seg")
		res, err := Run(context.Background(), Job{Input: in, Probe: p, Range: Range{Index: 3, Start: 30, End: 40, Warmup: 4, Last: true},
			Meshpipe: noFrame, Intermediate: Raw, Out: out})
		if err != nil || res.Frames != 0 || !res.EOF {
			t.Errorf("seekable %v: %+v, %v; want an empty segment", seekable, res, err)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("seekable %v: no segment file: %v", seekable, err)
		}
	}
}
