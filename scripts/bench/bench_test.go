package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/statsfile"
)

func TestPingPong(t *testing.T) {
	var got []int
	for i := 0; i < 10; i++ {
		got = append(got, pingPong(i, 4))
	}
	want := []int{0, 1, 2, 3, 2, 1, 0, 1, 2, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pingPong over 4 frames: %v, want %v", got, want)
		}
	}
	if pingPong(5, 1) != 0 {
		t.Error("one frame")
	}
}

func TestParseSize(t *testing.T) {
	if s, err := parseSize("1280x720"); err != nil || s != (size{1280, 720}) {
		t.Errorf("1280x720: %v %v", s, err)
	}
	for _, bad := range []string{"", "1280", "0x720", "641x360", "axb", "-2x4"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestProcField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	os.WriteFile(path, []byte("Name:\tmeshpipe\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n"), 0o644)
	if got := procField(path, "VmRSS"); got != 65432 {
		t.Errorf("VmRSS %d", got)
	}
	if got := procField(path, "VmHWM"); got != 123456 {
		t.Errorf("VmHWM %d", got)
	}
	if got := procField(path, "VmSwap"); got != 0 {
		t.Errorf("missing field: %d", got)
	}
}

// fakeReport is a report of every section with made-up figures.
func fakeReport() *report {
	hd := size{1280, 720}
	fig := func(fps float64, busy ...float64) *statsfile.Figures {
		f := &statsfile.Figures{Frames: 100, People: 250, FPS: fps, InFlight: 16}
		for i, s := range append(allStages, "total") {
			st := statsfile.StageFigures{Stage: s, Frames: 100, P50ms: 2, P95ms: 5}
			if i < len(busy) {
				st.Busy = busy[i]
			}
			f.Stages = append(f.Stages, st)
		}
		return f
	}
	r := &report{title: "test bench", started: time.Unix(0, 0), elapsed: time.Minute, loadEnd: "1.0",
		machine: []string{"machine: 2 cores", "OpenGL: test", "ONNX Runtime 1.29.0"}}
	add := func(section, label, model string, sz size, res result) {
		res.cell = cell{section: section, label: label, model: model, size: sz, frames: 100}
		res.FramesOut = 100
		r.results = append(r.results, &res)
	}
	add("pipe", "cat", "", hd, result{Steady: 99 * 5 * time.Millisecond, MaxRSS: 4096})
	r.results[0].cmd = []string{"cat"}
	add("pipe", "meshpipe -no-render", "stand-in", hd, result{Steady: 99 * 20 * time.Millisecond, Fig: fig(50, 0.1, 0.9)})
	add("sizes", "640x360", "stand-in", size{640, 360}, result{Fig: fig(40, 0.1, 0.2, 0.3, 0.95, 0.05)})
	add("sizes", "640x360", "HMR2-small", size{640, 360}, result{Fig: fig(8, 0.1, 0.2, 0.99, 0.3, 0.05)})
	r.cores = 2
	r.results[2].Fig.CPUSeconds = 2 // 20 ms a frame
	add("parts", "-detector none -no-render", "stand-in", size{640, 360}, result{Fig: fig(200)})
	r.results[len(r.results)-1].Fig.CPUSeconds = 0.2
	add("parts", "-no-render", "stand-in", size{640, 360}, result{Fig: fig(100)})
	r.results[len(r.results)-1].Fig.CPUSeconds = 0.7
	add("scaling", "-render-workers 1", "stand-in", hd, result{Fig: fig(30, 0, 0, 0, 0.9)})
	add("memory", "-in-flight 4", "stand-in", hd, result{Fig: fig(30), MaxRSS: 300 << 10})
	add("growth", "-in-flight 0 (default)", "stand-in", hd, result{Fig: fig(30),
		RSS: []rssSample{{Frames: 100, RSS: 300 << 10, HWM: 310 << 10}, {Frames: 1000, RSS: 301 << 10, HWM: 311 << 10}}})
	return r
}

func TestMarkdown(t *testing.T) {
	md := fakeReport().markdown()
	for _, want := range []string{
		"# test bench", "- machine: 2 cores",
		"| `cat` | 64 KiB (default) | 200.0 | 527 | 1 |", // 99 frames in 0.495 s
		"| `meshpipe -no-render` | 64 KiB (default) | 50.0 | 132 | 0.250 |",
		"| 640x360 | HMR2-small | 8.0 | 2.5 | 10% 2.0/5.0 | 20% 2.0/5.0 | 99% 2.0/5.0 |",
		"pose 99%", "render 95%",
		"| 640x360 | 2.0 | 5.0 | 13.0 | 20.0 | 65% | 100 |", // CPU parts by difference
		"| `-in-flight 4` | 100 | 42 | 300 | 30.0 |",
		"| 1000 | 301 | 311 |",
		"From 100 to 1000 frames out (10x) RSS changed by +1 MiB (+0.3%), the peak by +1 MiB: no growth.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestGrowthVerdict(t *testing.T) {
	res := func(rss ...int64) *result {
		r := &result{}
		for i, v := range rss {
			r.RSS = append(r.RSS, rssSample{Frames: []int{100, 200, 500, 1000}[i], RSS: v << 10, HWM: v << 10})
		}
		return r
	}
	for _, c := range []struct {
		rss  []int64
		want string
	}{
		{[]int64{300, 301, 299, 302}, ": no growth."},
		{[]int64{300, 305, 335, 337}, "over the later half (500 to 1000) by +2 MiB: it levels off"},
		{[]int64{300, 320, 360, 420}, ": it grows with the frame count."},
	} {
		if got := growthVerdict(res(c.rss...)); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q in it", c.rss, got, c.want)
		}
	}
}

func TestBest(t *testing.T) {
	mk := func(fps float64) *result {
		return &result{cell: cell{section: "sizes"}, Fig: &statsfile.Figures{FPS: fps}}
	}
	got := best([][]*result{{mk(10), mk(30), mk(20)}})
	if len(got) != 1 || got[0].fps() != 30 || got[0].Slowest != 10 || got[0].Runs != 3 {
		t.Fatalf("best of 10, 30, 20: %+v", got[0])
	}
	if fpsCell(got[0].fps(), got[0]) != "30.0 (10.0)" {
		t.Errorf("fps cell %q", fpsCell(got[0].fps(), got[0]))
	}
}

func TestChart(t *testing.T) {
	b, err := fakeReport().chart()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != chartWidth || h < 300 {
		t.Errorf("chart %dx%d", w, h)
	}
	// Some pixel of the chart is a bar's blue.
	found := false
	for y := 0; y < img.Bounds().Dy() && !found; y++ {
		for x := 0; x < chartWidth; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == uint32(barBlue.R) && g>>8 == uint32(barBlue.G) && bl>>8 == uint32(barBlue.B) {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no bar drawn")
	}
}

func TestReportWrite(t *testing.T) {
	dir := t.TempDir()
	if err := fakeReport().write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bench.md", "bench.json", "bench.png"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
