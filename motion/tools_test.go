package motion

import (
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/internal/motiontest"
	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
)

var (
	smplOnce sync.Once
	smpl     *models.Body
	smplErr  error
)

// smplBody returns a random SMPL-layout body of 300 vertices (models/testdata/smpl_ref.py:
// shape and pose blend shapes, a joint regressor, and skin weights on up to 8 joints a vertex),
// made and loaded once per test binary.
func smplBody(t *testing.T) *models.Body {
	t.Helper()
	smplOnce.Do(func() {
		path := filepath.Join(t.TempDir(), "body.npz")
		testenv.Python(t, filepath.Join(testenv.Root(t), "models", "testdata", "smpl_ref.py"), "make", path, "300", "13", "f32")
		smpl, smplErr = models.LoadBody(path)
	})
	if smplErr != nil || smpl == nil {
		t.Fatalf("random SMPL-layout body: %v", smplErr)
	}
	return smpl
}

// toBlender turns a camera-frame point into Blender's world frame, as the package comment
// says: (x, y, z) -> (x, z, -y).
func toBlender(p [3]float32) [3]float64 {
	return [3]float64{float64(p[0]), float64(p[2]), -float64(p[1])}
}

// Blender, through scripts/blender_import.py, imports each BVH and glb (the mannequin and an
// SMPL-layout body with betas and 8 joints a vertex; a track with left-out frames, at 12.5 fps)
// and at found frames (stream frame n on Blender frame n) the joint positions it reports are
// meshpipe's joints_3d within 1 mm, after the documented change of axes; the glb's body is
// scaled to 0 before and after its track.
func TestBlenderOpensMotionFiles(t *testing.T) {
	type file struct {
		kind, path string
		s          *synth
		found      []int64
	}
	var files []file
	var jobs []motiontest.BlenderJob
	for _, name := range []string{"mannequin", "smpl"} {
		body := models.Mannequin()
		if name == "smpl" {
			body = smplBody(t)
		}
		s := newSynth(7, body, 21)
		s.amp[0] = 60 * math.Pi / 180
		// Frames 0, 1 absent, 2..13 found but 6 and 7 held.
		rec := record(t, 14, []*synth{s}, func(_ *synth, f int64) int {
			switch {
			case f < 2:
				return -1
			case f == 6 || f == 7:
				return int(Held)
			}
			return int(Found)
		})
		dir := filepath.Join(t.TempDir(), name)
		rep, err := rec.Write(dir, body, Options{FrameRate: 12.5}) // not whole: the glb's keys are moved
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tracks[0].FirstFrame != 2 {
			t.Fatalf("report %+v", rep.Tracks)
		}
		found := []int64{2, 5, 8, 13}
		for _, kind := range []string{"bvh", "glb"} {
			f := file{kind: kind, path: filepath.Join(dir, "track_7."+kind), s: s, found: found}
			job := motiontest.BlenderJob{File: f.path, Frames: found}
			if kind == "glb" { // before the track and after it: hidden
				job.Frames = append(job.Frames, 1, 14)
			}
			files, jobs = append(files, f), append(jobs, job)
		}
	}
	res := motiontest.Blender(t, jobs)
	worst := 0.0
	for i, f := range files {
		r := res[i]
		if r.Error != "" {
			t.Errorf("%s: Blender failed:\n%s", f.path, r.Error)
			continue
		}
		if len(r.Bones) != models.JointCount || math.Abs(r.FPS-12.5) > 1e-5 {
			t.Errorf("%s: %d bones (%v), scene at %v fps; want 24 bones at 12.5 fps", f.path, len(r.Bones), r.Bones, r.FPS)
		}
		fileWorst := 0.0
		for _, fr := range f.found {
			want := f.s.sample(fr, Found).Joints3D
			for j, name := range models.JointNames {
				got, ok := r.At(fr, name)
				if !ok {
					t.Fatalf("%s: no bone %s at frame %d (bones %v)", f.path, name, fr, r.Bones)
				}
				fileWorst = max(fileWorst, dist(got, toBlender(want[j])))
			}
		}
		if f.kind == "glb" {
			for _, fr := range []int64{1, 14} {
				root, _ := r.At(fr, "pelvis")
				for _, name := range models.JointNames {
					if p, _ := r.At(fr, name); dist(p, root) > 1e-6 {
						t.Errorf("%s: frame %d, outside the track: %s is %.3g m from the pelvis; the body should be scaled to 0", f.path, fr, name, dist(p, root))
						break
					}
				}
			}
		}
		t.Logf("%s: objects %v; largest joint error at frames %v: %.2g m", filepath.Base(filepath.Dir(f.path))+"/"+filepath.Base(f.path), r.Objects, f.found, fileWorst)
		worst = max(worst, fileWorst)
	}
	if worst > 1e-3 {
		t.Errorf("Blender's joints differ from meshpipe's by up to %.3g m (> 1 mm)", worst)
	}
}

// The Khronos glTF validator finds no errors and no warnings in the glb files (mannequin; SMPL-layout body with
// two sets of joints and weights; a track starting on frame 0 and one later).
func TestGLTFValidator(t *testing.T) {
	var paths []string
	for _, name := range []string{"mannequin", "smpl"} {
		body := models.Mannequin()
		if name == "smpl" {
			body = smplBody(t)
		}
		a, b := newSynth(1, body, 31), newSynth(2, body, 32)
		rec := record(t, 16, []*synth{a, b}, func(s *synth, f int64) int {
			if s == b && (f < 3 || f == 9) {
				return -1
			}
			return int(Found)
		})
		dir := filepath.Join(t.TempDir(), name)
		if _, err := rec.Write(dir, body, Options{FrameRate: 25}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Join(dir, "track_1.glb"), filepath.Join(dir, "track_2.glb"))
	}
	for _, r := range motiontest.Validate(t, paths...) {
		t.Log(r)
		if r.Errors != 0 || r.Warnings != 0 {
			t.Errorf("%d errors and %d warnings in %s", r.Errors, r.Warnings, r.File)
		}
	}
}
