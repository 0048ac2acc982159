package poses

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// A written file reads back record for record, with the 2D joints projected by the camera.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var p human.Person
	p.TrackID, p.Score = 3, 0.9
	p.Box = human.Box{X1: 10, Y1: 20, X2: 30, Y2: 60}
	p.Pose.GlobalOrient = [9]float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	p.Pose.BodyPose[9*22+8] = 7
	p.CamT = [3]float32{0, 0, 5}
	for j := range p.Joints {
		p.Joints[j] = [3]float32{0, 0, 5}
	}
	p.Joints[4] = [3]float32{1, -1, 5}
	f := &rawvideo.Frame{Width: 640, Height: 480}
	for seq := int64(0); seq < 3; seq++ {
		f.Seq = seq
		people := []human.Person{p}
		if seq == 1 {
			people = nil
		}
		if err := w.WritePoses(f, people); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := NewReader(in, path)
	for seq := int64(0); seq < 3; seq++ {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Frame != seq {
			t.Fatalf("record %d: frame %d", seq, rec.Frame)
		}
		if seq == 1 {
			if rec.People == nil || len(rec.People) != 0 {
				t.Fatalf("frame 1: people %v, want an empty list", rec.People)
			}
			continue
		}
		got := rec.People[0]
		if got.TrackID != 3 || got.BBox != [4]float32{10, 20, 30, 60} || got.BodyPose[22][2][2] != 7 || got.GlobalOrient[1][1] != 1 {
			t.Fatalf("frame %d: %+v", seq, got)
		}
		u, v := got.Joints2D[4][0], got.Joints2D[4][1]
		wantU := rec.Camera.FocalLength*1/5 + rec.Camera.PrincipalPoint[0]
		wantV := rec.Camera.FocalLength*-1/5 + rec.Camera.PrincipalPoint[1]
		if math.Abs(float64(u-wantU)) > 1e-3 || math.Abs(float64(v-wantV)) > 1e-3 {
			t.Fatalf("joint 4 at (%v, %v), want (%v, %v)", u, v, wantU, wantV)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}

// A broken line is reported with the file and its line number.
func TestReaderNamesLine(t *testing.T) {
	r := NewReader(strings.NewReader(`{"frame":0,"people":[]}`+"\n"+`{"frame":1,"people":[}`+"\n"), "x.jsonl")
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if err == nil || !strings.Contains(err.Error(), "x.jsonl: line 2") {
		t.Fatalf("err = %v, want one naming x.jsonl: line 2", err)
	}
}
