// Package statsfile is the schema of meshpipe's -stats_file document: one JSON object with a
// whole run's figures, which cmd/meshpipe writes at the end of a run and scripts/bench reads.
// README.md ("Stats file") documents it; the field names and units are the contract.
package statsfile

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Figures is the whole document.
type Figures struct {
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
	// (the -detector resolved: "nanodet (PATH)" or "bgsub" for the default, "PATH (YOLOX-style)"
	// for a model).
	ONNXRuntime string `json:"onnxruntime"`
	Device      string `json:"device"`
	PoseModel   string `json:"pose_model"`
	Renderer    string `json:"renderer"`
	Detector    string `json:"detector"`
	// PoseWorkers, RenderWorkers, Batch and InFlight are the sizes the graph ran with
	// (RenderWorkers and InFlight resolved from their defaults when the flags said 0).
	PoseWorkers   int `json:"pose_workers"`
	RenderWorkers int `json:"render_workers"`
	Batch         int `json:"batch"`
	InFlight      int `json:"in_flight"`
	// Stages holds read, detect, pose, render, write and total, in that order, as the -stats
	// summary prints them (stages.StageSummary).
	Stages []StageFigures `json:"stages"`
	// Live is set for a live source only.
	Live *LiveFigures `json:"live,omitempty"`
	// Tracking is set when the graph tracked people (BlazePose with -detect-every above 0):
	// what the pose stage's time went to.
	Tracking *TrackingFigures `json:"tracking,omitempty"`
}

// TrackingFigures split the pose stage's time of a tracking run (models.TrackTimes): the
// person detector's runs, the regions placed for new or lost tracks (BlazePose's region
// detector and the landmark model there), the landmark model on the regions that came from
// the frame before's landmarks, and turning landmarks into placed bodies (inverse kinematics,
// translation, skinning). Times are totals in milliseconds over the run; counts are runs or
// regions.
type TrackingFigures struct {
	// Frames is the number of frames tracked.
	Frames int `json:"frames"`
	// DetectorRuns is how many frames the person detector ran on; DetectorMs its time.
	DetectorRuns int     `json:"detector_runs"`
	DetectorMs   float64 `json:"detector_ms"`
	// NewRegions is how many regions were placed for new or lost tracks; NewRegionsMs their
	// time (BlazePose's region detector and the landmark model there).
	NewRegions   int     `json:"new_regions"`
	NewRegionsMs float64 `json:"new_regions_ms"`
	// Tracked is how many regions came from the frame before's landmarks; LandmarksMs the
	// landmark model's wall time on them (a frame's regions shared by the pose workers).
	Tracked     int     `json:"tracked_regions"`
	LandmarksMs float64 `json:"landmarks_ms"`
	// PlacingMs is the time turning landmarks into placed bodies (inverse kinematics,
	// translation, skinning).
	PlacingMs float64 `json:"placing_ms"`
	// SceneCuts counts the frames taken for the start of a new scene.
	SceneCuts int `json:"scene_cuts"`
}

// StageFigures is one stage's line of the summary: its workers, the frames it worked on, the
// share of the run its workers were busy (0..1) and its time per frame at the median and the
// 95th percentile, in milliseconds. For "total", the time is from the start of a frame's read
// to the end of its write, and workers and busy are 0.
type StageFigures struct {
	Stage   string  `json:"stage"`
	Workers int     `json:"workers"`
	Frames  int64   `json:"frames"`
	Busy    float64 `json:"busy"`
	P50ms   float64 `json:"p50_ms"`
	P95ms   float64 `json:"p95_ms"`
}

// LiveFigures are a live source's counts: frames captured and dropped, and the time from
// capture to output at the median and the 95th percentile, in milliseconds.
type LiveFigures struct {
	Captured int64   `json:"captured"`
	Dropped  int64   `json:"dropped"`
	P50ms    float64 `json:"latency_p50_ms"`
	P95ms    float64 `json:"latency_p95_ms"`
}

// Stage returns the named stage's figures; for a nil Figures or a stage not in it, figures of
// zero under that name.
func (f *Figures) Stage(name string) StageFigures {
	if f != nil {
		for _, s := range f.Stages {
			if s.Stage == name {
				return s
			}
		}
	}
	return StageFigures{Stage: name}
}

// Ms returns d in milliseconds, the unit of the document's times.
func Ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Write writes f to path as indented JSON, replacing the file. The error names the path.
func Write(path string, f *Figures) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644) // its error names the path
}

// Read reads the document at path. The error names the path and, for bad JSON, what is wrong.
func Read(path string) (*Figures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &Figures{}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
