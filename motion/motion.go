// Package motion turns meshpipe's tracked people into motion files that 3D tools open: for each
// track, a BVH file (SMPL's 24-joint skeleton with the body's rest offsets, one line of joint
// rotations and root translation per frame) and a binary glTF 2.0 file (.glb: the skinned body
// mesh and one animation of joint rotations and root translation). It is pure Go; the poses
// come frame by frame (a Recorder, fed by a run or by ReadPoseFile from a -poses file).
//
// Coordinates, in both formats: metres, in the output frame, which is meshpipe's camera frame
// (x right, y down, z forward; DESIGN.md) turned 180 degrees about x: x right, y up, z towards
// the viewer, the camera at the origin looking along -z (glTF's and OpenGL's convention). A
// point p of the camera frame is (p.x, -p.y, -p.z) in the output frame. Blender's BVH and glTF
// importers turn a y-up file into Blender's z-up world as (x, y, z) -> (x, -z, y), so a
// camera-frame point p lands at (p.x, p.z, -p.y) in Blender: the camera at the origin looking
// along +y, z up. Every track of a run is in this one frame, so files imported together stand
// where the camera saw the people, relative to each other (depth comes from the contract's
// camera, DESIGN.md, and is only as good as that estimate).
//
// Time: a track's keyframes are the frames where its pose was found; frame n is at n / rate
// seconds from the start of the stream (Write).
package motion

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/meshpipe/meshpipe/models"
)

// Status says whether a person's pose on a frame was found by the pose model, held from an
// earlier frame, or missing (the -poses file's pose_status: "found", "held", "missing").
type Status uint8

const (
	// Found: the pose model found this frame's pose. Only found poses become keyframes.
	Found Status = iota
	// Held: no pose was found on this frame; the person was drawn with an earlier pose.
	Held
	// Missing: no pose was found and none is held: the person was not drawn.
	Missing
)

// String returns the pose_status name: "found", "held" or "missing".
func (s Status) String() string {
	switch s {
	case Found:
		return "found"
	case Held:
		return "held"
	case Missing:
		return "missing"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// ParseStatus reads a pose_status value of the -poses file: "found", "held" or "missing"; ""
// (a file written before the field existed) is Found. Anything else is an error naming it.
func ParseStatus(s string) (Status, error) {
	switch s {
	case "", "found":
		return Found, nil
	case "held":
		return Held, nil
	case "missing":
		return Missing, nil
	}
	return 0, fmt.Errorf("pose_status %q: want found, held or missing", s)
}

// Sample is one tracked person on one frame: the fields of a person of the -poses file
// (README.md "Pose output") that the motion files are made of.
type Sample struct {
	// TrackID identifies the person across frames, from 1.
	TrackID int
	// Status says whether the pose was found on this frame; the other fields are read only
	// when it is Found.
	Status Status
	// CamT is the body's translation in the camera frame, metres.
	CamT [3]float32
	// GlobalOrient is the root rotation (rows), SMPL body frame to camera frame.
	GlobalOrient [3][3]float32
	// BodyPose holds the rotations of joints 1..23 relative to their parents (rows).
	BodyPose [23][3][3]float32
	// Betas are the 10 SMPL shape coefficients.
	Betas [models.BetaCount]float32
	// Joints3D are the 24 posed joints in the camera frame, metres, CamT included.
	Joints3D [models.JointCount][3]float32
}

// DefaultMinFrames is the fewest frames with a pose found that a track needs to get motion
// files: 10 frames (a second at 10 fps, 0.4 s at 25 fps); shorter tracks are mostly false
// detections and people crossing a corner of the frame.
const DefaultMinFrames = 10

// Options are Write's settings.
type Options struct {
	// FrameRate is the stream's frame rate in frames per second (> 0): frame n is at time
	// n / FrameRate, and the BVH's frame time is 1 / FrameRate.
	FrameRate float64
	// MinFrames is the fewest found frames a track needs to be written; 0 means
	// DefaultMinFrames.
	MinFrames int
}

// Report says what Write wrote; it is also written as DIR/tracks.json.
type Report struct {
	// FrameRate is Options.FrameRate, frames per second.
	FrameRate float64 `json:"frame_rate"`
	// MinFrames is the minimum used (Options.MinFrames, or DefaultMinFrames).
	MinFrames int `json:"min_frames"`
	// Tracks holds one entry per track seen, by increasing id.
	Tracks []TrackReport `json:"tracks"`
}

// TrackReport is one track's entry in the Report.
type TrackReport struct {
	// TrackID is the person's track id.
	TrackID int `json:"track_id"`
	// FirstFrame and LastFrame are the first and last frames with a pose found (-1 when
	// none was): the BVH's first and last frames, the glTF animation's first and last keys.
	FirstFrame int64 `json:"first_frame"`
	LastFrame  int64 `json:"last_frame"`
	// StartSeconds is FirstFrame / FrameRate: where the BVH's first frame belongs in time.
	StartSeconds float64 `json:"start_seconds"`
	// Found, Held and Missing count the track's frames of each Status. Frames between
	// FirstFrame and LastFrame that are not Found (held, missing, or where the track was
	// absent) are left out of the keyframes (see Write).
	Found   int `json:"frames_found"`
	Held    int `json:"frames_held"`
	Missing int `json:"frames_missing"`
	// BVH and GLB are the files' names inside the directory ("" when skipped).
	BVH string `json:"bvh,omitempty"`
	GLB string `json:"glb,omitempty"`
	// Skipped says why the track has no files ("" when it has).
	Skipped string `json:"skipped,omitempty"`
	// MaxJointError is the largest distance, in metres, between a joint of the written
	// skeleton (rest offsets of the body with the track's mean betas, posed by the found
	// rotations) and the same joint's joints_3d, over the found frames. When the body is the
	// one the poses were made with and the betas do not change along the track it is float32
	// rounding: about 1e-7 of the distance from the camera (3e-5 m at 300 m, where the
	// contract's long focal length puts people in a 768-pixel-wide video); centimetres mean
	// another body (-body).
	MaxJointError float64 `json:"max_joint_error_m"`
}

// Recorder gathers the found poses of each track, frame by frame (AddFrame, or WritePoses in a
// running stage graph), for Write. It keeps about 1.2 KB per found person-frame. It is not safe
// for concurrent use.
type Recorder struct {
	tracks  map[int]*trackData
	last    int64 // last frame added
	started bool
	scratch []Sample // WritePoses' samples, reused between frames
}

type trackData struct {
	id                   int
	frames               []int64  // the Found frames
	samples              []Sample // their samples
	found, held, missing int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{tracks: map[int]*trackData{}} }

// AddFrame records the people of frame (the stream's frame index, from 0). Frames must come in
// increasing order (gaps are frames where nobody was seen). Errors name the frame and track:
// a frame not after the previous one, a track id below 1 (motion needs tracked people; an
// untracked person whose pose is missing, a detection without a body, is skipped), a track
// twice in one frame, or a found pose with a rotation that is not one or a value that is not
// finite. Nothing of a frame with an error is recorded.
func (r *Recorder) AddFrame(frame int64, people []Sample) error {
	if frame < 0 {
		return fmt.Errorf("frame %d: frame indices start at 0", frame)
	}
	if r.started && frame <= r.last {
		return fmt.Errorf("frame %d comes after frame %d: frames must be in increasing order", frame, r.last)
	}
	for i := range people {
		p := &people[i]
		if p.TrackID == 0 && p.Status == Missing {
			continue // a detection no track took, without a pose: nothing to animate
		}
		if p.TrackID < 1 {
			return fmt.Errorf("frame %d: person %d has track id %d; motion files need tracked people (ids from 1)", frame, i, p.TrackID)
		}
		for k := range i {
			if people[k].TrackID == p.TrackID {
				return fmt.Errorf("frame %d: track %d appears twice (people %d and %d)", frame, p.TrackID, k, i)
			}
		}
		if p.Status > Missing {
			return fmt.Errorf("frame %d: track %d: unknown pose status %d", frame, p.TrackID, p.Status)
		}
		if p.Status == Found {
			if err := checkSample(p); err != nil {
				return fmt.Errorf("frame %d: track %d: %w", frame, p.TrackID, err)
			}
		}
	}
	r.started, r.last = true, frame
	for i := range people {
		p := &people[i]
		t := r.tracks[p.TrackID]
		if t == nil {
			t = &trackData{id: p.TrackID}
			r.tracks[p.TrackID] = t
		}
		switch p.Status {
		case Found:
			t.found++
			t.frames = append(t.frames, frame)
			t.samples = append(t.samples, *p)
		case Held:
			t.held++
		case Missing:
			t.missing++
		}
	}
	return nil
}

// checkSample returns an error naming the field at fault when a found pose has a non-finite
// value or a rotation that is not one.
func checkSample(p *Sample) error {
	if err := checkRotation(mat3From(&p.GlobalOrient)); err != nil {
		return fmt.Errorf("global_orient: %w", err)
	}
	for j := range p.BodyPose {
		if err := checkRotation(mat3From(&p.BodyPose[j])); err != nil {
			return fmt.Errorf("body_pose[%d] (joint %d, %s): %w", j, j+1, models.JointNames[j+1], err)
		}
	}
	finite := func(name string, v []float32) error {
		for k, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%s value %d is %v", name, k, x)
			}
		}
		return nil
	}
	if err := finite("cam_t", p.CamT[:]); err != nil {
		return err
	}
	if err := finite("betas", p.Betas[:]); err != nil {
		return err
	}
	for j := range p.Joints3D {
		if err := finite(fmt.Sprintf("joints_3d[%d]", j), p.Joints3D[j][:]); err != nil {
			return err
		}
	}
	return nil
}

// Write writes the motion files of every track with at least Options.MinFrames found poses
// into dir (created if missing; files of the same names are replaced, each in one rename, so
// no half-written file is left): track_ID.bvh and track_ID.glb, and tracks.json (the Report).
// body is the body model the poses were made with (the mannequin or an SMPL file): its rest
// joints, shaped by the track's mean betas, are the skeleton, and the glb's mesh is its shaped
// template with its skin weights.
//
// Frames left out: only frames whose pose was found are keyframes. The BVH runs from the
// track's first found frame to its last, one line per frame at 1/FrameRate; a frame between
// them without a found pose (held, missing or absent) gets the pose interpolated between the
// found frames around it (root translation linearly, each rotation by slerp), which is what a
// glTF viewer shows there too. The glb's keyframes are the found frames only, at their own
// times (frame / FrameRate seconds from the stream's start), so every track's animation is on
// the stream's clock; its root joint is scaled to 0 (STEP) before the first found frame and
// from one frame after the last, so that the body is not shown when the person was not seen.
// Write returns the Report; errors name the file.
func (r *Recorder) Write(dir string, body *models.Body, opt Options) (Report, error) {
	if !(opt.FrameRate > 0) || math.IsInf(opt.FrameRate, 0) {
		return Report{}, fmt.Errorf("motion: frame rate %v: want a positive number of frames per second", opt.FrameRate)
	}
	if opt.MinFrames < 0 {
		return Report{}, fmt.Errorf("motion: minimum track length %d: must not be negative", opt.MinFrames)
	}
	if opt.MinFrames == 0 {
		opt.MinFrames = DefaultMinFrames
	}
	if err := body.Check(); err != nil {
		return Report{}, fmt.Errorf("motion: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Report{}, fmt.Errorf("motion: %w", err)
	}
	rep := Report{FrameRate: opt.FrameRate, MinFrames: opt.MinFrames, Tracks: []TrackReport{}}
	ids := make([]int, 0, len(r.tracks))
	for id := range r.tracks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := r.tracks[id]
		tr := TrackReport{TrackID: id, FirstFrame: -1, LastFrame: -1, Found: t.found, Held: t.held, Missing: t.missing}
		if t.found > 0 {
			tr.FirstFrame, tr.LastFrame = t.frames[0], t.frames[len(t.frames)-1]
			tr.StartSeconds = float64(tr.FirstFrame) / opt.FrameRate
		}
		if t.found < opt.MinFrames {
			tr.Skipped = fmt.Sprintf("%d frames with a pose found, fewer than %d", t.found, opt.MinFrames)
			rep.Tracks = append(rep.Tracks, tr)
			continue
		}
		a := newAnimation(t, body)
		tr.MaxJointError = a.maxJointError()
		tr.BVH, tr.GLB = fmt.Sprintf("track_%d.bvh", id), fmt.Sprintf("track_%d.glb", id)
		if err := writeFile(filepath.Join(dir, tr.BVH), func(w io.Writer) error { return writeBVH(w, a, opt.FrameRate) }); err != nil {
			return rep, err
		}
		if err := writeFile(filepath.Join(dir, tr.GLB), func(w io.Writer) error { return writeGLB(w, a, body, opt.FrameRate) }); err != nil {
			return rep, err
		}
		rep.Tracks = append(rep.Tracks, tr)
	}
	err := writeFile(filepath.Join(dir, "tracks.json"), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(&rep)
	})
	return rep, err
}

// writeFile writes path through fill: into a temporary file beside it, renamed over path only
// when everything was written. Errors name path.
func writeFile(path string, fill func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("motion: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("motion: %s: %w", path, err)
	}
	return nil
}
