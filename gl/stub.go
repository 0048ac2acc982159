//go:build !cgo

package gl

import (
	"fmt"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// Renderer draws meshes over frames. This build has no cgo, so there is no OpenGL and
// NewRenderer always fails.
type Renderer struct {
	t      *thread // never set; keeps the cgo build's shape for the tests
	noCull bool    // likewise
}

// NewRenderer always fails in a build without cgo: OpenGL and EGL need it.
func NewRenderer(faces []uint32, vertexCount int) (*Renderer, error) {
	return NewRendererOptions(faces, vertexCount, Options{})
}

// NewRendererOptions always fails in a build without cgo: OpenGL and EGL need it. Bad
// options are reported as in a cgo build.
func NewRendererOptions(faces []uint32, vertexCount int, o Options) (*Renderer, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("gl: %w: meshpipe was built without cgo (CGO_ENABLED=0)", errNoEGL)
}

// Samples returns 0 in a build without cgo.
func (r *Renderer) Samples() int { return 0 }

// Render returns ErrClosed: a Renderer cannot exist in a build without cgo.
func (r *Renderer) Render(f *rawvideo.Frame, cam Camera, meshes []Mesh, alpha float32) error {
	return ErrClosed
}

// Name returns "" in a build without cgo.
func (r *Renderer) Name() string { return "" }

// Version returns "" in a build without cgo.
func (r *Renderer) Version() string { return "" }

// Close does nothing in a build without cgo.
func (r *Renderer) Close() error { return nil }
