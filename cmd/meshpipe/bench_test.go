package main

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// smallArch is a small HMR2 of the real architecture for the batching benchmark: big enough
// that the model's arithmetic, not per-run overhead, dominates (about 0.7 GMAC per crop; HMR2
// with ViT-H is about 124).
var smallArch = []string{"--depth", "4", "--width", "256", "--heads", "4",
	"--head-depth", "2", "--head-width", "256", "--head-heads", "4", "--head-dim", "64", "--head-mlp", "512"}

// BenchmarkPoseBatch prints pose-model throughput in crops per second at batch 1, 4 and 16
// side by side: crops of 16 consecutive frames (one person each) through
// models.PoseEstimator.EstimateBatch (crop, ONNX Runtime, camera, skinning), in runs of the
// batch size. The model is a random-weight small HMR2 made by scripts/export_hmr2_onnx.py, or
// the file named by MESHPIPE_BENCH_MODEL (e.g. a real HMR2 export). MESHPIPE_BENCH_THREADS
// sets ONNX Runtime's intra-op threads (default 1, as meshpipe's -threads) and
// MESHPIPE_BENCH_DEVICE the device (default cpu).
//
//	go test ./cmd/meshpipe -run '^$' -bench PoseBatch -benchtime 8x
func BenchmarkPoseBatch(b *testing.B) {
	if err := ort.Init(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	model := os.Getenv("MESHPIPE_BENCH_MODEL")
	if model == "" {
		model = filepath.Join(b.TempDir(), "hmr2_small.onnx")
		testenv.Python(b, append([]string{filepath.Join(testenv.Root(b), "scripts", "export_hmr2_onnx.py"), model,
			"--random", "--seed", "1"}, smallArch...)...)
	}
	threads, _ := strconv.Atoi(os.Getenv("MESHPIPE_BENCH_THREADS"))
	if threads == 0 {
		threads = 1
	}
	dev, err := ort.ParseDevice(cmp.Or(os.Getenv("MESHPIPE_BENCH_DEVICE"), "cpu"))
	if err != nil {
		b.Fatal(err)
	}
	if dev, _, err = ort.Resolve(dev); err != nil {
		b.Fatal(err)
	}
	sess, err := ort.Open(model, ort.Options{IntraOpThreads: threads, Device: dev})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	pe := models.NewPoseEstimator(model, sess, models.Mannequin())

	const n = 16
	r := rand.New(rand.NewPCG(1, 1))
	frames := make([]*rawvideo.Frame, n)
	dets := make([][]human.Detection, n)
	for i := range frames {
		frames[i], _ = rawvideo.NewFrame(768, 576)
		frames[i].Seq = int64(i)
		for k := range frames[i].Pix {
			frames[i].Pix[k] = byte(r.IntN(256))
		}
		x, y := float32(100+20*i), float32(150+5*i)
		dets[i] = []human.Detection{{Box: human.Box{X1: x, Y1: y, X2: x + 90, Y2: y + 240}, Score: 0.9}}
	}
	// The batch sizes take turns within each iteration, so that a machine whose load changes
	// during the run (a shared CI box) slows them alike.
	sizes := []int{1, 4, 16}
	spent := make([]time.Duration, len(sizes))
	for b.Loop() {
		for k, batch := range sizes {
			start := time.Now()
			for i := 0; i < n; i += batch {
				if _, err := pe.EstimateBatch(frames[i:i+batch], dets[i:i+batch]); err != nil {
					b.Fatal(err)
				}
			}
			spent[k] += time.Since(start)
		}
	}
	var parts []string
	for k, batch := range sizes {
		cps := float64(n*b.N) / spent[k].Seconds()
		b.ReportMetric(cps, fmt.Sprintf("crops/s@batch%02d", batch))
		parts = append(parts, fmt.Sprintf("batch %d: %.1f", batch, cps))
	}
	b.ReportMetric(0, "ns/op")
	b.Logf("crops per second (%s, %s, %d intra-op threads): %s", filepath.Base(model), dev, threads, strings.Join(parts, " | "))
}
