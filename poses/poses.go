// Package poses reads and writes meshpipe's pose file: JSON Lines, one Record per frame
// written, in frame order (the -poses flag; README.md "Pose output" documents the schema). The
// field names and units are the contract with the tools that read it (motion export, users'
// scripts). The Writer is the graph's stages.PoseWriter.
package poses

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Record is one line of the pose file: one frame and its people.
type Record struct {
	// Frame is the frame's index in the stream, from 0.
	Frame int64 `json:"frame"`
	// Camera is the contract's camera for the frame's size (models.NewCamera): focal length
	// and principal point in pixels.
	Camera Camera `json:"camera"`
	// People holds one entry per person drawn, in detection order; empty, never null.
	People []Person `json:"people"`
}

// Camera is a pinhole camera in pixels: u = FocalLength x/z + PrincipalPoint[0], v =
// FocalLength y/z + PrincipalPoint[1], for a point (x, y, z) in the camera frame (x right, y
// down, z forward, metres).
type Camera struct {
	FocalLength    float32    `json:"focal_length"`
	PrincipalPoint [2]float32 `json:"principal_point"`
}

// Person is one person of a frame: the detection, the pose model's outputs (HMR2 contract),
// the camera translation and the posed joints.
type Person struct {
	// TrackID identifies the person across frames (from 1; 0 when untracked).
	TrackID int `json:"track_id"`
	// PoseStatus says whether the pose was found on this frame, held from an earlier frame, or
	// is missing: "found", "held" or "missing". Empty (and then left out of the line) means
	// found: every person meshpipe writes today, and every person of older files.
	PoseStatus string `json:"pose_status,omitempty"`
	// BBox is the detection's box (x1, y1, x2, y2) in pixels.
	BBox [4]float32 `json:"bbox"`
	// Score is the detector's confidence in [0, 1].
	Score float32 `json:"score"`
	// PredCam is the weak-perspective camera (s, tx, ty) of the crop.
	PredCam [3]float32 `json:"pred_cam"`
	// CamT is the body's translation in the camera frame, metres.
	CamT [3]float32 `json:"cam_t"`
	// GlobalOrient is the root rotation (row-major rows), SMPL body frame to camera frame.
	GlobalOrient [3][3]float32 `json:"global_orient"`
	// BodyPose holds the 23 non-root joint rotations relative to their parents, SMPL order.
	BodyPose [23][3][3]float32 `json:"body_pose"`
	// Betas are the 10 SMPL shape coefficients.
	Betas [10]float32 `json:"betas"`
	// Joints3D are the 24 posed SMPL joints in the camera frame, metres (CamT included).
	Joints3D [human.JointCount][3]float32 `json:"joints_3d"`
	// Joints2D are Joints3D projected with Camera, pixels.
	Joints2D [human.JointCount][2]float32 `json:"joints_2d"`
}

// Writer writes the pose file: one Record per frame, each line flushed as it is written, so a
// reader can follow a live stream. It is a stages.PoseWriter; one goroutine calls WritePoses.
type Writer struct {
	f    *os.File
	w    *bufio.Writer
	enc  *json.Encoder
	rec  Record // reused between frames
	name string
}

// Create creates (or truncates) the pose file at path.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	return &Writer{f: f, w: w, enc: json.NewEncoder(w), rec: Record{People: []Person{}}, name: path}, nil
}

// WritePoses writes frame f's line: its index, the camera for its size and each person's
// detection, model outputs, camera translation and joints, the 2D joints projected with the
// camera. Errors name the file.
func (p *Writer) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	cam := models.NewCamera(f.Width, f.Height)
	p.rec.Frame = f.Seq
	p.rec.Camera = Camera{FocalLength: cam.Focal, PrincipalPoint: [2]float32{cam.CX, cam.CY}}
	p.rec.People = p.rec.People[:0]
	for i := range people {
		p.rec.People = append(p.rec.People, record(cam, &people[i]))
	}
	if err := p.enc.Encode(&p.rec); err != nil {
		return fmt.Errorf("pose file %s: %w", p.name, err)
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("pose file %s: %w", p.name, err)
	}
	return nil
}

// record turns a person into its line entry under cam.
func record(cam models.Camera, pp *human.Person) Person {
	out := Person{
		TrackID: pp.TrackID,
		BBox:    [4]float32{pp.Box.X1, pp.Box.Y1, pp.Box.X2, pp.Box.Y2},
		Score:   pp.Score,
		PredCam: pp.Pose.PredCam,
		CamT:    pp.CamT,
		Betas:   pp.Pose.Betas,
	}
	for r := 0; r < 3; r++ {
		copy(out.GlobalOrient[r][:], pp.Pose.GlobalOrient[3*r:3*r+3])
	}
	for j := 0; j < 23; j++ {
		for r := 0; r < 3; r++ {
			copy(out.BodyPose[j][r][:], pp.Pose.BodyPose[9*j+3*r:9*j+3*r+3])
		}
	}
	for j, x := range pp.Joints {
		out.Joints3D[j] = x
		u, v := cam.Project(x)
		out.Joints2D[j] = [2]float32{u, v}
	}
	return out
}

// Close closes the file (every line is already flushed).
func (p *Writer) Close() error { return p.f.Close() }

// Reader reads a pose file line by line.
type Reader struct {
	dec  *json.Decoder
	name string
	line int
}

// NewReader reads the pose file r; name is used in errors (the file's path).
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{dec: json.NewDecoder(bufio.NewReader(r)), name: name}
}

// Next returns the next record, or io.EOF after the last one. A line that is not a Record
// gives an error naming the file and the line (from 1).
func (r *Reader) Next() (Record, error) {
	var rec Record
	if err := r.dec.Decode(&rec); err != nil {
		if errors.Is(err, io.EOF) {
			return rec, io.EOF
		}
		return rec, fmt.Errorf("pose file %s: line %d: %w", r.name, r.line+1, err)
	}
	r.line++
	return rec, nil
}
