package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/motiontest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/motion"
	"github.com/meshpipe/meshpipe/poses"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// motionReport reads DIR/tracks.json.
func motionReport(t *testing.T, dir string) motion.Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "tracks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep motion.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("tracks.json: %v", err)
	}
	return rep
}

// readPoseRecords reads a -poses file with package poses' Reader.
func readPoseRecords(t *testing.T, path string) []poses.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := poses.NewReader(f, path)
	var out []poses.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Frame != int64(len(out)) {
			t.Fatalf("%s: record %d is frame %d", path, len(out), rec.Frame)
		}
		out = append(out, rec)
	}
}

// sameFiles fails unless directories a and b hold the same files, byte for byte.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) == 0 || len(ea) != len(eb) {
		t.Fatalf("%s has %d files, %s has %d", a, len(ea), b, len(eb))
	}
	for i, e := range ea {
		x, _ := os.ReadFile(filepath.Join(a, e.Name()))
		y, err := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if e.Name() != eb[i].Name() || err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: %d bytes in %s, not the same in %s (%s, %v)", e.Name(), len(x), a, b, eb[i].Name(), err)
		}
	}
}

// Issue 19's done-when, end to end on vtest.avi's walkers (10 frames, YOLOX-Nano, BlazePose
// lite with IK: real joint rotations): -motion writes a BVH and a glb per track of 10 frames;
// meshpipe motion on the run's -poses file writes the same files, byte for byte; Blender
// imports every file and puts every joint within 1 mm of the -poses file's joints_3d at the
// track's first, middle and last frames (after the documented change of axes); the glTF
// validator finds no errors and no warnings.
func TestMotionFromRun(t *testing.T) {
	yolox := testenv.Shared(t, "models/yolox_nano.onnx")
	const frames = 10
	var in bytes.Buffer
	testenv.VideoFrames(t, testenv.Sample(t, "vtest.avi"), frames, func(f *rawvideo.Frame) { in.Write(f.Pix) })
	dir := t.TempDir()
	posesPath, runDir, subDir := filepath.Join(dir, "poses.jsonl"), filepath.Join(dir, "run"), filepath.Join(dir, "sub")
	code, _, stderr := run(t, in.Bytes(), "-s", "768x576", "-r", "10", "-pose-model", "lite", "-detector", yolox,
		"-no-render", "-poses", posesPath, "-motion", runDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep := motionReport(t, runDir)
	if rep.FrameRate != 10 || rep.MinFrames != motion.DefaultMinFrames {
		t.Fatalf("tracks.json: frame rate %v, minimum %d", rep.FrameRate, rep.MinFrames)
	}
	var written []motion.TrackReport
	for _, tr := range rep.Tracks {
		if tr.Skipped != "" {
			if _, err := os.Stat(filepath.Join(runDir, "track_"+strconv.Itoa(tr.TrackID)+".bvh")); err == nil {
				t.Errorf("track %d skipped (%s), yet its BVH is there", tr.TrackID, tr.Skipped)
			}
			continue
		}
		written = append(written, tr)
	}
	if len(written) < 2 {
		t.Fatalf("%d tracks written, want at least 2 walkers seen on all %d frames: %+v", len(written), frames, rep.Tracks)
	}

	code, _, stderr = run(t, nil, "motion", "-poses", posesPath, "-o", subDir, "-r", "10")
	if code != 0 {
		t.Fatalf("meshpipe motion: exit %d: %s", code, stderr)
	}
	sameFiles(t, runDir, subDir)

	// Blender, through scripts/blender_import.py: stream frame n on Blender frame n.
	recs := readPoseRecords(t, posesPath)
	type check struct {
		track  int
		frames []int64
		kind   string
	}
	var checks []check
	var jobs []motiontest.BlenderJob
	var glbs []string
	for _, tr := range written {
		fr := []int64{tr.FirstFrame, (tr.FirstFrame + tr.LastFrame) / 2, tr.LastFrame}
		for _, kind := range []string{"bvh", "glb"} {
			job := motiontest.BlenderJob{File: filepath.Join(runDir, "track_"+strconv.Itoa(tr.TrackID)+"."+kind), Frames: fr}
			jobs, checks = append(jobs, job), append(checks, check{tr.TrackID, fr, kind})
			if kind == "glb" {
				glbs = append(glbs, job.File)
			}
		}
	}
	jobs = append(jobs, motiontest.BlenderJob{File: runDir}) // the folder, as README.md opens it
	res := motiontest.Blender(t, jobs)
	whole := res[len(res)-1]
	wantObjects := []string{"meshpipe camera"}
	last := int64(0)
	for _, tr := range written {
		wantObjects = append(wantObjects, "track_"+strconv.Itoa(tr.TrackID), "track_"+strconv.Itoa(tr.TrackID)+"_skeleton")
		last = max(last, tr.LastFrame)
	}
	slices.Sort(wantObjects)
	if whole.Error != "" || !slices.Equal(whole.Objects, wantObjects) || math.Abs(whole.FPS-10) > 1e-5 || !slices.Equal(whole.FrameRange, []int{0, int(last)}) {
		t.Errorf("blender_import.py on %s: objects %v (want %v), %v fps, frames %v (want 0..%d)\n%s", runDir, whole.Objects, wantObjects, whole.FPS, whole.FrameRange, last, whole.Error)
	}
	worst := 0.0
	for i, c := range checks {
		fileWorst := 0.0
		if res[i].Error != "" {
			t.Errorf("%s: Blender failed:\n%s", jobs[i].File, res[i].Error)
			continue
		}
		for _, f := range c.frames {
			var joints *[24][3]float32
			for k, p := range recs[f].People {
				if p.TrackID == c.track {
					joints = &recs[f].People[k].Joints3D
				}
			}
			if joints == nil {
				t.Fatalf("track %d is not on frame %d of the pose file", c.track, f)
			}
			for j, name := range models.JointNames {
				got, ok := res[i].At(f, name)
				if !ok {
					t.Fatalf("%s: no bone %s (bones %v)", jobs[i].File, name, res[i].Bones)
				}
				// Camera frame (x right, y down, z forward) to Blender's: (x, z, -y).
				want := [3]float64{float64(joints[j][0]), float64(joints[j][2]), -float64(joints[j][1])}
				fileWorst = max(fileWorst, math.Sqrt((got[0]-want[0])*(got[0]-want[0])+(got[1]-want[1])*(got[1]-want[1])+(got[2]-want[2])*(got[2]-want[2])))
			}
		}
		t.Logf("%s: largest joint error at frames %v: %.2g m", filepath.Base(jobs[i].File), c.frames, fileWorst)
		worst = max(worst, fileWorst)
	}
	t.Logf("%d tracks: Blender's joints vs the -poses joints_3d at 3 frames each, BVH and glb: largest error %.2g m", len(written), worst)
	if worst > 1e-3 {
		t.Errorf("Blender puts joints up to %.3g m from meshpipe's (> 1 mm)", worst)
	}
	for _, r := range motiontest.Validate(t, glbs...) {
		t.Log(r)
		if r.Errors != 0 || r.Warnings != 0 {
			t.Errorf("%s: %d errors, %d warnings", r.File, r.Errors, r.Warnings)
		}
	}
	for _, tr := range written {
		for _, ext := range []string{".bvh", ".glb"} {
			st, _ := os.Stat(filepath.Join(runDir, "track_"+strconv.Itoa(tr.TrackID)+ext))
			t.Logf("track %d: %d frames: %s %d bytes", tr.TrackID, tr.LastFrame-tr.FirstFrame+1, ext, st.Size())
		}
	}
}

// Without a known frame rate (rawvideo without -r) -motion times the files at 25 fps and
// says so; the subcommand's default is the same.
func TestMotionUnknownRate(t *testing.T) {
	frame := make([]byte, 64*64*3)
	dir := t.TempDir()
	code, _, stderr := run(t, bytes.Repeat(frame, 3), "-s", "64x64", "-pose-model", "standin", "-detector", "full",
		"-no-render", "-motion", dir)
	if code != 0 || !strings.Contains(stderr, "-motion: the input's frame rate is not known (give -r): timing the motion files at 25 fps") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep := motionReport(t, dir)
	if rep.FrameRate != 25 || len(rep.Tracks) != 1 || !strings.Contains(rep.Tracks[0].Skipped, "3 frames with a pose found, fewer than 10") {
		t.Fatalf("tracks.json: %+v", rep)
	}
}

// Bad motion flags and files are refused with a message naming the flag or the file, and the
// exit status of bad usage (2) or of a failure (1); -motion's folder is checked before the
// first frame is read.
func TestMotionErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	badPoses := filepath.Join(dir, "bad.jsonl")
	emptyPoses := filepath.Join(dir, "empty.jsonl") // no frames: no tracks
	os.WriteFile(emptyPoses, nil, 0o644)
	os.WriteFile(badPoses, []byte(`{"frame":0,"camera":{"focal_length":1,"principal_point":[0,0]},"people":[]}`+"\n"+`{"frame":0,"people":[]}`+"\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"motion", "-o", dir}, exitUsage, "motion: -poses FILE.jsonl is required"},
		{[]string{"motion", "-poses", badPoses}, exitUsage, "motion: -o DIR is required"},
		{[]string{"motion", "-poses", badPoses, "-o", dir, "-r", "fast"}, exitUsage, `-r "fast": want a frame rate`},
		{[]string{"motion", "-poses", badPoses, "-o", dir, "-min-frames", "0"}, exitUsage, "-min-frames 0: need at least 1"},
		{[]string{"motion", "-poses", badPoses, "-o", dir, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"motion", "-nosuchflag"}, exitUsage, "flag provided but not defined: -nosuchflag"},
		{[]string{"motion", "-poses", filepath.Join(dir, "none.jsonl"), "-o", dir}, exitError, "none.jsonl: no such file"},
		{[]string{"motion", "-poses", badPoses, "-o", dir}, exitError, "bad.jsonl: line 2: frame 0 comes after frame 0"},
		{[]string{"motion", "-poses", emptyPoses, "-o", filepath.Join(file, "sub")}, exitError, "motion: mkdir " + file},
		{[]string{"motion", "-poses", badPoses, "-o", dir, "-body", file}, exitError, "motion: -body: body model " + file},
		{[]string{"-s", "64x64", "-pose-model", "standin", "-no-render", "-motion", filepath.Join(file, "sub")}, exitError, "-motion: mkdir " + file},
	} {
		code, _, stderr := run(t, notEmpty, c.args...) // the motion subcommand reads no stdin
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want %d with %q; stderr:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
}
