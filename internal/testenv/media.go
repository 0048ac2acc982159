package testenv

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // test photos
	_ "image/png"  // test stills
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// LoadImage decodes a JPEG or PNG file into an rgb24 frame with Seq 0.
func LoadImage(t testing.TB, path string) *rawvideo.Frame {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := img.Bounds()
	f, err := rawvideo.NewFrame(r.Dx(), r.Dy())
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			cr, cg, cb, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
			i := y*f.Stride + 3*x
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = byte(cr>>8), byte(cg>>8), byte(cb>>8)
		}
	}
	return f
}

// VideoSize returns a video's width and height, read with ffprobe.
func VideoSize(t testing.TB, path string) (w, h int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%dx%d", &w, &h); err != nil {
		t.Fatalf("ffprobe %s: size %q: %v", path, out, err)
	}
	return w, h
}

// VideoFrames decodes the first n frames of a video with ffmpeg as rgb24 and calls fn on each in
// order (Seq 0, 1, ...). The frame passed to fn is reused for the next call. It fails the test
// when ffmpeg fails or gives fewer than n frames.
func VideoFrames(t testing.TB, path string, n int, fn func(f *rawvideo.Frame)) {
	t.Helper()
	w, h := VideoSize(t, path)
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-frames:v", fmt.Sprint(n),
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	r, err := rawvideo.NewReader(stdout, w, h)
	if err != nil {
		t.Fatal(err)
	}
	f := &rawvideo.Frame{}
	got := 0
	for ; got < n; got++ {
		if err := r.Read(f); err != nil {
			if err != io.EOF {
				t.Errorf("decoding %s: %v", path, err)
			}
			break
		}
		fn(f)
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", path, err, stderr.String())
	}
	if got != n {
		t.Fatalf("%s: %d frames decoded, want %d", path, got, n)
	}
}
