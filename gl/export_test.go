package gl

// ErrNoEGL lets the external tests (package gl_test) skip, with a reason, where the machine has
// no usable EGL at all, as the internal ones do.
var ErrNoEGL = errNoEGL

// SetCulling turns the skipping of closed meshes' back faces on (the default) or off, so
// tests can check that it changes no pixel.
func SetCulling(r *Renderer, on bool) { r.noCull = !on }
