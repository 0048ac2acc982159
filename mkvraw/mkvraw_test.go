package mkvraw

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ffmpeg runs ffmpeg with args on stdin in and returns its stdout.
func ffmpeg(t testing.TB, in []byte, args ...string) []byte {
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

// ffprobe runs ffprobe on stdin in and returns its stdout.
func ffprobe(t *testing.T, in []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("ffprobe", append([]string{"-v", "error"}, append(args, "-")...)...)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %q: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// A variable-rate source: 12 frames of 33x21 (odd sizes) whose gaps grow from frame 6 on.
var vfrSource = []string{"-f", "lavfi", "-i", "testsrc=size=33x21:rate=25:duration=0.48",
	"-vf", "setpts='if(lt(N,6),N,2*N-6)/25/TB'", "-fps_mode", "vfr"}

// mkv returns ffmpeg's Matroska stream of the source, in pix_fmt pf, as meshpipe asks for it.
func mkv(t testing.TB, src []string, pf string) []byte {
	args := append(append([]string{}, src...), "-c:v", "rawvideo", "-pix_fmt", pf, "-allow_raw_vfw", "1",
		"-write_crc32", "0", "-cluster_size_limit", "1", "-f", "matroska", "-")
	return ffmpeg(t, nil, args...)
}

// Split, then join with each frame's bytes inverted: ffmpeg reads back the inverted frames
// with the timestamps of the stream split, and the frames read equal ffmpeg's own rawvideo.
func TestSplitJoinRoundTrip(t *testing.T) {
	for _, c := range []struct {
		pf   string
		src  []string
		w, h int
		size int
	}{
		{"bgr24", vfrSource, 33, 21, 33 * 21 * 3},
		{"yuv420p", []string{"-f", "lavfi", "-i", "testsrc=size=64x48:rate=30000/1001:duration=0.4"}, 64, 48, 64 * 48 * 3 / 2},
	} {
		stream := mkv(t, c.src, c.pf)
		raw := ffmpeg(t, stream, "-i", "-", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", c.pf, "-")
		s, err := NewSplitter(bytes.NewReader(stream))
		if err != nil {
			t.Fatal(err)
		}
		tr := s.Track()
		if tr.Width != c.w || tr.Height != c.h || tr.FirstTime != 0 {
			t.Errorf("%s: track %+v, want %dx%d starting at 0", c.pf, tr, c.w, c.h)
		}
		if err := s.SetFrameSize(c.size); err != nil {
			t.Fatal(err)
		}
		frames, err := io.ReadAll(s)
		if err != nil || !bytes.Equal(frames, raw) {
			t.Fatalf("%s: %d bytes of frames (%v), ffmpeg decodes %d", c.pf, len(frames), err, len(raw))
		}
		var joined bytes.Buffer
		j := NewJoiner(&joined, s, c.size)
		inverted := make([]byte, len(frames))
		for i, b := range frames {
			inverted[i] = ^b
		}
		// Frame by frame, the last one in two writes.
		for k := 0; k < len(inverted); k += c.size {
			f := inverted[k : k+c.size]
			if k+c.size == len(inverted) {
				j.Write(f[:7])
				f = f[7:]
			}
			if _, err := j.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if joined.Len() != len(stream) {
			t.Errorf("%s: joined %d bytes, read %d", c.pf, joined.Len(), len(stream))
		}
		back := ffmpeg(t, joined.Bytes(), "-i", "-", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", c.pf, "-")
		if !bytes.Equal(back, inverted) {
			t.Errorf("%s: ffmpeg reads other frames back from the joined stream", c.pf)
		}
		times := "-show_entries frame=pts_time"
		a := ffprobe(t, stream, strings.Fields(times+" -of csv=p=0")...)
		b := ffprobe(t, joined.Bytes(), strings.Fields(times+" -of csv=p=0")...)
		if a != b || len(strings.Fields(a)) != len(raw)/c.size {
			t.Errorf("%s: frame times %q joined, %q read", c.pf, b, a)
		}
		if c.pf == "bgr24" && !strings.HasSuffix(a, "0.560000\n0.640000") {
			t.Errorf("the variable-rate source's frames are at %q, want the last two at 0.56 and 0.64", a)
		}
	}
}

// A run that stops after k frames: the joined stream ends after frame k-1, and ffmpeg reads
// those k frames without an error.
func TestJoinStoppedEarly(t *testing.T) {
	stream := mkv(t, vfrSource, "bgr24")
	s, err := NewSplitter(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	const size = 33 * 21 * 3
	if err := s.SetFrameSize(size); err != nil {
		t.Fatal(err)
	}
	frames, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	var joined bytes.Buffer
	j := NewJoiner(&joined, s, size)
	j.Write(frames[:5*size])
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ffprobe(t, joined.Bytes(), "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"); got != "5" {
		t.Errorf("ffprobe counts %q frames, want 5", got)
	}
	if end := j.End(); end != 200*time.Millisecond {
		t.Errorf("the 5 frames end at %v, want 200ms (frame 5's time)", end)
	}
	j.Write(frames[5*size:])
	if end := j.End(); end != 680*time.Millisecond {
		t.Errorf("all 12 frames end at %v, want 680ms (the last one's 640ms and 40ms a frame)", end)
	}
	// Writing beyond what was read is refused.
	s2, _ := NewSplitter(bytes.NewReader(stream))
	j2 := NewJoiner(io.Discard, s2, size)
	if _, err := j2.Write(make([]byte, 2*size)); err == nil || !strings.Contains(err.Error(), "frame 1 written before it was read") {
		t.Errorf("a frame not read: %v", err)
	}
}

// A start time other than 0 is read from the first block.
func TestFirstTime(t *testing.T) {
	stream := ffmpeg(t, nil, "-f", "lavfi", "-i", "testsrc=size=16x16:rate=10:duration=0.3", "-vf", "setpts=PTS+1.5/TB",
		"-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-copyts", "-f", "matroska", "-")
	s, err := NewSplitter(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if tr := s.Track(); tr.FirstTime != 1500*time.Millisecond || tr.DefaultDuration != 100*time.Millisecond || tr.CodecID != "V_UNCOMPRESSED" {
		t.Errorf("track %+v, want the first frame at 1.5 s, 100 ms a frame, V_UNCOMPRESSED", tr)
	}
}

// Streams that are empty, not Matroska, without video, truncated or with frames of the wrong
// size give errors that say so.
func TestBadStreams(t *testing.T) {
	if _, err := NewSplitter(bytes.NewReader(nil)); !errors.Is(err, ErrNoFrame) {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewSplitter(strings.NewReader("YUV4MPEG2 W2 H2\n")); err == nil || !strings.Contains(err.Error(), "does not start with an EBML header") {
		t.Errorf("y4m: %v", err)
	}
	noFrames := ffmpeg(t, nil, "-f", "lavfi", "-i", "testsrc=size=16x16:rate=10:duration=0.3", "-frames:v", "0",
		"-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "matroska", "-")
	if _, err := NewSplitter(bytes.NewReader(noFrames)); !errors.Is(err, ErrNoFrame) {
		t.Errorf("no frames: %v", err)
	}
	audio := ffmpeg(t, nil, "-f", "lavfi", "-i", "sine=duration=0.1", "-c:a", "pcm_s16le", "-f", "matroska", "-")
	if _, err := NewSplitter(bytes.NewReader(audio)); !errors.Is(err, ErrNoFrame) || !strings.Contains(err.Error(), "no video track") {
		t.Errorf("audio only: %v", err)
	}
	stream := mkv(t, vfrSource, "bgr24")
	for _, c := range []struct {
		data []byte
		size int
		want string
	}{
		{stream[:len(stream)-100], 33 * 21 * 3, "unexpected EOF"},
		{stream, 33 * 21 * 4, "frame 0: a block of 2079 bytes, want 2772 (a 33x21 frame)"},
	} {
		s, err := NewSplitter(bytes.NewReader(c.data))
		if err == nil {
			if err = s.SetFrameSize(c.size); err == nil {
				_, err = io.ReadAll(s)
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// A Splitter read on one goroutine and a Joiner written on another, frames in flight between
// them, as in meshpipe: the joined stream is the one split (run under -race by make test).
func TestSplitJoinConcurrent(t *testing.T) {
	stream := mkv(t, vfrSource, "bgr24")
	const size = 33 * 21 * 3
	s, err := NewSplitter(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetFrameSize(size); err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 4)
	go func() {
		defer close(frames)
		for {
			f := make([]byte, size)
			if _, err := io.ReadFull(s, f); err != nil {
				return
			}
			frames <- f
		}
	}()
	var joined bytes.Buffer
	j := NewJoiner(&joined, s, size)
	for f := range frames {
		if _, err := j.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(joined.Bytes(), stream) {
		t.Errorf("joined %d bytes, not the %d split", joined.Len(), len(stream))
	}
}

// Whatever the bytes, a Splitter returns frames or an error: no panic, no hang, and no
// allocation beyond what the stream holds.
func FuzzSplitter(f *testing.F) {
	f.Add(mkv(f, vfrSource, "bgr24")[:3000], 33*21*3)
	f.Add([]byte("\x1a\x45\xdf\xa3\x80\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"), 12)
	f.Add([]byte("\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01\x18\x53\x80\x67\xff\x1f\x43\xb6\x75\xff\xa3\x88\x81\x00\x00\x80\x01\x02\x03\x04"), 4)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		s, err := NewSplitter(bytes.NewReader(data))
		if err != nil {
			return
		}
		if size <= 0 || size > 1<<20 {
			size = 16
		}
		if s.SetFrameSize(size) != nil {
			return
		}
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
		}
	})
}
