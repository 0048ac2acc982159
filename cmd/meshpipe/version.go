package main

import (
	"fmt"

	"github.com/meshpipe/meshpipe/gl"
)

// version is meshpipe's version; release builds set it with -ldflags "-X main.version=...".
var version = "0.2.0-dev"

// glVersion starts one headless renderer and reports its GL renderer and version, or why it
// could not start.
func glVersion() string {
	r, err := gl.NewRenderer([]uint32{0, 1, 2}, 3)
	if err != nil {
		return fmt.Sprintf("not usable: %v", err)
	}
	defer r.Close()
	return fmt.Sprintf("%s, OpenGL %s", r.Name(), r.Version())
}
