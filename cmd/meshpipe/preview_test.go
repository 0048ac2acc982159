package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

// noReads is a stdin that records whether anything read it.
type noReads struct{ reads int }

func (r *noReads) Read(p []byte) (int, error) {
	r.reads++
	return 0, nil
}

// With no display, -preview fails with a clear error before a single frame is read.
func TestRunPreviewWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	stdin := &noReads{}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"-s", "64x48", "-preview"}, stdin, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "-preview: no display to open a window on: DISPLAY is not set") {
		t.Errorf("exit %d, stderr %q; want exit %d and the missing DISPLAY named", code, stderr.String(), exitError)
	}
	if stdin.reads != 0 || stdout.Len() != 0 {
		t.Errorf("%d reads of stdin and %d bytes out before failing, want none", stdin.reads, stdout.Len())
	}
}

// Under a virtual X server, -preview shows frames in its window while stdout gets every frame,
// byte for byte what a run without the preview writes.
func TestRunPreview(t *testing.T) {
	testenv.Xvfb(t, 320, 240)
	const w, h, frames = 128, 96, 6
	in := make([]byte, frames*w*h*3)
	for i := range in {
		in[i] = byte(i/(w*3) + i%97) // rows and a little texture, different in every frame
	}
	args := []string{"-s", "128x96", "-detector", "full", "-render-workers", "2"}
	code, want, stderr := run(t, in, args...)
	if code != 0 {
		t.Fatalf("without -preview: exit %d: %s", code, stderr)
	}
	code, got, stderr := run(t, in, append(args, "-preview")...)
	if code != 0 {
		t.Fatalf("with -preview: exit %d: %s", code, stderr)
	}
	if len(got) != len(in) || !bytes.Equal(got, want) {
		t.Errorf("with -preview, %d bytes out (want %d), differing from the run without it", len(got), len(want))
	}
	m := regexp.MustCompile(`msg=preview frames_shown=(\d+) frames_skipped=(\d+) frames_written=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no preview summary in the log:\n%s", stderr)
	}
	shown, _ := strconv.Atoi(m[1])
	skipped, _ := strconv.Atoi(m[2])
	written, _ := strconv.Atoi(m[3])
	t.Logf("preview: %d frames shown, %d skipped, %d written", shown, skipped, written)
	if written != frames || shown < 1 || shown+skipped != frames {
		t.Errorf("preview shown %d, skipped %d, written %d; want %d written, all shown or skipped, at least one shown", shown, skipped, written, frames)
	}
}
