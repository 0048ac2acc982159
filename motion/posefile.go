package motion

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// poseLine is one line of the -poses JSONL file (README.md "Pose output"), the fields motion
// reads. pose_status is optional: a file without it has every pose found.
//
// This small reader stands in for package poses' Reader until that lands on main.
type poseLine struct {
	Frame  *int64       `json:"frame"`
	People []posePerson `json:"people"`
}

type posePerson struct {
	TrackID      int               `json:"track_id"`
	PoseStatus   string            `json:"pose_status"`
	CamT         [3]float32        `json:"cam_t"`
	GlobalOrient [3][3]float32     `json:"global_orient"`
	BodyPose     [23][3][3]float32 `json:"body_pose"`
	Betas        [10]float32       `json:"betas"`
	Joints3D     [24][3]float32    `json:"joints_3d"`
}

// ReadPoseFile reads a -poses JSONL file into a new Recorder. Errors name the file and the
// line (from 1): a line that is not a JSON object of the schema, one without "frame", a bad
// pose_status, and everything Recorder.AddFrame refuses. Blank lines are skipped.
func ReadPoseFile(path string) (*Recorder, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pose file: %w", err)
	}
	defer f.Close()
	return ReadPoses(f, path)
}

// ReadPoses reads a -poses JSONL stream into a new Recorder, as ReadPoseFile; name (the file's
// path) is used in errors.
func ReadPoses(r io.Reader, name string) (*Recorder, error) {
	rec := NewRecorder()
	br := bufio.NewReaderSize(r, 1<<20)
	var people []Sample
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("pose file %s: line %d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if perr := addLine(rec, line, &people); perr != nil {
				return nil, fmt.Errorf("pose file %s: line %d: %w", name, n, perr)
			}
		}
		if err != nil { // io.EOF
			return rec, nil
		}
	}
}

// addLine decodes one line and adds its frame to rec; people is scratch space.
func addLine(rec *Recorder, line []byte, people *[]Sample) error {
	var l poseLine
	if err := json.Unmarshal(line, &l); err != nil {
		return err
	}
	if l.Frame == nil {
		return errors.New(`no "frame"`)
	}
	*people = (*people)[:0]
	for i := range l.People {
		p := &l.People[i]
		st, err := ParseStatus(p.PoseStatus)
		if err != nil {
			return fmt.Errorf("frame %d: person %d (track %d): %w", *l.Frame, i, p.TrackID, err)
		}
		*people = append(*people, Sample{TrackID: p.TrackID, Status: st, CamT: p.CamT, GlobalOrient: p.GlobalOrient,
			BodyPose: p.BodyPose, Betas: p.Betas, Joints3D: p.Joints3D})
	}
	return rec.AddFrame(*l.Frame, *people)
}
