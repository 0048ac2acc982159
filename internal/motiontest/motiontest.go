// Package motiontest checks motion files (package motion's BVH and glb) with the tools people
// open them in: Blender (Debian's blender, run headless) and the Khronos glTF validator (npm
// gltf-validator). scripts/setup.sh installs both; a test fails, naming the set-up script, when
// one is missing.
package motiontest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

//go:embed blender_joints.py
var blenderScript []byte

// BlenderJob is one file for Blender to import, with scripts/blender_import.py (which reads
// the tracks.json beside the file and puts stream frame n on Blender frame n), and the frames
// at which to report the joints.
type BlenderJob struct {
	// File is the .bvh or .glb file; or a motion folder, opened whole with the camera
	// (blender_import.py -- DIR --camera), of which only Objects, FPS and FrameRange are
	// reported.
	File string `json:"file"`
	// Frames are the stream frames (= Blender frames) at which to report the joints.
	Frames []int64 `json:"frames"`
}

// BlenderResult is what Blender reports for one job.
type BlenderResult struct {
	File string `json:"file"`
	// Objects are the names of the objects the import made; Bones the armature's bones.
	Objects []string `json:"objects"`
	Bones   []string `json:"bones"`
	// FPS is the scene's frame rate after the import.
	FPS float64 `json:"fps"`
	// FrameRange is the scene's first and last frame after a folder's import.
	FrameRange []int `json:"frame_range"`
	// Frames maps a Blender frame to each bone's head in world space (Blender's frame: z up,
	// metres) at that frame.
	Frames map[string]map[string][3]float64 `json:"frames"`
	// Error is Blender's traceback when the import or the report failed.
	Error string `json:"error"`
}

// At returns bone's world head at frame f, and whether it was reported.
func (r BlenderResult) At(f int64, bone string) ([3]float64, bool) {
	p, ok := r.Frames[strconv.FormatInt(f, 10)][bone]
	return p, ok
}

// Blender imports every job's file into an empty scene of Blender with the project's
// scripts/blender_import.py (one headless process for all jobs) and returns what it reports,
// in job order. It fails the test when Blender is
// missing or does not run; an import that fails is reported in the result's Error.
func Blender(t testing.TB, jobs []BlenderJob) []BlenderResult {
	t.Helper()
	exe, err := exec.LookPath("blender")
	if err != nil {
		t.Fatalf("blender not found (scripts/setup.sh installs Debian's blender): %v", err)
	}
	dir := t.TempDir()
	script, in, out := filepath.Join(dir, "blender_joints.py"), filepath.Join(dir, "jobs.json"), filepath.Join(dir, "out.json")
	js, _ := json.Marshal(jobs)
	if err := os.WriteFile(script, blenderScript, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", script, "--",
		filepath.Join(testenv.Root(t), "scripts"), in, out)
	cmd.Env = append(os.Environ(), "HOME="+dir) // Blender writes its user folders under HOME
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", exe, err, log.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("blender wrote no report: %v\n%s", err, log.String())
	}
	var res []BlenderResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("blender's report: %v", err)
	}
	if len(res) != len(jobs) {
		t.Fatalf("blender reported %d files of %d", len(res), len(jobs))
	}
	return res
}

// ValidatorMessage is one issue the glTF validator reports.
type ValidatorMessage struct {
	Code string `json:"code"`
	// Severity: 0 error, 1 warning, 2 information, 3 hint.
	Severity int    `json:"severity"`
	Message  string `json:"message"`
	Pointer  string `json:"pointer"`
}

// ValidatorReport is the glTF validator's report on one file.
type ValidatorReport struct {
	File      string             `json:"file"`
	Validator string             `json:"validator"`
	Errors    int                `json:"errors"`
	Warnings  int                `json:"warnings"`
	Infos     int                `json:"infos"`
	Hints     int                `json:"hints"`
	Messages  []ValidatorMessage `json:"messages"`
}

// Validate runs the Khronos glTF validator (scripts/gltf-validator/validate.js with the
// version scripts/setup.sh installs into .deps/gltf-validator) on files and returns its
// reports, in order. It fails the test when node or the validator is missing.
func Validate(t testing.TB, files ...string) []ValidatorReport {
	t.Helper()
	root := testenv.Root(t)
	testenv.Deps(t, "gltf-validator/node_modules/gltf-validator/package.json")
	args := append([]string{filepath.Join(root, "scripts", "gltf-validator", "validate.js")}, files...)
	cmd := exec.Command("node", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", args[0], err, stderr.String())
	}
	var reps []ValidatorReport
	if err := json.Unmarshal(out, &reps); err != nil {
		t.Fatalf("validator output: %v", err)
	}
	if len(reps) != len(files) {
		t.Fatalf("validator reported %d files of %d", len(reps), len(files))
	}
	return reps
}

// String summarises a report: the counts and each message.
func (r ValidatorReport) String() string {
	s := fmt.Sprintf("%s (gltf-validator %s): %d errors, %d warnings, %d infos, %d hints", filepath.Base(r.File), r.Validator, r.Errors, r.Warnings, r.Infos, r.Hints)
	for _, m := range r.Messages {
		s += fmt.Sprintf("\n  [%d] %s %s: %s", m.Severity, m.Code, m.Pointer, m.Message)
	}
	return s
}
