package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// checkPose checks -batch and -device.
func (o *options) checkPose() error {
	if o.batch < 1 {
		return fmt.Errorf("-batch %d: need at least 1", o.batch)
	}
	if _, err := ort.ParseDevice(o.device); err != nil {
		return fmt.Errorf("-device: %w", err)
	}
	return nil
}

// poseRecord is one line of the -poses JSONL file: one frame and its people. README.md
// ("Pose output") documents the schema; the field names and units are the contract.
type poseRecord struct {
	// Frame is the frame's index in the stream, from 0.
	Frame int64 `json:"frame"`
	// Camera is the contract's camera for the frame's size (DESIGN.md): focal length and
	// principal point in pixels.
	Camera poseCamera `json:"camera"`
	// People holds one entry per person drawn, in detection order.
	People []posePerson `json:"people"`
}

type poseCamera struct {
	FocalLength    float32    `json:"focal_length"`
	PrincipalPoint [2]float32 `json:"principal_point"`
}

type posePerson struct {
	TrackID      int               `json:"track_id"`
	BBox         [4]float32        `json:"bbox"` // x1, y1, x2, y2 in pixels
	Score        float32           `json:"score"`
	PredCam      [3]float32        `json:"pred_cam"` // s, tx, ty of the crop
	CamT         [3]float32        `json:"cam_t"`    // metres, camera frame
	GlobalOrient [3][3]float32     `json:"global_orient"`
	BodyPose     [23][3][3]float32 `json:"body_pose"`
	Betas        [10]float32       `json:"betas"`
	Joints3D     [24][3]float32    `json:"joints_3d"` // metres, camera frame
	Joints2D     [24][2]float32    `json:"joints_2d"` // pixels
}

// poseWriter writes the -poses JSONL file: one poseRecord per frame, each line flushed as the
// frame is written, so a reader can follow a live stream. It implements stages.PoseWriter.
type poseWriter struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	rec poseRecord // reused: one goroutine calls WritePoses
}

// createPoseWriter creates (or truncates) the JSONL file at path.
func createPoseWriter(path string) (*poseWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-poses: %w", err)
	}
	w := bufio.NewWriter(f)
	return &poseWriter{f: f, w: w, enc: json.NewEncoder(w), rec: poseRecord{People: []posePerson{}}}, nil
}

// WritePoses writes frame f's line: its index, the camera for its size and each person's
// detection, model outputs, camera translation and joints, the 2D joints projected with the
// camera (u = f x/z + cx, v = f y/z + cy).
func (p *poseWriter) WritePoses(f *rawvideo.Frame, people []models.Person) error {
	cam := models.NewCamera(f.Width, f.Height)
	p.rec.Frame = f.Seq
	p.rec.Camera = poseCamera{FocalLength: cam.Focal, PrincipalPoint: [2]float32{cam.CX, cam.CY}}
	p.rec.People = p.rec.People[:0]
	for i := range people {
		pp := &people[i]
		out := posePerson{
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
		p.rec.People = append(p.rec.People, out)
	}
	if err := p.enc.Encode(&p.rec); err != nil {
		return fmt.Errorf("-poses %s: %w", p.f.Name(), err)
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("-poses %s: %w", p.f.Name(), err)
	}
	return nil
}

// Close closes the file (every line is already flushed).
func (p *poseWriter) Close() error { return p.f.Close() }
