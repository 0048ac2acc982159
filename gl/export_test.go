package gl

// ErrNoEGL lets the external tests (package gl_test) skip, with a reason, where the machine has
// no usable EGL at all, as the internal ones do.
var ErrNoEGL = errNoEGL
