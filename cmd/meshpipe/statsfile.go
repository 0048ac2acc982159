package main

import (
	"fmt"
	"syscall"
	"time"

	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/pipeline"
	"github.com/meshpipe/meshpipe/stages"
	"github.com/meshpipe/meshpipe/statsfile"
)

// figures gathers the run's figures from the options, the parts, the recorder and the stream.
// cpu is the process's CPU time during the graph's run.
func figures(o *options, p *pipeline.Parts, rec *stages.Recorder, cpu time.Duration, width, height int, live *stages.Live) *statsfile.Figures {
	pr := rec.Progress()
	secs := pr.Elapsed.Seconds()
	f := &statsfile.Figures{
		Frames: pr.Frames, People: pr.People, Seconds: secs, FPS: float64(pr.Frames) / max(secs, 1e-9), CPUSeconds: cpu.Seconds(),
		Width: width, Height: height,
		ONNXRuntime: ort.Version(), Device: p.Device, PoseModel: p.PoseModel, Renderer: p.Renderer, Detector: p.Detector,
		PoseWorkers: o.PoseWorkers, RenderWorkers: len(p.Config.Renderers), Batch: o.Batch, InFlight: p.Config.FramesInFlight(),
	}
	for _, s := range rec.Summary() {
		f.Stages = append(f.Stages, statsfile.StageFigures{Stage: s.Stage, Workers: s.Workers, Frames: s.Frames,
			Busy: s.Busy, P50ms: statsfile.Ms(s.P50), P95ms: statsfile.Ms(s.P95)})
	}
	if live != nil {
		ls := live.Stats()
		f.Live = &statsfile.LiveFigures{Captured: ls.Captured, Dropped: ls.Dropped, P50ms: statsfile.Ms(ls.LatencyP50), P95ms: statsfile.Ms(ls.LatencyP95)}
	}
	if p.Tracking != nil {
		t := p.Tracking.Times()
		f.Tracking = &statsfile.TrackingFigures{Frames: t.Frames, DetectorRuns: t.DetectorRuns, DetectorMs: statsfile.Ms(t.Detector),
			NewRegions: t.RegionsFound, NewRegionsMs: statsfile.Ms(t.Regions), Tracked: t.Tracked, LandmarksMs: statsfile.Ms(t.Landmarks),
			PlacingMs: statsfile.Ms(t.Placing), SceneCuts: t.SceneCuts}
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

// writeStatsFile writes f to path (-stats_file), replacing the file.
func writeStatsFile(path string, f *statsfile.Figures) error {
	if err := statsfile.Write(path, f); err != nil {
		return fmt.Errorf("-stats_file: %w", err)
	}
	return nil
}
