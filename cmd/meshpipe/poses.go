package main

import (
	"fmt"

	"github.com/meshpipe/meshpipe/models/ort"
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
