package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mediaInfo is what ffprobe says of a file: each stream, with its frames counted.
type mediaInfo struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		SAR          string `json:"sample_aspect_ratio"`
		RFrameRate   string `json:"r_frame_rate"`
		AvgFrameRate string `json:"avg_frame_rate"`
		FieldOrder   string `json:"field_order"`
		NbReadFrames string `json:"nb_read_frames"`
		Duration     string `json:"duration"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

func probeMedia(t *testing.T, path string) mediaInfo {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,width,height,pix_fmt,sample_aspect_ratio,r_frame_rate,avg_frame_rate,field_order,nb_read_frames,duration:stream_side_data=rotation",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var m mediaInfo
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// video describes the first video stream as a viewer sees it: frames, rates, the display
// size (rotation and pixel aspect applied) and pix_fmt.
func (m mediaInfo) video() (frames, rate, avgRate, display, pixFmt string) {
	for _, s := range m.Streams {
		if s.CodecType != "video" {
			continue
		}
		w, h := float64(s.Width), float64(s.Height)
		if a, b, ok := strings.Cut(s.SAR, ":"); ok {
			n, _ := strconv.Atoi(a)
			d, _ := strconv.Atoi(b)
			if n > 0 && d > 0 {
				w = w * float64(n) / float64(d)
			}
		}
		for _, sd := range s.SideData {
			if sd.Rotation != nil && int(math.Abs(*sd.Rotation))%180 == 90 {
				w, h = h, w
			}
		}
		return s.NbReadFrames, s.RFrameRate, s.AvgFrameRate, fmt.Sprintf("%.0fx%.0f", w, h), s.PixFmt
	}
	return "", "", "", "", ""
}

// audio lists the audio streams' codecs.
func (m mediaInfo) audio() (codecs []string) {
	for _, s := range m.Streams {
		if s.CodecType == "audio" {
			codecs = append(codecs, s.CodecName)
		}
	}
	return codecs
}

// audioPackets returns the MD5 of audio stream i's packets, as stored, and the time its last
// packet ends, in seconds from the file's start (an encoder's priming packets lie before it).
func audioPackets(t *testing.T, path string, i int) (md5 string, duration float64) {
	t.Helper()
	md5 = strings.TrimSpace(string(ffmpegOut(t, nil, "-i", path, "-map", fmt.Sprintf("0:a:%d", i), "-c", "copy", "-f", "md5", "-")))
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", fmt.Sprintf("a:%d", i), "-show_entries",
		"packet=pts_time,duration_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	start, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	t0, _ := strconv.ParseFloat(strings.TrimSpace(string(start)), 64)
	end := 0.0
	for _, line := range strings.Fields(string(out)) {
		a, b, _ := strings.Cut(line, ",")
		pts, _ := strconv.ParseFloat(a, 64)
		d, _ := strconv.ParseFloat(b, 64)
		end = math.Max(end, pts+d)
	}
	return md5, end - t0
}

// rateOf reads "N/D".
func rateOf(s string) float64 {
	a, b, _ := strings.Cut(s, "/")
	n, _ := strconv.ParseFloat(a, 64)
	d, _ := strconv.ParseFloat(b, 64)
	if d == 0 {
		return 0
	}
	return n / d
}

// frameTimes lists the presentation times of a file's video frames, as decoded, in
// milliseconds from the first.
func frameTimes(t *testing.T, path string) []int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var ms []int
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.Trim(f, ","), 64)
		if err != nil {
			t.Fatalf("frame time %q", f)
		}
		ms = append(ms, int(math.Round(v*1000)))
	}
	for i := len(ms) - 1; i >= 0; i-- {
		ms[i] -= ms[0]
	}
	return ms
}

// playable decodes a whole file with ffmpeg and fails the test on any error it reports.
func playable(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("%s does not decode cleanly: %v: %s", filepath.Base(path), err, out)
	}
}

// The files people have, made here with ffmpeg, each through meshpipe -i IN -o OUT: OUT plays,
// with IN's frame count, frame rate, display size and audio streams (each copied, packet for
// packet, where OUT's container takes its codec, else in the container's usual codec, and as
// long as IN's), in 8-bit 4:2:0 where the size allows it; variable frame times are kept.
func TestFileModeTable(t *testing.T) {
	dir := t.TempDir()
	sine := func(f int, d string) []string {
		return []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=%s", f, d)}
	}
	src := func(size, rate, d string) []string {
		return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%s:rate=%s:duration=%s", size, rate, d)}
	}
	join := func(parts ...[]string) []string {
		var a []string
		for _, p := range parts {
			a = append(a, p...)
		}
		return a
	}
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast"}
	rows := []struct {
		name, in, out string
		make          [][]string // ffmpeg runs making IN, in order; "IN" stands for its path
		wantAudio     []string   // OUT's audio streams: "copy", or the codec re-encoded to
		wantPixFmt    string
		vfr           bool // compare every frame's time
	}{
		{name: "AVI with PCM audio to mp4", in: "pcm.avi", out: "pcm.mp4",
			make:      [][]string{join(src("160x120", "10", "1.2"), sine(440, "1.2"), []string{"-c:v", "mpeg4", "-c:a", "pcm_u8", "-ar", "8000"})},
			wantAudio: []string{"aac"}, wantPixFmt: "yuv420p"}, // mp4 takes no PCM: its usual aac
		{name: "MOV with a rotation tag", in: "rotated.mov", out: "rotated.mov",
			make: [][]string{
				join(src("96x64", "25", "0.6"), sine(440, "0.6"), x264, []string{"-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mov", "IN.tmp"}),
				{"-i", "IN.tmp", "-c", "copy", "-metadata:s:v:0", "rotate=90"}},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv420p"},
		{name: "MJPEG at an odd size", in: "odd.avi", out: "odd.mkv",
			make:      [][]string{join(src("65x49", "25", "0.6"), sine(440, "0.6"), []string{"-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-c:a", "pcm_s16le"})},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv444p"}, // libx264 takes no 4:2:0 at an odd size
		{name: "10-bit H.265", in: "hevc10.mp4", out: "hevc10.mp4",
			make: [][]string{join(src("96x64", "30000/1001", "0.6"), sine(440, "0.6"), []string{"-c:v", "libx265", "-pix_fmt", "yuv420p10le",
				"-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac"})},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv420p"},
		{name: "4:2:2 ProRes", in: "prores.mov", out: "prores.mov",
			make:      [][]string{join(src("96x64", "24", "0.5"), sine(440, "0.5"), []string{"-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le", "-c:a", "pcm_s16le"})},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv420p"},
		{name: "interlaced MPEG-2 in MPEG-TS", in: "interlaced.ts", out: "interlaced.mp4",
			make:      [][]string{join(src("96x64", "25", "0.6"), sine(440, "0.6"), []string{"-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-c:a", "mp2"})},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv420p"},
		{name: "variable frame rate WebM", in: "vfr.webm", out: "vfr.mkv",
			make: [][]string{join(src("96x64", "25", "0.8"), sine(440, "0.8"), []string{"-vf", "setpts='if(lt(N,8),N,2*N-8)/25/TB'",
				"-fps_mode", "vfr", "-c:v", "libvpx", "-b:v", "300k", "-c:a", "libopus"})},
			wantAudio: []string{"copy"}, wantPixFmt: "yuv420p", vfr: true},
		{name: "no audio", in: "silent.mp4", out: "silent.mkv",
			make:       [][]string{join(src("96x64", "25", "0.4"), x264, []string{"-pix_fmt", "yuv420p"})},
			wantPixFmt: "yuv420p"},
		{name: "two audio streams", in: "two.mkv", out: "two.mp4",
			make: [][]string{join(src("96x64", "25", "0.6"), sine(440, "0.6"), sine(880, "0.6"), x264,
				[]string{"-map", "0", "-map", "1", "-map", "2", "-pix_fmt", "yuv420p", "-c:a:0", "mp2", "-c:a:1", "pcm_s16le"})},
			wantAudio: []string{"copy", "aac"}, wantPixFmt: "yuv420p"}, // mp4 takes MPEG audio, no PCM
	}
	for _, r := range rows {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			in := filepath.Join(dir, r.in)
			for _, args := range r.make {
				args = append([]string{"-y"}, args...)
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "IN", in)
				}
				if !strings.HasSuffix(args[len(args)-1], ".tmp") {
					args = append(args, in)
				}
				ffmpegOut(t, nil, args...)
			}
			out := filepath.Join(t.TempDir(), r.out)
			code, stdout, stderr := run(t, nil, "-i", in, "-o", out, "-pose-model", "standin", "-detector", "full",
				"-render-workers", "1", "-nostats")
			if code != 0 || len(stdout) != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			playable(t, out)
			pi, po := probeMedia(t, in), probeMedia(t, out)
			// IN is what the row says.
			switch v := pi.Streams[0]; {
			case strings.Contains(r.name, "rotation") && (len(v.SideData) == 0 || v.SideData[0].Rotation == nil || *v.SideData[0].Rotation == 0):
				t.Fatalf("IN has no rotation: %+v", v)
			case strings.Contains(r.name, "interlaced") && v.FieldOrder != "tt":
				t.Fatalf("IN's field order is %q, not tt", v.FieldOrder)
			case r.vfr && fmt.Sprint(frameTimes(t, in)[:10]) != "[0 40 80 120 160 200 240 280 320 400]":
				t.Fatalf("IN's frame times %v do not vary", frameTimes(t, in))
			}
			inFrames, inRate, inAvg, inDisplay, inPixFmt := pi.video()
			frames, rate, avg, display, pixFmt := po.video()
			t.Logf("IN  %s: %s frames, %s (avg %s) fps, %s, %s", r.in, inFrames, inRate, inAvg, inDisplay, inPixFmt)
			t.Logf("OUT %s: %s frames, %s (avg %s) fps, %s, %s", r.out, frames, rate, avg, display, pixFmt)
			if frames != inFrames || rate != inRate || display != inDisplay || pixFmt != r.wantPixFmt {
				t.Errorf("OUT: %s frames, %s fps, %s, %s; want %s, %s, %s, %s", frames, rate, display, pixFmt, inFrames, inRate, inDisplay, r.wantPixFmt)
			}
			if a, b := rateOf(avg), rateOf(inAvg); math.Abs(a-b) > 0.02*b {
				t.Errorf("average rate %s, IN's %s", avg, inAvg)
			}
			if r.vfr {
				a, b := frameTimes(t, in), frameTimes(t, out)
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("frame times (ms):\nIN  %v\nOUT %v", a, b)
				}
			}
			inCodecs, codecs := pi.audio(), po.audio()
			if len(codecs) != len(r.wantAudio) || len(inCodecs) != len(codecs) {
				t.Fatalf("OUT's audio %v, IN's %v; want %v", codecs, inCodecs, r.wantAudio)
			}
			for i, want := range r.wantAudio {
				inMD5, inDur := audioPackets(t, in, i)
				md5, dur := audioPackets(t, out, i)
				t.Logf("audio %d: IN %s %.3f s, OUT %s %.3f s", i, inCodecs[i], inDur, codecs[i], dur)
				if want == "copy" && md5 != inMD5 || want != "copy" && codecs[i] != want {
					t.Errorf("audio %d: OUT's %s (MD5 %s), IN's %s (MD5 %s); want %s", i, codecs[i], md5, inCodecs[i], inMD5, want)
				}
				if math.Abs(dur-inDur) > 0.15 { // an AAC frame at 8 kHz: 0.128 s
					t.Errorf("audio %d lasts %.3f s, IN's %.3f s", i, dur, inDur)
				}
			}
			// The mesh is drawn: the first frame differs from IN's.
			a := ffmpegOut(t, nil, "-i", in, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
			b := ffmpegOut(t, nil, "-i", out, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
			if len(a) != len(b) || bytes.Equal(a, b) {
				t.Errorf("first frame: %d bytes in, %d out, equal: %v; want a mesh drawn", len(a), len(b), bytes.Equal(a, b))
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*partial*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// A pose model that fails on frame 6 of 12 (a bright frame): meshpipe exits 1 with an error
// naming the frame and saying that OUT holds frames 0..5, and OUT plays with those 6 frames
// and the audio up to their end; the -poses file has exactly 6 lines. A failure at frame 0 leaves no OUT.
// Nothing else is left beside OUT.
func TestFileModeFailureHalfWay(t *testing.T) {
	model := faultModel(t, "bright-fails")
	dir := t.TempDir()
	for _, c := range []struct{ bright, frames int }{{6, 12}, {0, 4}} {
		const w, h = 64, 48
		var raw bytes.Buffer
		for i := 0; i < c.frames; i++ {
			v := byte(20 + 4*i)
			if i == c.bright {
				v = 235
			}
			raw.Write(bytes.Repeat([]byte{v}, w*h*3))
		}
		in := filepath.Join(dir, fmt.Sprintf("bright%d.mp4", c.bright))
		ffmpegOut(t, raw.Bytes(), "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-r", "10", "-i", "-",
			"-f", "lavfi", "-i", "sine=duration=1.2", "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-y", in)
		outDir := t.TempDir()
		out := filepath.Join(outDir, "out.mp4")
		poses := filepath.Join(outDir, "poses.jsonl")
		code, _, stderr := run(t, nil, "-i", in, "-o", out, "-poses", poses, "-model", model, "-detector", "full", "-batch", "1",
			"-device", "cpu", "-render-workers", "1", "-nostats")
		k := c.bright
		wantErr := fmt.Sprintf("pose: frame %d: ", k)
		wantNote := fmt.Sprintf("(%d frames written before it); %s holds the %d frames before it (0..%d)", k, out, k, k-1)
		if k == 0 {
			wantNote = fmt.Sprintf("(0 frames written before it); %s was not written: no frame", out)
		}
		if code != exitError || !strings.Contains(stderr, wantErr) || !strings.Contains(stderr, wantNote) {
			t.Fatalf("bright frame %d: exit %d, stderr:\n%s\nwant exit 1, %q and %q", k, code, stderr, wantErr, wantNote)
		}
		lines := 0
		if b, err := os.ReadFile(poses); err == nil {
			lines = bytes.Count(b, []byte("\n"))
		}
		if lines != k {
			t.Errorf("bright frame %d: %d lines of poses, want one per frame written: %d", k, lines, k)
		}
		left, _ := os.ReadDir(outDir)
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		if k == 0 {
			if strings.Join(names, " ") != "poses.jsonl" {
				t.Errorf("failure at frame 0: %v beside OUT, want only poses.jsonl", names)
			}
			continue
		}
		if strings.Join(names, " ") != "out.mp4 poses.jsonl" {
			t.Errorf("failure at frame %d: %v, want out.mp4 and poses.jsonl", k, names)
		}
		playable(t, out)
		frames, rate, _, display, pixFmt := probeMedia(t, out).video()
		codecs := probeMedia(t, out).audio()
		_, audioEnd := audioPackets(t, out, 0)
		if frames != strconv.Itoa(k) || rate != "10/1" || display != "64x48" || pixFmt != "yuv420p" || strings.Join(codecs, ",") != "aac" ||
			math.Abs(audioEnd-float64(k)/10) > 0.05 {
			t.Errorf("OUT after a failure at frame %d: %s frames, %s fps, %s, %s, audio %v to %.3f s; want %d frames, 10/1, 64x48, yuv420p, aac to %.1f s",
				k, frames, rate, display, pixFmt, codecs, audioEnd, k, float64(k)/10)
		}
	}
}

// An existing OUT without -y is refused before anything runs: OUT keeps its bytes and no
// decoder, model or encoder starts. With -y it is replaced, only once the run has ended well.
func TestFileModeExistingOut(t *testing.T) {
	clip := makeClip(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	os.WriteFile(out, []byte("keep me"), 0o644)
	code, _, stderr := run(t, nil, "-i", clip, "-o", out, "-pose-model", "standin")
	b, _ := os.ReadFile(out)
	if code != exitError || !strings.Contains(stderr, "-o "+out+": the file exists; add -y to overwrite it") ||
		string(b) != "keep me" || strings.Contains(stderr, "pose_model=") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("existing OUT: exit %d, OUT %q, stderr:\n%s\nwant exit 1, one line, OUT untouched", code, b, stderr)
	}
	code, _, stderr = run(t, nil, "-i", clip, "-o", out, "-y", "-pose-model", "standin", "-detector", "full", "-render-workers", "1", "-nostats")
	if code != 0 {
		t.Fatalf("-y: exit %d: %s", code, stderr)
	}
	playable(t, out)
}

// Inputs without a frame are said to be empty, in one line, with exit status 3; files before
// any model is loaded.
func TestEmptyInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	audioOnly := filepath.Join(dir, "audio.m4a")
	ffmpegOut(t, nil, "-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac", "-y", audioOnly)
	noFrames := filepath.Join(dir, "noframes.y4m") // a video stream, and no frame in it
	os.WriteFile(noFrames, []byte("YUV4MPEG2 W64 H48 F25:1 Ip C420jpeg\n"), 0o644)
	out := filepath.Join(dir, "out.mp4")
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-i", empty, "-o", out}, "", "-i " + empty + ": the file is empty (0 bytes)"},
		{[]string{"-i", audioOnly, "-o", out}, "", "-i " + audioOnly + ": no video stream in the file"},
		{[]string{"-i", noFrames}, "", "-i " + noFrames + ": ffmpeg decodes no video frame from the file"},
		{nil, "", "stdin is empty: no frame came (did the command before the | fail?)"},
		{[]string{"-s", "64x48", "-o", out}, "", "stdin is empty"},
		{nil, "YUV4MPEG2 W64 H48 F25:1\n", "stdin holds a yuv4mpegpipe header and no frame"},
	} {
		code, stdout, stderr := run(t, []byte(c.stdin), append(c.args, "-pose-model", "standin", "-render-workers", "1")...)
		// One line: for stdin, what the models' loading logged meanwhile is dropped.
		if code != exitEmpty || len(stdout) != 0 || !strings.HasPrefix(stderr, "meshpipe: "+c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, %d bytes out, stderr:\n%s\nwant exit %d and one line %q", c.args, code, len(stdout), stderr, exitEmpty, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%q: OUT was written", c.args)
		}
	}
}

// Flags of file mode that cannot work are refused before anything runs; a container that
// takes neither the audio nor what -c:a asks, or an IN ffprobe cannot read, before the first
// frame; nothing is left in OUT's folder.
func TestFileModeFlagErrors(t *testing.T) {
	clip := makeClip(t) // H.264 and AAC
	garbage := filepath.Join(t.TempDir(), "garbage.mp4")
	os.WriteFile(garbage, []byte("not a video\n"), 0o644)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-i", clip, "-f", "yuv4mpegpipe", "-o", filepath.Join(dir, "a.mp4")}, exitUsage, "the container comes from the name"},
		{[]string{"-i", clip, "-c:a", "aac"}, exitUsage, "-c:a aac: only -o OUT has audio"},
		{[]string{"-pix_fmt", "rgb24", "-i", clip, "-o", filepath.Join(dir, "a.mp4")}, exitUsage, "give OUT's pix_fmt after -i"},
		{[]string{"-i", clip, "-o", filepath.Join(dir, "a.mp4"), "-c:a", "nosuchcodec"}, exitError, "ffmpeg cannot write it"},
		{[]string{"-i", clip, "-o", filepath.Join(dir, "a.wav2")}, exitError, "ffmpeg cannot write it"},
		{[]string{"-i", clip, "-o", filepath.Join(dir, "a.webm"), "-c:a", "copy"}, exitError, "Only VP8 or VP9 or AV1 video and Vorbis or Opus audio"},
		{[]string{"-i", clip, "-o", filepath.Join(dir, "nodir", "a.mp4")}, exitError, "no such file or directory"},
		{[]string{"-i", garbage, "-o", filepath.Join(dir, "a.mp4")}, exitError, "-i " + garbage + ": ffprobe cannot read it: moov atom not found"},
	} {
		code, _, stderr := run(t, nil, append(c.args, "-pose-model", "standin", "-render-workers", "1")...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("%q: left %v", c.args, left)
		}
	}
	// -an leaves the audio out; -c:a names the encoder.
	for _, c := range []struct {
		args []string
		want string
	}{{[]string{"-an"}, ""}, {[]string{"-c:a", "libopus"}, "opus"}, {[]string{"-acodec", "copy"}, "aac"}} {
		out := filepath.Join(dir, "audio.mkv")
		code, _, stderr := run(t, nil, append([]string{"-i", clip, "-o", out, "-y", "-pose-model", "standin", "-detector", "none", "-nostats"}, c.args...)...)
		codecs := probeMedia(t, out).audio()
		if code != 0 || strings.Join(codecs, ",") != c.want {
			t.Errorf("%q: exit %d, audio %v, want %q: %s", c.args, code, codecs, c.want, stderr)
		}
	}
}

// failingWriter accepts n writes, then fails.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, io.ErrClosedPipe
	}
	f.n--
	return len(p), nil
}

// When writing a frame fails, the -poses file has a line for each frame written before it,
// not one more.
func TestPosesOneLinePerFrameWritten(t *testing.T) {
	poses := filepath.Join(t.TempDir(), "poses.jsonl")
	in := make([]byte, 6*32*24*3)
	var stderr bytes.Buffer
	code := Run(t.Context(), []string{"-s", "32x24", "-detector", "full", "-pose-model", "standin", "-render-workers", "1", "-poses", poses},
		bytes.NewReader(in), &failingWriter{n: 3}, &stderr)
	b, _ := os.ReadFile(poses)
	if code != exitError || !strings.Contains(stderr.String(), "write: frame 3") || bytes.Count(b, []byte("\n")) != 3 {
		t.Errorf("exit %d, %d lines of poses; want exit 1, the write of frame 3 failing and 3 lines:\n%s", code, bytes.Count(b, []byte("\n")), stderr.String())
	}
}

// -preview with a display nobody answers on fails in one sentence, before anything loads.
func TestPreviewBadDisplay(t *testing.T) {
	for _, c := range []struct{ display, want string }{
		{":87", "meshpipe: -preview: no X server answers on display :87 (run under an X server, e.g. with xvfb-run, or without -preview)\n"},
		{"nonsense", "meshpipe: -preview: DISPLAY=\"nonsense\" is not an X display name such as :0 (run under an X server, e.g. with xvfb-run, or without -preview)\n"},
	} {
		if _, err := os.Stat("/tmp/.X11-unix/X87"); err == nil && c.display == ":87" {
			t.Skip("an X server runs on :87")
		}
		t.Setenv("DISPLAY", c.display)
		code, _, stderr := run(t, notEmpty, "-s", "64x48", "-preview")
		if code != exitError || stderr != c.want {
			t.Errorf("DISPLAY=%s: exit %d, stderr %q; want exit 1 and %q", c.display, code, stderr, c.want)
		}
	}
}
