package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshpipe/meshpipe/statsfile"
)

// report is a whole bench run: the machine, the set-up and every cell's result.
type report struct {
	title   string
	started time.Time
	elapsed time.Duration
	loadEnd string
	rounds  int
	cores   int // the machine's, for the CPU ceiling
	machine []string
	setup   []string
	notes   []string
	results []*result
}

// allStages are the timed stages, in graph order.
var allStages = []string{"read", "detect", "pose", "render", "write"}

// section returns the results of one section, in run order.
func (r *report) section(name string) []*result {
	var out []*result
	for _, res := range r.results {
		if res.section == name && res.err == nil {
			out = append(out, res)
		}
	}
	return out
}

// markdown renders the report: the header lines, then one table per section.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.title)
	for _, l := range r.machine {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	for _, l := range r.setup {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	when := r.started.UTC().Format("2006-01-02 15:04 UTC")
	if r.elapsed > 0 {
		when += fmt.Sprintf(", %s in all; load average %s at the end", r.elapsed.Round(time.Second), r.loadEnd)
	} else {
		when += "; stopped before the end"
	}
	fmt.Fprintf(&b, "- run: %s\n", when)
	for _, n := range r.notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	for _, res := range r.results {
		if res.err != nil {
			fmt.Fprintf(&b, "- failed: %s %s: %v\n", res.section, res.label, res.err)
		}
	}
	b.WriteString("\nCells read \"busy% p50/p95\": the share of the run the stage's workers were working (waiting for a core included), and its time per frame in ms at the median and 95th percentile (pose: per frame with people, a batch's time shared by its frames). fps is meshpipe's own: frames over the graph's run time, start-up left out. CPU ms/frame is meshpipe's user+system time (all threads) over the graph's run, start-up left out, per frame (cat: its whole process); unlike fps it hardly moves with other work on the machine.\n")

	if rows := r.section("pipe"); len(rows) > 0 {
		fmt.Fprintf(&b, "\n## 1. Pipe cost (%s rgb24, %.1f MiB a frame)\n\n", rows[0].size, rows[0].size.frameMiB())
		b.WriteString("fps here is the bench's: from the first frame out to the last, for every command alike; vs cat compares with cat through pipes of the same size.\n\n")
		b.WriteString("| command | pipes | fps | MiB/s | vs cat | CPU ms/frame | people/frame | wall s (with start-up) | peak RSS MiB |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, res := range rows {
			fps := res.fps()
			ratio := "1"
			if cat := catFPS(rows, res.pipeSize); res.cmd == nil && cat > 0 {
				ratio = fmt.Sprintf("%.3f", fps/cat)
			} else if res.cmd == nil {
				ratio = "-"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %.0f | %s | %.2f | %s | %.2f | %.0f |\n", res.label, pipeName(res.pipeSize), fpsCell(fps, res),
				fps*res.size.frameMiB(), ratio, ms(res.cpuPerFrame()), peoplePerFrame(res), res.Wall.Seconds(), kibToMiB(res.MaxRSS))
		}
	}

	if rows := r.section("sizes"); len(rows) > 0 {
		b.WriteString("\n## 2. Whole pipeline on vtest.avi\n\n")
		b.WriteString("| size | pose model | fps | people/frame | read | detect | pose | render | write | latency p50/p95 ms | CPU ms/frame | busiest |\n")
		b.WriteString("|---|---|---:|---:|---|---|---|---|---|---|---:|---|\n")
		for _, res := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |", res.size, res.model, fpsCell(res.fps(), res), peoplePerFrame(res))
			for _, s := range allStages {
				fmt.Fprintf(&b, " %s |", stageCell(res.Fig.Stage(s)))
			}
			t := res.Fig.Stage("total")
			fmt.Fprintf(&b, " %.0f/%.0f | %.1f | %s |\n", t.P50ms, t.P95ms, ms(res.cpuPerFrame()), busiest(res.Fig))
		}
	}

	if parts := r.cpuParts(); len(parts) > 0 {
		b.WriteString("\n### CPU per frame by part (stand-in pose model)\n\n")
		b.WriteString("By difference between three runs at each size: `-detector none -no-render` (read, the graph and write), then `-no-render` (+ detect, track and pose), then the whole (+ render). The ceiling is the fps meshpipe would reach on this machine's cores with nothing else running and every stage in parallel: cores x 1000 / total.\n\n")
		b.WriteString("| size | read + graph + write ms | detect + track + pose ms | render ms | total ms | render share | ceiling fps |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range parts {
			fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.0f |\n", p.size, p.io, p.detectPose, p.render, p.total,
				100*p.render/p.total, float64(r.cores)*1000/p.total)
		}
	}

	if rows := r.section("scaling"); len(rows) > 0 {
		fmt.Fprintf(&b, "\n## 3. Scaling (%s)\n\n", rows[0].size)
		b.WriteString("| setting | pose model | fps | people/frame | detect | pose | render | latency p50/p95 ms | CPU ms/frame | busiest |\n")
		b.WriteString("|---|---|---:|---:|---|---|---|---|---:|---|\n")
		for _, res := range rows {
			t := res.Fig.Stage("total")
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %.0f/%.0f | %.1f | %s |\n", res.label, res.model, fpsCell(res.fps(), res), peoplePerFrame(res),
				stageCell(res.Fig.Stage("detect")), stageCell(res.Fig.Stage("pose")), stageCell(res.Fig.Stage("render")),
				t.P50ms, t.P95ms, ms(res.cpuPerFrame()), busiest(res.Fig))
		}
	}

	if rows := r.section("tracking"); len(rows) > 0 {
		fmt.Fprintf(&b, "\n## Pose tracking (%s, %s)\n\n", rows[0].size, rows[0].model)
		b.WriteString("The person detector on a schedule and each person's region from their landmarks on the frame before (`-detect-every N`), against a region per detector box on every frame (`-detect-every 0`). vs bgsub: fps over the first row's, side by side in this run. The tracking rows split the pose stage's time (-stats_file's tracking): the person detector (runs, and ms a run), the regions placed for new or lost tracks (BlazePose's region detector and the landmark model there: count, and ms each), the landmark model on the tracked regions (ms a region, wall, with the regions of a frame shared by the pose workers) and placing the bodies (inverse kinematics, translation, skinning: ms a frame).\n\n")
		b.WriteString("| setting | fps | vs bgsub | people/frame | CPU ms/frame | pose | render | detector runs | detector ms/run | new regions | ms each | tracked regions | landmarks ms/region | placing ms/frame |\n")
		b.WriteString("|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		base := rows[0].fps()
		for _, res := range rows {
			fmt.Fprintf(&b, "| `%s` | %s | %.2fx | %s | %.1f | %s | %s |", res.label, fpsCell(res.fps(), res), res.fps()/base, peoplePerFrame(res),
				ms(res.cpuPerFrame()), stageCell(res.Fig.Stage("pose")), stageCell(res.Fig.Stage("render")))
			if t := res.Fig.Tracking; t != nil && t.Frames > 0 {
				per := func(v float64, n int) float64 { return v / float64(max(n, 1)) }
				fmt.Fprintf(&b, " %d | %.1f | %d | %.1f | %d | %.1f | %.2f |\n", t.DetectorRuns, per(t.DetectorMs, t.DetectorRuns), t.NewRegions,
					per(t.NewRegionsMs, t.NewRegions), t.Tracked, per(t.LandmarksMs, t.Tracked), per(t.PlacingMs, t.Frames))
			} else {
				b.WriteString(" every frame | | | | | | |\n")
			}
		}
	}

	if rows := r.section("memory"); len(rows) > 0 {
		fmt.Fprintf(&b, "\n## 4. Memory (%s, stand-in pose model)\n\n", rows[0].size)
		b.WriteString("Peak RSS is the kernel's ru_maxrss for the whole process (ONNX Runtime, Mesa and the Go heap included); frame buffers = in-flight x one frame.\n\n")
		b.WriteString("| setting | frames | frame buffers MiB | peak RSS MiB | fps |\n")
		b.WriteString("|---|---:|---:|---:|---:|\n")
		for _, res := range rows {
			fmt.Fprintf(&b, "| `%s` | %d | %.0f | %.0f | %s |\n", res.label, res.FramesOut,
				float64(res.Fig.InFlight)*res.size.frameMiB(), kibToMiB(res.MaxRSS), fpsCell(res.fps(), res))
		}
	}
	if rows := r.section("growth"); len(rows) > 0 {
		res := rows[0]
		fmt.Fprintf(&b, "\nRSS over a long run (`%s`, in flight %d), from /proc/PID/status when that many frames had come out:\n\n", res.label, res.Fig.InFlight)
		b.WriteString("| frames out | RSS MiB | peak RSS so far MiB |\n|---:|---:|---:|\n")
		for _, s := range res.RSS {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f |\n", s.Frames, kibToMiB(s.RSS), kibToMiB(s.HWM))
		}
		if v := growthVerdict(res); v != "" {
			fmt.Fprintf(&b, "\n%s\n", v)
		}
	}
	return b.String()
}

// cpuPart is one size's CPU per frame, split by part, in milliseconds.
type cpuPart struct {
	size                          size
	io, detectPose, render, total float64
}

// cpuParts splits each size's CPU per frame into parts, from the whole run ("sizes",
// stand-in) and the two "parts" runs of the same size.
func (r *report) cpuParts() []cpuPart {
	var out []cpuPart
	for _, whole := range r.section("sizes") {
		if whole.model != "stand-in" {
			continue
		}
		var none, noRender *result
		for _, p := range r.section("parts") {
			if p.size != whole.size {
				continue
			}
			if strings.Contains(p.label, "-detector none") {
				none = p
			} else {
				noRender = p
			}
		}
		if none == nil || noRender == nil {
			continue
		}
		a, b, c := ms(none.cpuPerFrame()), ms(noRender.cpuPerFrame()), ms(whole.cpuPerFrame())
		if c <= 0 {
			continue
		}
		out = append(out, cpuPart{size: whole.size, io: a, detectPose: b - a, render: c - b, total: c})
	}
	return out
}

// catFPS returns the steady fps of cat through pipes of the given size, or 0.
func catFPS(rows []*result, pipeSize int) float64 {
	for _, res := range rows {
		if res.cmd != nil && res.pipeSize == pipeSize {
			return res.fps()
		}
	}
	return 0
}

// pipeName names a pipe size: "64 KiB" for the system's default.
func pipeName(n int) string {
	if n == 0 {
		return "64 KiB (default)"
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// fpsCell formats fps, with the slowest run's in brackets when the cell ran more than once.
func fpsCell(fps float64, res *result) string {
	if res.Runs > 1 {
		return fmt.Sprintf("%.1f (%.1f)", fps, res.Slowest)
	}
	return fmt.Sprintf("%.1f", fps)
}

// growthVerdict says how RSS changed from the first sample to the last, and over the later
// half of the run: a leak grows with the frame count, while warm-up (allocator arenas, the Go
// heap finding its size) levels off.
func growthVerdict(res *result) string {
	if len(res.RSS) < 2 || res.RSS[0].RSS == 0 {
		return ""
	}
	a, z := res.RSS[0], res.RSS[len(res.RSS)-1]
	m := a // the sample nearest half-way through the run
	for _, s := range res.RSS {
		if s.Frames <= z.Frames/2 {
			m = s
		}
	}
	grew := func(from, to rssSample) bool {
		d := kibToMiB(to.RSS - from.RSS)
		return d > 8 && d > 0.03*kibToMiB(from.RSS)
	}
	v := fmt.Sprintf("From %d to %d frames out (%dx) RSS changed by %+.0f MiB (%+.1f%%), the peak by %+.0f MiB",
		a.Frames, z.Frames, z.Frames/a.Frames, kibToMiB(z.RSS-a.RSS), 100*float64(z.RSS-a.RSS)/float64(a.RSS), kibToMiB(z.HWM-a.HWM))
	if m != a {
		v += fmt.Sprintf("; over the later half (%d to %d) by %+.0f MiB", m.Frames, z.Frames, kibToMiB(z.RSS-m.RSS))
	}
	switch {
	case !grew(a, z):
		v += ": no growth."
	case m != a && !grew(m, z):
		v += ": it levels off after warm-up, no growth with the frame count."
	default:
		v += ": it grows with the frame count."
	}
	return v
}

// stageCell formats a stage as "busy% p50/p95"; "-" for a stage that saw no frame.
func stageCell(s statsfile.StageFigures) string {
	if s.Frames == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% %s/%s", 100*s.Busy, num(s.P50ms), num(s.P95ms))
}

// num formats milliseconds with two significant figures or more.
func num(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// busiest names the stage whose workers were busy the largest share of the run, with that
// share: the stage that limits the whole.
func busiest(f *statsfile.Figures) string {
	if f == nil {
		return ""
	}
	best := statsfile.StageFigures{}
	for _, s := range allStages {
		st := f.Stage(s)
		if st.Busy > best.Busy {
			best = st
		}
	}
	if best.Stage == "" {
		return "-"
	}
	return fmt.Sprintf("%s %.0f%%", best.Stage, 100*best.Busy)
}

func peoplePerFrame(res *result) string {
	if res.Fig == nil || res.Fig.Frames == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(res.Fig.People)/float64(res.Fig.Frames))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func kibToMiB(kib int64) float64 { return float64(kib) / 1024 }

// jsonResult is one cell in bench.json.
type jsonResult struct {
	Section   string             `json:"section"`
	Label     string             `json:"label"`
	Model     string             `json:"model,omitempty"`
	Size      string             `json:"size"`
	Frames    int                `json:"frames"`
	FPS       float64            `json:"fps"`
	SteadyFPS float64            `json:"steady_fps"`
	WallS     float64            `json:"wall_s"`
	CPUS      float64            `json:"cpu_s"`
	MaxRSSKiB int64              `json:"max_rss_kib"`
	RSS       []rssSample        `json:"rss,omitempty"`
	Meshpipe  *statsfile.Figures `json:"meshpipe,omitempty"`
	Error     string             `json:"error,omitempty"`
}

// write writes bench.md, bench.json and bench.png into dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	doc := struct {
		Machine []string     `json:"machine"`
		Setup   []string     `json:"setup"`
		Results []jsonResult `json:"results"`
	}{Machine: r.machine, Setup: r.setup}
	for _, res := range r.results {
		j := jsonResult{Section: res.section, Label: res.label, Model: res.model, Size: res.size.String(), Frames: res.FramesOut,
			FPS: res.fps(), SteadyFPS: res.steadyFPS(), WallS: res.Wall.Seconds(), CPUS: res.CPU.Seconds(), MaxRSSKiB: res.MaxRSS,
			RSS: res.RSS, Meshpipe: res.Fig}
		if res.err != nil {
			j.Error = res.err.Error()
		}
		doc.Results = append(doc.Results, j)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	png, err := r.chart()
	if err != nil {
		return fmt.Errorf("bench.png: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "bench.png"), png, 0o644)
}
