//go:build !cgo

package preview

import (
	"errors"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// ErrNoDisplay is returned (wrapped) by Open when there is no display to open a window on.
var ErrNoDisplay = errors.New("preview: no display")

// Window is an on-screen window; this build has no cgo, so none can be opened.
type Window struct{}

// Open always fails in a build without cgo: GLFW and OpenGL need it.
func Open(title string, w, h int) (*Window, error) {
	return nil, errors.New("preview: meshpipe was built without cgo (CGO_ENABLED=0), so it has no window")
}

// Show fails: no Window exists in a build without cgo.
func (win *Window) Show(f *rawvideo.Frame) error { return errors.New("preview: no window") }

// Poll does nothing in a build without cgo.
func (win *Window) Poll() {}

// Closed reports true in a build without cgo.
func (win *Window) Closed() bool { return true }

// Shown returns 0 in a build without cgo.
func (win *Window) Shown() int64 { return 0 }

// Close does nothing in a build without cgo.
func (win *Window) Close() {}
