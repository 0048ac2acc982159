package models

import (
	"errors"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// FullFrame is the simplest weight-free Detector: it reports the whole frame as one person,
// with score 1. It suits clips framed on one person (a fitness video, a webcam selfie).
type FullFrame struct{}

// Detect returns one detection whose box is the whole frame, (0, 0)-(Width, Height).
func (FullFrame) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	if f == nil || f.Width <= 0 || f.Height <= 0 {
		return nil, errors.New("full-frame detector: empty frame")
	}
	return []human.Detection{{Box: human.Box{X1: 0, Y1: 0, X2: float32(f.Width), Y2: float32(f.Height)}, Score: 1}}, nil
}

// Nobody is the Detector that finds no one: every frame passes through the later stages
// untouched. meshpipe's -detector none uses it to measure the cost of reading and writing.
type Nobody struct{}

// Detect returns no detections and no error.
func (Nobody) Detect(*rawvideo.Frame) ([]human.Detection, error) { return nil, nil }
