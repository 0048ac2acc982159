package models

import _ "embed"

// StandIn is the serialised ONNX stand-in for HMR2 that the binary runs when no --model is
// given (made by scripts/make_standin.py). It keeps the pose-model contract exactly, but it
// returns the same standing pose, facing the camera and scaled to the crop, for every person.
//
//go:embed standin.onnx
var StandIn []byte
