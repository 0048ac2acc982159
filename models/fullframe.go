package models

import (
	"errors"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// FullFrame is the simplest weight-free Detector: it reports the whole frame as one person,
// with score 1. It suits clips framed on one person (a fitness video, a webcam selfie).
type FullFrame struct{}

// Detect returns one detection whose box is the whole frame, (0, 0)-(Width, Height).
func (FullFrame) Detect(f *rawvideo.Frame) ([]Detection, error) {
	if f == nil || f.Width <= 0 || f.Height <= 0 {
		return nil, errors.New("full-frame detector: empty frame")
	}
	return []Detection{{Box: Box{0, 0, float32(f.Width), float32(f.Height)}, Score: 1}}, nil
}

// Nobody is the Detector that finds no one: every frame passes through the later stages
// untouched. meshpipe's -detector none uses it to measure the cost of reading and writing.
type Nobody struct{}

// Detect returns no detections and no error.
func (Nobody) Detect(*rawvideo.Frame) ([]Detection, error) { return nil, nil }
