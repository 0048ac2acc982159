package motion

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/poses"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// FromPerson returns the Sample of a person of a running stream (what the -poses Writer writes
// for it, so that a run's motion files and those made later from its -poses file are the same):
// every person a run draws has its pose found.
func FromPerson(p *human.Person) Sample {
	s := Sample{TrackID: p.TrackID, Status: Found, CamT: p.CamT, Betas: p.Pose.Betas, Joints3D: p.Joints}
	for r := range 3 {
		copy(s.GlobalOrient[r][:], p.Pose.GlobalOrient[3*r:3*r+3])
	}
	for j := range s.BodyPose {
		for r := range 3 {
			copy(s.BodyPose[j][r][:], p.Pose.BodyPose[9*j+3*r:9*j+3*r+3])
		}
	}
	return s
}

// WritePoses records frame f's people (FromPerson each; f.Seq is the frame index): the
// Recorder is a stages.PoseWriter, called by the stage graph in frame order, once a frame.
func (r *Recorder) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	r.scratch = r.scratch[:0]
	for i := range people {
		r.scratch = append(r.scratch, FromPerson(&people[i]))
	}
	if err := r.AddFrame(f.Seq, r.scratch); err != nil {
		return fmt.Errorf("motion: %w", err)
	}
	return nil
}

// FromRecord returns the Sample of a person of the -poses file; its pose_status must be
// "found", "held", "missing" or empty (found).
func FromRecord(p *poses.Person) (Sample, error) {
	st, err := ParseStatus(p.PoseStatus)
	if err != nil {
		return Sample{}, err
	}
	return Sample{TrackID: p.TrackID, Status: st, CamT: p.CamT, GlobalOrient: p.GlobalOrient, BodyPose: p.BodyPose,
		Betas: p.Betas, Joints3D: p.Joints3D}, nil
}

// ReadPoseFile reads a -poses JSONL file (package poses) into a new Recorder. Errors name the
// file and the line (from 1): a line that is not a record, a bad pose_status, and everything
// Recorder.AddFrame refuses.
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
	pr := poses.NewReader(r, name)
	var people []Sample
	for line := 1; ; line++ {
		l, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return rec, nil
		}
		if err != nil {
			return nil, err // it names the file and the line
		}
		people = people[:0]
		for i := range l.People {
			s, err := FromRecord(&l.People[i])
			if err != nil {
				return nil, fmt.Errorf("pose file %s: line %d: frame %d: person %d (track %d): %w", name, line, l.Frame, i, l.People[i].TrackID, err)
			}
			people = append(people, s)
		}
		if err := rec.AddFrame(l.Frame, people); err != nil {
			return nil, fmt.Errorf("pose file %s: line %d: %w", name, line, err)
		}
	}
}
