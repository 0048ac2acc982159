// Command bench measures where meshpipe's time goes, side by side in one run, and prints a
// table (also written as markdown and as a PNG chart). `make bench` builds and runs it.
//
//	go run ./scripts/bench [-frames N] [-model PATH.onnx] [-device cpu|cuda] [-out DIR]
//
// It measures, on frames 0-99 of vtest.avi scaled to each size (played back and forth when a
// cell wants more frames), written into the command's stdin from a file and read back from
// its stdout by the bench itself:
//  1. pipe cost: cat against meshpipe with nothing found (-detector none -no-render: read,
//     graph and write only), with drawing off (-no-render) and whole, on 1280x720 rgb24, as
//     frames per second in steady state (first frame out to last) and a ratio to cat;
//  2. the whole pipeline at 640x360, 1280x720 and 1920x1080 with the built-in stand-in pose
//     model, with BlazePose (meshpipe's default, when set up) and with a random-weight HMR2 of
//     the real architecture (small by default):
//     frames per second and each stage's busy share and p50/p95 time per frame (meshpipe's
//     -stats_file);
//  3. scaling: render workers 1, 2, 4 and anti-aliasing off (stand-in); pose workers 1, 2 by
//     batch 1, 4, 16 (HMR2);
//  4. memory: peak RSS (the kernel's ru_maxrss) against -in-flight, and RSS after 10x more
//     frames (VmRSS and VmHWM from /proc/PID/status when the frames have come out).
//
// Its first lines name the machine: cores, CPU model, memory, load, the OpenGL renderer and
// the ONNX Runtime version and execution provider. Nothing fails on a timing: it is a
// benchmark, not a test. It exits 1 only when a command fails or writes the wrong number of
// frames, and says which.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// smallArch is the HMR2 the CPU bench uses by default: the real architecture (ViT backbone,
// transformer-decoder SMPL head) shrunk to about 5 M parameters, so that the pose stage does
// real model work at a few crops per second on two cores. Full size (ViT-H, 671 M parameters,
// about 124 GMAC a crop) takes seconds a crop there; the GPU script uses it.
var smallArch = []string{"--depth", "4", "--width", "256", "--heads", "4",
	"--head-depth", "2", "--head-width", "256", "--head-heads", "4", "--head-dim", "64", "--head-mlp", "512"}

// config is the bench's settings, from its flags.
type config struct {
	root        string // the repository
	bin         string // meshpipe
	out         string // where bench.md, bench.png and bench.json go
	video       string
	distinct    int // frames decoded per size
	frames      int // per stand-in cell
	pipeFrames  int
	hmrFrames   int // per cell with -model
	trackFrames int // per cell of the tracking table
	memFrames   int
	growFrames  int // the growth run samples RSS after growFrames and 10x growFrames
	rounds      int // each cell but the growth run runs this many times; the fastest run counts
	model       string
	modelLabel  string
	blazepose   string // -pose-model of the BlazePose rows; "none" skips them
	device      string
	ortLib      string
	threads     int
	pipeSize    int // bytes; 0: the system's default
	sizes       []size
	sections    map[string]bool
	title       string
}

func main() {
	os.Exit(run())
}

func run() int {
	c := config{}
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	c.root = root
	var sizes, sections string
	flag.StringVar(&c.bin, "bin", filepath.Join(root, "bin", "meshpipe"), "the meshpipe binary")
	flag.StringVar(&c.out, "out", filepath.Join(root, "out"), "folder for bench.md, bench.png and bench.json")
	flag.StringVar(&c.video, "video", filepath.Join(root, ".deps", "samples", "vtest.avi"), "the video the frames come from")
	flag.IntVar(&c.distinct, "distinct", 100, "frames decoded from the video per size (cells wanting more play them back and forth)")
	flag.IntVar(&c.frames, "frames", 150, "frames per cell with the stand-in pose model")
	flag.IntVar(&c.pipeFrames, "pipe-frames", 300, "frames per pipe-cost cell")
	flag.IntVar(&c.hmrFrames, "hmr-frames", 32, "frames per cell with a real pose model (HMR2, BlazePose)")
	flag.IntVar(&c.trackFrames, "track-frames", 100, "frames per cell of the tracking table (BlazePose at vtest.avi's own size)")
	flag.IntVar(&c.memFrames, "mem-frames", 150, "frames per -in-flight cell")
	flag.IntVar(&c.rounds, "rounds", 3, "run every cell this many times, round after round, and show the fastest run (other work on the machine only ever slows a run down); the growth run runs once")
	flag.IntVar(&c.growFrames, "grow-frames", 100, "the growth run's RSS is sampled after this many frames and after 10 times as many")
	flag.StringVar(&c.model, "model", "", "pose model for the HMR2 rows (default: a small random-weight HMR2 made with scripts/export_hmr2_onnx.py; \"none\" skips them)")
	flag.StringVar(&c.blazepose, "blazepose", "blazepose-full", "meshpipe's -pose-model for the BlazePose rows (meshpipe's default model; blazepose-lite or blazepose-heavy for the others; \"none\" skips them)")
	flag.StringVar(&c.modelLabel, "model-label", "", "the -model rows' name in the tables (default: from the file)")
	flag.StringVar(&c.device, "device", "cpu", "meshpipe's -device: cpu, cuda or cuda:N")
	flag.StringVar(&c.ortLib, "ort-lib", "", "meshpipe's -ort-lib")
	flag.IntVar(&c.threads, "threads", 1, "meshpipe's -threads (ONNX Runtime intra-op threads per session)")
	flag.IntVar(&c.pipeSize, "pipe-size", 0, "size in bytes of every pipe into and out of the commands (fcntl F_SETPIPE_SZ, at most /proc/sys/fs/pipe-max-size; 0: the system's default, 64 KiB)")
	flag.StringVar(&sizes, "sizes", "640x360,1280x720,1920x1080", "frame sizes of the whole-pipeline table")
	flag.StringVar(&sections, "sections", "pipe,sizes,scaling,tracking,memory", "which tables to make")
	flag.StringVar(&c.title, "title", "meshpipe bench", "the markdown's heading")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q\n", flag.Arg(0))
		return 2
	}
	for _, s := range strings.Split(sizes, ",") {
		sz, err := parseSize(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -sizes:", err)
			return 2
		}
		c.sizes = append(c.sizes, sz)
	}
	c.sections = map[string]bool{}
	for _, s := range strings.Split(sections, ",") {
		switch s {
		case "pipe", "sizes", "scaling", "tracking", "memory":
			c.sections[s] = true
		default:
			fmt.Fprintf(os.Stderr, "bench: -sections: unknown %q (pipe, sizes, scaling, tracking, memory)\n", s)
			return 2
		}
	}
	if c.rounds < 1 {
		fmt.Fprintf(os.Stderr, "bench: -rounds %d: need at least 1\n", c.rounds)
		return 2
	}
	for name, n := range map[string]int{"-distinct": c.distinct, "-frames": c.frames, "-pipe-frames": c.pipeFrames,
		"-hmr-frames": c.hmrFrames, "-track-frames": c.trackFrames, "-mem-frames": c.memFrames, "-grow-frames": c.growFrames} {
		if n < 2 {
			fmt.Fprintf(os.Stderr, "bench: %s %d: need at least 2\n", name, n)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, &c)
	if rep != nil && len(rep.results) > 0 {
		if werr := rep.write(c.out); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
			err = errors.Join(err, werr)
		}
		fmt.Print(rep.markdown())
		fmt.Printf("\nwritten: %s, %s, %s\n", filepath.Join(c.out, "bench.md"), filepath.Join(c.out, "bench.png"), filepath.Join(c.out, "bench.json"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// findRoot returns the repository: the folder holding go.mod, from the working directory up.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above it: run the bench inside the meshpipe repository", dir)
		}
	}
}

// bench runs every cell of the chosen sections and returns the report, with the results so
// far when a cell fails.
func bench(ctx context.Context, c *config) (*report, error) {
	start := time.Now()
	if _, err := os.Stat(c.bin); err != nil {
		return nil, fmt.Errorf("meshpipe binary: %w (make build makes it)", err)
	}
	if _, err := os.Stat(c.video); err != nil {
		return nil, fmt.Errorf("video: %w (scripts/setup.sh samples fetches vtest.avi)", err)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "meshpipe-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rep := &report{title: c.title, started: start, cores: runtime.NumCPU()}
	rep.machine = describeMachine(ctx, c)
	for _, l := range rep.machine {
		fmt.Fprintln(os.Stderr, "bench:", l)
	}

	hmr, hmrLabel, note := c.poseModel(ctx)
	if note != "" {
		rep.notes = append(rep.notes, note)
		fmt.Fprintln(os.Stderr, "bench:", note)
	}
	models := poseModels{standIn: poseChoice{label: "stand-in", args: []string{"-pose-model", "standin"}}}
	if hmr != "" {
		models.hmr = &poseChoice{label: hmrLabel, args: []string{"-pose-model", "hmr2", "-model", hmr}}
	}
	if bp, note := c.blazePose(); bp != nil {
		models.blazePose = bp
	} else if note != "" {
		rep.notes = append(rep.notes, note)
		fmt.Fprintln(os.Stderr, "bench:", note)
	}
	cells := plan(c, models)
	rep.setup = describeSetup(c, models)

	// Frames of each size the cells need, decoded once.
	raws := map[size]*rawFile{}
	for _, cl := range cells {
		if raws[cl.size] != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: decoding %d frames of %s at %s\n", c.distinct, filepath.Base(c.video), cl.size)
		rf, err := decode(ctx, c.video, cl.size, c.distinct, tmp)
		if err != nil {
			return rep, err
		}
		raws[cl.size] = rf
	}

	// Round after round, so that a change in the machine's load falls on every cell alike.
	runs := make([][]*result, len(cells))
	for round := 1; round <= c.rounds; round++ {
		for i, cl := range cells {
			if cl.section == "growth" && round > 1 {
				continue
			}
			if err := ctx.Err(); err != nil {
				rep.results = best(runs)
				return rep, fmt.Errorf("stopped: %w", err)
			}
			fmt.Fprintf(os.Stderr, "bench: round %d/%d [%2d/%d] %-8s %-38s %5d frames ... ", round, c.rounds, i+1, len(cells), cl.section, cl.describe(), cl.frames)
			res := runCell(ctx, c, cl, raws[cl.size], tmp)
			runs[i] = append(runs[i], res)
			if res.err != nil {
				fmt.Fprintln(os.Stderr, "failed")
				rep.results = best(runs)
				return rep, fmt.Errorf("%s %s: %w", cl.section, cl.describe(), res.err)
			}
			fmt.Fprintf(os.Stderr, "%6.1f fps\n", res.fps())
		}
	}
	rep.results = best(runs)
	rep.rounds = c.rounds
	rep.elapsed = time.Since(start)
	rep.loadEnd = loadAverage()
	return rep, nil
}

// best returns each cell's fastest run (a failed run wins, to be reported), with the
// slowest run's fps and the number of runs noted on it.
func best(runs [][]*result) []*result {
	var out []*result
	for _, rs := range runs {
		if len(rs) == 0 {
			continue
		}
		b := rs[0]
		slowest := rs[0].fps()
		for _, r := range rs[1:] {
			if r.err != nil || (b.err == nil && r.fps() > b.fps()) {
				b = r
			}
			slowest = min(slowest, r.fps())
		}
		b.Runs, b.Slowest = len(rs), slowest
		out = append(out, b)
	}
	return out
}

// poseModel returns the model for the HMR2 rows and its label, making the small random-weight
// HMR2 when no -model was given; "" when there is none, with a note saying why.
func (c *config) poseModel(ctx context.Context) (path, label, note string) {
	switch c.model {
	case "none":
		return "", "", "HMR2 rows skipped (-model none)"
	case "":
	default:
		if _, err := os.Stat(c.model); err != nil {
			return "", "", fmt.Sprintf("HMR2 rows skipped: -model: %v", err)
		}
		label = c.modelLabel
		if label == "" {
			label = strings.TrimSuffix(filepath.Base(c.model), ".onnx")
		}
		return c.model, label, ""
	}
	label = c.modelLabel
	if label == "" {
		label = "HMR2-small"
	}
	path = filepath.Join(c.out, "bench-work", "hmr2_small_seed1.onnx")
	if _, err := os.Stat(path); err == nil {
		return path, label, ""
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", fmt.Sprintf("HMR2 rows skipped: %v", err)
	}
	fmt.Fprintln(os.Stderr, "bench: making the small random-weight HMR2 (scripts/export_hmr2_onnx.py)")
	args := append([]string{filepath.Join(c.root, "scripts", "export_hmr2_onnx.py"), path + ".part", "--random", "--seed", "1"}, smallArch...)
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", args...).CombinedOutput()
	if err == nil {
		err = os.Rename(path+".part", path)
	}
	if err != nil {
		return "", "", fmt.Sprintf("HMR2 rows skipped: scripts/export_hmr2_onnx.py failed (%v; it needs Debian's python3-torch and python3-onnx): %s",
			err, lastLines(string(out), 3))
	}
	return path, label, ""
}

// poseChoice is a pose model as the tables name it and the meshpipe flags that choose it.
type poseChoice struct {
	label string
	args  []string
}

// poseModels are the pose models the cells use: the stand-in always, BlazePose and HMR2 when
// they are there.
type poseModels struct {
	standIn        poseChoice
	blazePose, hmr *poseChoice
}

// blazePose returns the BlazePose rows' pose model when its file is where meshpipe looks
// ($MESHPIPE_MODELS, else the project's .deps/models), or a note saying why not.
func (c *config) blazePose() (*poseChoice, string) {
	if c.blazepose == "none" {
		return nil, "BlazePose rows skipped (-blazepose none)"
	}
	dir := os.Getenv("MESHPIPE_MODELS")
	if dir == "" {
		dir = filepath.Join(c.root, ".deps", "models")
	}
	file := filepath.Join(dir, c.blazepose+".onnx")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Sprintf("BlazePose rows skipped: %s not found (scripts/setup.sh converts BlazePose into .deps/models)", file)
	}
	label := map[string]string{"blazepose-lite": "BlazePose lite", "blazepose-full": "BlazePose full", "blazepose-heavy": "BlazePose heavy"}[c.blazepose]
	if label == "" {
		label = c.blazepose
	}
	return &poseChoice{label: label, args: []string{"-pose-model", c.blazepose}}, ""
}

// cell is one measured run.
type cell struct {
	section string   // "pipe", "sizes", "parts", "scaling", "memory" or "growth"
	label   string   // the row's name
	model   string   // the pose model's label ("stand-in", ...), or "" for cat
	size    size     //
	frames  int      // frames written into the command
	cmd     []string // the command; nil means meshpipe with args
	args    []string // meshpipe's flags besides -s, -stats_file, -nostats and the common ones
	rssAt   []int    // frame counts after which VmRSS and VmHWM are sampled
	// pipeSize, when not 0, is the size in bytes of the pipes into and out of the command
	// (fcntl F_SETPIPE_SZ); 0 leaves the system's default (64 KiB on Linux).
	pipeSize int
}

// describe names the cell in progress lines: its label, and its pipe size when set.
func (cl cell) describe() string {
	if cl.pipeSize > 0 {
		return fmt.Sprintf("%s (%d KiB pipes)", cl.label, cl.pipeSize>>10)
	}
	return cl.label
}

// plan lists the cells of the chosen sections, in the order they run.
func plan(c *config, pm poseModels) []cell {
	hd := size{1280, 720}
	var cells []cell
	meshpipe := func(section, label string, model poseChoice, sz size, frames int, args ...string) {
		args = append(append([]string{}, model.args...), args...)
		cells = append(cells, cell{section: section, label: label, model: model.label, size: sz, frames: frames, args: args})
	}
	std := pm.standIn
	if c.sections["pipe"] {
		cells = append(cells, cell{section: "pipe", label: "cat", size: hd, frames: c.pipeFrames, cmd: []string{"cat"}})
		meshpipe("pipe", "meshpipe -detector none -no-render", std, hd, c.pipeFrames, "-detector", "none", "-no-render")
		meshpipe("pipe", "meshpipe -no-render", std, hd, c.pipeFrames, "-no-render")
		meshpipe("pipe", "meshpipe", std, hd, c.pipeFrames)
		// The same through 1 MiB pipes (16 times fewer wake-ups per frame), where the system
		// allows them and no -pipe-size was given.
		if c.pipeSize == 0 && pipeMaxSize() >= bigPipe {
			cells = append(cells, cell{section: "pipe", label: "cat", size: hd, frames: c.pipeFrames, cmd: []string{"cat"}, pipeSize: bigPipe})
			meshpipe("pipe", "meshpipe -detector none -no-render", std, hd, c.pipeFrames, "-detector", "none", "-no-render")
			cells[len(cells)-1].pipeSize = bigPipe
			meshpipe("pipe", "meshpipe", std, hd, c.pipeFrames)
			cells[len(cells)-1].pipeSize = bigPipe
		}
	}
	if c.sections["sizes"] {
		for _, sz := range c.sizes {
			meshpipe("sizes", sz.String(), std, sz, c.frames)
			// The CPU each part costs, by difference: the graph with nobody found, then
			// with detection and pose but no drawing.
			meshpipe("parts", "-detector none -no-render", std, sz, c.frames, "-detector", "none", "-no-render")
			meshpipe("parts", "-no-render", std, sz, c.frames, "-no-render")
			if pm.blazePose != nil {
				meshpipe("sizes", sz.String(), *pm.blazePose, sz, c.hmrFrames)
			}
			if pm.hmr != nil {
				meshpipe("sizes", sz.String(), *pm.hmr, sz, c.hmrFrames)
			}
		}
	}
	if c.sections["scaling"] {
		for _, n := range []int{1, 2, 4} {
			meshpipe("scaling", fmt.Sprintf("-render-workers %d", n), std, hd, c.frames, "-render-workers", fmt.Sprint(n))
		}
		meshpipe("scaling", "-samples 1 (no anti-aliasing)", std, hd, c.frames, "-samples", "1")
		if pm.hmr != nil {
			for _, pw := range []int{1, 2} {
				for _, b := range []int{1, 4, 16} {
					meshpipe("scaling", fmt.Sprintf("-pose-workers %d -batch %d", pw, b), *pm.hmr, hd, c.hmrFrames,
						"-pose-workers", fmt.Sprint(pw), "-batch", fmt.Sprint(b))
				}
			}
		}
	}
	if c.sections["tracking"] && pm.blazePose != nil {
		// The person detector and the regions of pose tracking against a box per person on every
		// frame, at vtest.avi's own size: the default (NanoDet-g on a schedule, regions from the
		// landmarks), NanoDet-g on every frame with a region per box, and background
		// subtraction with a region per box (the default before pose tracking).
		vt := size{768, 576}
		bp := *pm.blazePose
		meshpipe("tracking", "-detector bgsub -detect-every 0", bp, vt, c.trackFrames, "-detector", "bgsub", "-detect-every", "0")
		meshpipe("tracking", "-detector nanodet -detect-every 0", bp, vt, c.trackFrames, "-detector", "nanodet", "-detect-every", "0")
		meshpipe("tracking", "-detect-every 10 (default)", bp, vt, c.trackFrames)
		meshpipe("tracking", "-detect-every 5", bp, vt, c.trackFrames, "-detect-every", "5")
	}
	if c.sections["memory"] {
		for _, n := range []int{4, 8, 16, 32, 64} {
			meshpipe("memory", fmt.Sprintf("-in-flight %d", n), std, hd, c.memFrames, "-in-flight", fmt.Sprint(n))
		}
		meshpipe("growth", "-in-flight 0 (default)", std, hd, 10*c.growFrames)
		cells[len(cells)-1].rssAt = []int{c.growFrames, 2 * c.growFrames, 5 * c.growFrames, 10 * c.growFrames}
	}
	for i := range cells {
		if cells[i].pipeSize == 0 {
			cells[i].pipeSize = c.pipeSize
		}
	}
	return cells
}

// bigPipe is the pipe size of the pipe-cost table's second half: 1 MiB, Linux's default
// /proc/sys/fs/pipe-max-size.
const bigPipe = 1 << 20

// pipeMaxSize returns /proc/sys/fs/pipe-max-size, or 0.
func pipeMaxSize() int {
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// describeSetup says how the cells were run, for the report's header.
func describeSetup(c *config, pm poseModels) []string {
	lines := []string{
		fmt.Sprintf("input: frames 0-%d of %s (768x576, 10 fps, pedestrians, fixed camera) scaled to each size, rgb24, played back and forth when a cell wants more; the bench writes them into the command's stdin from a file and reads its stdout",
			c.distinct-1, filepath.Base(c.video)),
		fmt.Sprintf("meshpipe flags: -device %s -threads %d -nostats -stats_file and -pose-model (defaults otherwise: -detector nanodet when set up, else bgsub; 2 pose workers, batch 4, 4 render workers, -samples 4)", c.device, c.threads),
	}
	counts := []string{}
	if c.sections["pipe"] {
		counts = append(counts, fmt.Sprintf("%d (pipe cost)", c.pipeFrames))
	}
	if c.sections["sizes"] || c.sections["scaling"] {
		counts = append(counts, fmt.Sprintf("%d (stand-in pose model)", c.frames))
		if pm.blazePose != nil || pm.hmr != nil {
			counts = append(counts, fmt.Sprintf("%d (BlazePose, HMR2)", c.hmrFrames))
		}
	}
	if c.sections["tracking"] && pm.blazePose != nil {
		counts = append(counts, fmt.Sprintf("%d (tracking, 768x576)", c.trackFrames))
	}
	if c.sections["memory"] {
		counts = append(counts, fmt.Sprintf("%d (-in-flight)", c.memFrames), fmt.Sprintf("%d (growth)", 10*c.growFrames))
	}
	lines = append(lines, "frames per cell: "+strings.Join(counts, ", ")+fmt.Sprintf("; every cell but the growth run ran %d times, round after round, and the fastest run is shown (with the slowest run's fps in brackets): few frames a cell keep the whole bench within minutes, and other work on the machine only ever slows a run", c.rounds))
	models := []string{"stand-in = meshpipe's built-in stand-in (-pose-model standin: a fixed pose, almost no arithmetic)"}
	if pm.blazePose != nil {
		models = append(models, fmt.Sprintf("%s = -pose-model %s, meshpipe's default when its files are set up (BlazePose GHUM landmarks, then inverse kinematics)", pm.blazePose.label, c.blazepose))
	}
	if pm.hmr != nil && c.model == "" {
		models = append(models, fmt.Sprintf("%s = HMR2's architecture with random weights shrunk to about 5 M parameters (scripts/export_hmr2_onnx.py %s): real model work at a size two CPU cores can run; full-size HMR2 is about 180 times its arithmetic",
			pm.hmr.label, strings.Join(smallArch, " ")))
	} else if pm.hmr != nil {
		models = append(models, fmt.Sprintf("%s = %s", pm.hmr.label, c.model))
	}
	lines = append(lines, "pose models: "+strings.Join(models, "; "))
	return lines
}

// size is a frame size in pixels.
type size struct{ w, h int }

func (s size) String() string    { return fmt.Sprintf("%dx%d", s.w, s.h) }
func (s size) frameBytes() int   { return s.w * s.h * 3 }
func (s size) frameMiB() float64 { return float64(s.frameBytes()) / (1 << 20) }

func parseSize(s string) (size, error) {
	var sz size
	if _, err := fmt.Sscanf(s, "%dx%d", &sz.w, &sz.h); err != nil || sz.w <= 0 || sz.h <= 0 || sz.w%2 != 0 || sz.h%2 != 0 {
		return size{}, fmt.Errorf("%q: want WxH, even positive numbers", s)
	}
	return sz, nil
}

// describeMachine returns the report's first lines: the machine, OpenGL, ONNX Runtime and
// meshpipe.
func describeMachine(ctx context.Context, c *config) []string {
	mem := "?"
	if kb := procField("/proc/meminfo", "MemTotal"); kb > 0 {
		mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	lines := []string{fmt.Sprintf("machine: %d cores, %s, %s memory, Linux %s; load average %s at the start (other work on the machine slows the figures)",
		runtime.NumCPU(), cpuModel(), mem, strings.TrimSpace(string(kernel)), loadAverage())}
	if gpu := gpuName(ctx); gpu != "" {
		lines = append(lines, "GPU: "+gpu)
	}
	args := []string{"-version"}
	if c.ortLib != "" {
		args = append(args, "-ort-lib", c.ortLib)
	}
	out, err := exec.CommandContext(ctx, c.bin, args...).Output()
	ver := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "meshpipe "):
			ver["meshpipe"] = l
		case strings.HasPrefix(l, "ONNX Runtime"):
			ver["ort"] = l
		case strings.HasPrefix(l, "OpenGL: "):
			ver["gl"] = strings.TrimPrefix(l, "OpenGL: ")
		}
	}
	if err != nil {
		ver["gl"] = fmt.Sprintf("? (%s -version: %v)", c.bin, err)
	}
	lines = append(lines, "OpenGL: "+ver["gl"])
	provider := "CPUExecutionProvider"
	if strings.HasPrefix(c.device, "cuda") {
		provider = "CUDAExecutionProvider (-device " + c.device + "; meshpipe fails rather than fall back when CUDA does not start)"
	}
	lines = append(lines, fmt.Sprintf("%s; execution provider: %s, %d intra-op thread(s) per session", ver["ort"], provider, c.threads))
	commit, _ := exec.CommandContext(ctx, "git", "-C", c.root, "describe", "--always", "--dirty").Output()
	lines = append(lines, fmt.Sprintf("%s (commit %s), %s", ver["meshpipe"], strings.TrimSpace(string(commit)), runtime.Version()))
	return lines
}

// cpuModel returns /proc/cpuinfo's first model name.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// gpuName returns nvidia-smi's GPU names and driver, or "" without it.
func gpuName(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader").Output()
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; ")), " ")
}

// loadAverage returns the 1-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// decode writes n frames of video at sz, rgb24, into a file in dir.
func decode(ctx context.Context, video string, sz size, n int, dir string) (*rawFile, error) {
	path := filepath.Join(dir, sz.String()+".rgb")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", video, "-frames:v", fmt.Sprint(n),
		"-vf", fmt.Sprintf("scale=%d:%d", sz.w, sz.h), "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg decoding %s at %s: %v: %s", video, sz, err, lastLines(string(out), 3))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	got := int(st.Size() / int64(sz.frameBytes()))
	if got < 2 {
		f.Close()
		return nil, fmt.Errorf("ffmpeg gave %d frames of %s", got, video)
	}
	return &rawFile{f: f, size: sz, n: got}, nil
}

// rawFile holds n rgb24 frames of one size.
type rawFile struct {
	f    *os.File
	size size
	n    int
}

// pingPong returns which of n frames is the i-th played: 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ...
// so that a long run never jumps (the background subtractor would see a cut).
func pingPong(i, n int) int {
	if n < 2 {
		return 0
	}
	p := 2 * (n - 1)
	k := i % p
	if k >= n {
		k = p - k
	}
	return k
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// copyFrames writes frames of r into w in ping-pong order and closes w.
func copyFrames(w io.WriteCloser, r *rawFile, frames int) error {
	defer w.Close()
	buf := make([]byte, r.size.frameBytes())
	for i := 0; i < frames; i++ {
		k := pingPong(i, r.n)
		if _, err := r.f.ReadAt(buf, int64(k)*int64(len(buf))); err != nil {
			return fmt.Errorf("reading frame %d of the decoded video: %w", k, err)
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing frame %d into the command: %w", i, err)
		}
	}
	return nil
}
