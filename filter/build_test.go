package filter

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

func build(t testing.TB, mod func(*Options)) *Core {
	t.Helper()
	o := DefaultOptions()
	o.ORTLib = testenv.ORTLibrary(t)
	if mod != nil {
		mod(&o)
	}
	f, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// Two Cores in one process keep their own state: run side by side, frame by frame, each
// gives exactly what one Core alone gives, and people are drawn.
func TestBuildTwoInstances(t *testing.T) {
	path := testenv.Sample(t, "vtest.avi")
	const n = 30
	var frames [][]byte
	var w, h int
	testenv.VideoFrames(t, path, n, func(f *rawvideo.Frame) {
		frames = append(frames, append([]byte(nil), f.Pix...))
		w, h = f.Width, f.Height
	})
	run := func(fs ...*Core) [][][]byte {
		out := make([][][]byte, len(fs))
		for k, pix := range frames {
			for i, f := range fs {
				fr := &rawvideo.Frame{Seq: int64(k), Width: w, Height: h, Stride: 3 * w, Pix: append([]byte(nil), pix...)}
				if _, err := f.Apply(fr); err != nil {
					t.Fatalf("filter %d: %v", i, err)
				}
				out[i] = append(out[i], fr.Pix)
			}
		}
		return out
	}
	alone := run(build(t, nil))[0]
	pair := run(build(t, nil), build(t, nil))
	drawn := 0
	for k := range frames {
		if !bytes.Equal(alone[k], frames[k]) {
			drawn++
		}
		for i := range pair {
			if !bytes.Equal(pair[i][k], alone[k]) {
				t.Fatalf("frame %d: filter %d of two differs from a filter alone", k, i)
			}
		}
	}
	if drawn < n/2 {
		t.Errorf("people drawn on %d of %d frames; want at least half", drawn, n)
	}
	t.Logf("%d of %d frames drawn on", drawn, n)
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.onnx")
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"model", func(o *Options) { o.Model = missing }, missing},
		{"detector file", func(o *Options) { o.Detector = missing }, "detector: model " + missing},
		{"detector", func(o *Options) { o.Detector = "hog" }, `detector "hog"`},
		{"body", func(o *Options) { o.Body = filepath.Join(dir, "smpl.npz") }, "body file: stat " + filepath.Join(dir, "smpl.npz")},
		{"alpha", func(o *Options) { o.Alpha = 2 }, "alpha 2"},
		// MESHPIPE_ORT_LIB names a missing file (set below): the search stops there.
		{"ort", func(o *Options) { o.ORTLib = ""; o.ORTSearchDir = dir }, "ONNX Runtime library not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.ORTLib = testenv.ORTLibrary(t)
			t.Setenv("MESHPIPE_ORT_LIB", filepath.Join(dir, "libonnxruntime.so.1"))
			tc.mod(&o)
			f, err := Build(o)
			if err == nil {
				f.Close()
				t.Fatal("Build succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// A body file that exists is noted, and the mannequin is drawn.
func TestBuildBodyNote(t *testing.T) {
	body := filepath.Join(t.TempDir(), "smpl.npz")
	if err := os.WriteFile(body, []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := build(t, func(o *Options) { o.Body = body })
	if notes := f.Notes(); len(notes) != 1 || !strings.Contains(notes[0], body) || !strings.Contains(notes[0], "mannequin") {
		t.Errorf("notes %q, want one naming %s and the mannequin", notes, body)
	}
	if d := f.String(); !strings.Contains(d, "onnxruntime") || !strings.Contains(d, "renderer") {
		t.Errorf("description %q", d)
	}
}

// replay is a Detector that gives frame k the detections recorded for frame k mod len(dets).
type replay struct{ dets [][]human.Detection }

func (r replay) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	return append([]human.Detection(nil), r.dets[int(f.Seq)%len(r.dets)]...), nil
}

// BenchmarkApply times the one-frame core (stand-in pose model, mannequin, GL) on frames 40-79
// of vtest.avi, with the people the background subtractor finds there, posed by one or by two
// goroutines.
func BenchmarkApply(b *testing.B) {
	path := testenv.Sample(b, "vtest.avi")
	var frames []*rawvideo.Frame
	var dets [][]human.Detection
	bg := models.NewBackgroundSubtractor()
	testenv.VideoFrames(b, path, 80, func(f *rawvideo.Frame) {
		d, err := bg.Detect(f)
		if err != nil {
			b.Fatal(err)
		}
		if f.Seq >= 40 {
			c := &rawvideo.Frame{}
			c.CopyFrom(f)
			frames = append(frames, c)
			dets = append(dets, d)
		}
	})
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("pose_workers=%d", workers), func(b *testing.B) {
			f := build(b, func(o *Options) { o.PoseWorkers = workers })
			f.p.Detector = replay{dets}
			fr := &rawvideo.Frame{}
			people, k := 0, 0
			for b.Loop() {
				fr.CopyFrom(frames[k%len(frames)])
				fr.Seq = int64(k)
				n, err := f.Apply(fr)
				if err != nil {
					b.Fatal(err)
				}
				people += n
				k++
			}
			b.ReportMetric(float64(people)/float64(k), "people/frame")
			b.ReportMetric(float64(k)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
