package main

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/stages"
)

// runFigures is the -stats_file document: one JSON object describing a whole run, for
// scripts (scripts/bench reads it). README.md ("Stats file") documents the schema; the field
// names and units are the contract.
type runFigures struct {
	// Frames and People are the frames written and the people drawn in them.
	Frames int64 `json:"frames"`
	People int64 `json:"people"`
	// Seconds is the time from the graph's start to its end (set-up before the first read,
	// such as loading models and making GL contexts, is not in it); FPS is Frames/Seconds.
	Seconds float64 `json:"seconds"`
	FPS     float64 `json:"fps"`
	// CPUSeconds is the process's user plus system CPU time over the same span, all threads
	// (ONNX Runtime's and the GL driver's included): divided by Seconds, the cores it kept
	// busy.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Width and Height are the frame size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// ONNXRuntime is the ONNX Runtime version; Device where the pose model ran: cpu or
	// cuda:N; PoseModel the model's file, or the built-in stand-in's name; Renderer the
	// OpenGL renderer's name ("none (-no-render)" with -no-render); Detector the detector run
	// (the -detector, resolved: "nanodet (PATH)" or "bgsub" for the default).
	ONNXRuntime string `json:"onnxruntime"`
	Device      string `json:"device"`
	PoseModel   string `json:"pose_model"`
	Renderer    string `json:"renderer"`
	Detector    string `json:"detector"`
	// PoseWorkers, RenderWorkers, Batch and InFlight are the sizes the graph ran with
	// (InFlight resolved from its default when -in-flight was 0).
	PoseWorkers   int `json:"pose_workers"`
	RenderWorkers int `json:"render_workers"`
	Batch         int `json:"batch"`
	InFlight      int `json:"in_flight"`
	// Stages holds read, detect, pose, render, write and total, in that order, as the -stats
	// summary prints them (stages.StageSummary).
	Stages []stageFigures `json:"stages"`
	// Live is set for a live source only.
	Live *liveFigures `json:"live,omitempty"`
}

// stageFigures is one stage's line of the summary: its workers, the frames it worked on, the
// share of the run its workers were busy (0..1) and its time per frame at the median and the
// 95th percentile, in milliseconds. For "total", the time is from the start of a frame's read
// to the end of its write, and workers and busy are 0.
type stageFigures struct {
	Stage   string  `json:"stage"`
	Workers int     `json:"workers"`
	Frames  int64   `json:"frames"`
	Busy    float64 `json:"busy"`
	P50ms   float64 `json:"p50_ms"`
	P95ms   float64 `json:"p95_ms"`
}

// liveFigures are a live source's counts: frames captured and dropped, and the time from
// capture to output at the median and the 95th percentile, in milliseconds.
type liveFigures struct {
	Captured int64   `json:"captured"`
	Dropped  int64   `json:"dropped"`
	P50ms    float64 `json:"latency_p50_ms"`
	P95ms    float64 `json:"latency_p95_ms"`
}

// figures gathers the run's figures from the pipeline, the recorder and the stream.
// cpu is the process's CPU time during the graph's run.
func (p *pipeline) figures(o *options, rec *stages.Recorder, cpu time.Duration, width, height int, live *stages.Live) runFigures {
	pr := rec.Progress()
	secs := pr.Elapsed.Seconds()
	f := runFigures{
		Frames: pr.Frames, People: pr.People, Seconds: secs, FPS: float64(pr.Frames) / max(secs, 1e-9), CPUSeconds: cpu.Seconds(),
		Width: width, Height: height,
		ONNXRuntime: ort.Version(), Device: p.device, PoseModel: p.modelName, Renderer: p.renderer, Detector: p.detector,
		PoseWorkers: o.poseWorkers, RenderWorkers: o.renderWorkers, Batch: o.batch, InFlight: p.cfg.FramesInFlight(),
	}
	for _, s := range rec.Summary() {
		f.Stages = append(f.Stages, stageFigures{Stage: s.Stage, Workers: s.Workers, Frames: s.Frames,
			Busy: s.Busy, P50ms: msFloat(s.P50), P95ms: msFloat(s.P95)})
	}
	if live != nil {
		ls := live.Stats()
		f.Live = &liveFigures{Captured: ls.Captured, Dropped: ls.Dropped, P50ms: msFloat(ls.LatencyP50), P95ms: msFloat(ls.LatencyP95)}
	}
	return f
}

// processCPU returns the user plus system CPU time the process has used so far, all threads
// (getrusage RUSAGE_SELF); 0 when it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func msFloat(d time.Duration) float64 { return float64(d) / 1e6 }

// writeStatsFile writes f to path as indented JSON, replacing the file.
func writeStatsFile(path string, f runFigures) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("-stats_file %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-stats_file: %w", err)
	}
	return nil
}
