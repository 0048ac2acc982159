package pipeline

import (
	"bytes"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// dropout wraps a pose estimator: on the frames in missing, every person's pose is reported
// not found (human.PoseMissing), as BlazePose reports a region without a body.
type dropout struct {
	stages.PoseEstimator
	missing map[int64]bool
}

func (d dropout) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	if err := d.PoseEstimator.EstimateInto(frames, dets, people); err != nil {
		return err
	}
	for i, f := range frames {
		if d.missing[f.Seq] {
			for k := range people[i] {
				people[i][k].Status = human.PoseMissing
			}
		}
	}
	return nil
}

// A person whose pose is not found is not drawn; through a dropout of up to DefaultHoldFrames
// frames a track keeps its last found pose, drawn exactly as on its last found frame, and after
// it the person disappears, to come back when found again. The real parts (the whole-frame
// detector, the tracker, the stand-in, the pose hold, an OpenGL render worker) run one frame at
// a time, as the plugin runs them.
func TestDropoutHoldsThenDisappears(t *testing.T) {
	p, err := open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	const hold = 5 // models.DefaultHoldFrames, as Open sets it
	// Found on frames 0-2, missing on 3-10 (held 3-7, gone 8-10), found on 11; a second run,
	// without the tracker, has nothing to hold: missing is not drawn at all.
	missing := map[int64]bool{}
	for k := int64(3); k <= 10; k++ {
		missing[k] = true
	}
	cfg := p.Config
	cfg.Pose = dropout{p.Config.Pose, missing}
	one, err := stages.NewOneFrame(cfg)
	if err != nil {
		t.Fatal(err)
	}
	grey, err := rawvideo.NewFrame(96, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range grey.Pix {
		grey.Pix[i] = 90
	}
	var lastFound []byte
	for seq := int64(0); seq <= 11; seq++ {
		f := &rawvideo.Frame{}
		f.CopyFrom(grey)
		f.Seq = seq
		n, err := one.Run(f)
		if err != nil {
			t.Fatal(err)
		}
		drawn := !bytes.Equal(f.Pix, grey.Pix)
		switch {
		case !missing[seq]:
			if n != 1 || !drawn {
				t.Errorf("frame %d (found): %d drawn, pixels changed %v", seq, n, drawn)
			}
			lastFound = f.Pix
		case seq <= 2+hold:
			if n != 1 || !bytes.Equal(f.Pix, lastFound) {
				t.Errorf("frame %d (held): %d drawn, same as frame 2: %v", seq, n, bytes.Equal(f.Pix, lastFound))
			}
		default:
			if n != 0 || drawn {
				t.Errorf("frame %d (missing for %d frames): %d drawn, pixels changed %v", seq, seq-2, n, drawn)
			}
		}
	}
	// Without a track id nothing is held: a person whose pose is missing is not drawn.
	cfg.Tracker, cfg.Pose = nil, dropout{p.Config.Pose, map[int64]bool{0: true}}
	if one, err = stages.NewOneFrame(cfg); err != nil {
		t.Fatal(err)
	}
	f := &rawvideo.Frame{}
	f.CopyFrom(grey)
	if n, err := one.Run(f); err != nil || n != 0 || !bytes.Equal(f.Pix, grey.Pix) {
		t.Errorf("a missing pose: %d drawn (%v), frame changed %v", n, err, !bytes.Equal(f.Pix, grey.Pix))
	}
}
