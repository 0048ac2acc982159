//go:build cgo

package gl

/*
#cgo pkg-config: egl
#include <stdlib.h>
#include <string.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

// mp_has_ext reports whether the space-separated extension list has name as a whole word.
static int mp_has_ext(const char *list, const char *name) {
	if (list == NULL) return 0;
	size_t n = strlen(name);
	const char *p = list;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
		p += n;
	}
	return 0;
}

static const char *mp_client_extensions(void) {
	return eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
}

// mp_query_devices fills devs with up to max EGL devices and returns how many, or -1.
static EGLint mp_query_devices(EGLDeviceEXT *devs, EGLint max) {
	PFNEGLQUERYDEVICESEXTPROC q = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	if (q == NULL) return -1;
	EGLint n = 0;
	if (!q(max, devs, &n)) return -1;
	return n;
}

static EGLDeviceEXT mp_device_at(EGLDeviceEXT *devs, int i) { return devs[i]; }

// mp_device_kind returns 1 for a software device (EGL_MESA_device_software), else 0, and
// sets *file to the DRM device file when the device has one.
static int mp_device_kind(EGLDeviceEXT dev, const char **file) {
	*file = NULL;
	PFNEGLQUERYDEVICESTRINGEXTPROC q = (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	if (q == NULL) return 0;
	const char *exts = q(dev, EGL_EXTENSIONS);
	if (mp_has_ext(exts, "EGL_EXT_device_drm")) *file = q(dev, EGL_DRM_DEVICE_FILE_EXT);
	return mp_has_ext(exts, "EGL_MESA_device_software");
}

static EGLDisplay mp_platform_display(EGLenum platform, void *native) {
	PFNEGLGETPLATFORMDISPLAYEXTPROC g = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (g == NULL) return EGL_NO_DISPLAY;
	return g(platform, native, NULL);
}

static EGLDisplay mp_default_display(void) { return eglGetDisplay(EGL_DEFAULT_DISPLAY); }

static EGLContext mp_create_context(EGLDisplay dpy, int no_config, EGLint *step) {
	*step = 0;
	if (!eglBindAPI(EGL_OPENGL_API)) return EGL_NO_CONTEXT;
	EGLConfig cfg = NULL;
	EGLint n = 0;
	EGLint cattrs[] = {EGL_SURFACE_TYPE, 0, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
	*step = 1;
	if (!eglChooseConfig(dpy, cattrs, &cfg, 1, &n)) return EGL_NO_CONTEXT;
	if (n < 1) {
		*step = 2;
		if (!no_config) return EGL_NO_CONTEXT;
		cfg = EGL_NO_CONFIG_KHR;
	}
	EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 3,
		EGL_CONTEXT_MINOR_VERSION, 3,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	*step = 3;
	return eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, attrs);
}

static EGLBoolean mp_make_current(EGLDisplay dpy, EGLContext ctx) {
	return eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx);
}

static void mp_release(EGLDisplay dpy, EGLContext ctx) {
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	if (ctx != EGL_NO_CONTEXT) eglDestroyContext(dpy, ctx);
	eglReleaseThread();
}
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// eglDisplay is the process's one EGL display, chosen by the first renderer and shared by all
// later ones. It is initialised once and never terminated: eglTerminate would pull it from
// under every other context on it, and EGL displays are per process anyway.
var eglDisplay struct {
	mu       sync.Mutex
	ready    bool
	dpy      C.EGLDisplay
	platform string
	noConfig bool // EGL_KHR_no_config_context, the fallback when no config fits
}

// eglContext is one renderer's EGL context, current on its locked thread.
type eglContext struct {
	dpy      C.EGLDisplay
	ctx      C.EGLContext
	platform string
}

// newContext creates an OpenGL 3.3 core context and makes it current, with no surface, on the
// calling thread, which must be locked. The first call picks the display (see the package doc).
func newContext() (eglContext, error) {
	d := &eglDisplay
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ready {
		ctx, err := contextOn(d.dpy, d.noConfig)
		if err != nil {
			return eglContext{}, fmt.Errorf("gl: %s: %w", d.platform, err)
		}
		return eglContext{dpy: d.dpy, ctx: ctx, platform: d.platform}, nil
	}

	type candidate struct {
		name string
		dpy  C.EGLDisplay
	}
	var (
		cands    []candidate
		problems []string
	)
	clientExts := C.GoString(C.mp_client_extensions()) // "" when EGL has no client extensions
	has := func(ext string) bool { return hasExt(clientExts, ext) }
	if (has("EGL_EXT_device_enumeration") || has("EGL_EXT_device_base")) && has("EGL_EXT_platform_device") {
		var devs [16]C.EGLDeviceEXT
		n := int(C.mp_query_devices(&devs[0], C.EGLint(len(devs))))
		switch {
		case n < 0:
			problems = append(problems, "EGL device platform: eglQueryDevicesEXT failed ("+eglError()+")")
		case n == 0:
			problems = append(problems, "EGL device platform: no devices")
		}
		for i := 0; i < n; i++ {
			dev := C.mp_device_at(&devs[0], C.int(i))
			var file *C.char
			desc := fmt.Sprintf("EGL device platform, device %d", i)
			if C.mp_device_kind(dev, &file) != 0 {
				desc += " (software)"
			} else if file != nil {
				desc += " (" + C.GoString(file) + ")"
			}
			cands = append(cands, candidate{desc, C.mp_platform_display(C.EGL_PLATFORM_DEVICE_EXT, unsafe.Pointer(dev))})
		}
	} else {
		problems = append(problems, "EGL device platform: EGL_EXT_device_enumeration or EGL_EXT_platform_device missing")
	}
	if has("EGL_MESA_platform_surfaceless") {
		cands = append(cands, candidate{"EGL surfaceless platform (Mesa)", C.mp_platform_display(C.EGL_PLATFORM_SURFACELESS_MESA, nil)})
	} else {
		problems = append(problems, "EGL surfaceless platform: EGL_MESA_platform_surfaceless missing")
	}
	cands = append(cands, candidate{"EGL default display", C.mp_default_display()})

	initialised := false
	for _, c := range cands {
		if c.dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
			problems = append(problems, c.name+": no display ("+eglError()+")")
			continue
		}
		var major, minor C.EGLint
		if C.eglInitialize(c.dpy, &major, &minor) == C.EGL_FALSE {
			problems = append(problems, c.name+": eglInitialize failed ("+eglError()+")")
			continue
		}
		initialised = true
		noConfig := hasExt(C.GoString(C.eglQueryString(c.dpy, C.EGL_EXTENSIONS)), "EGL_KHR_no_config_context")
		ctx, err := contextOn(c.dpy, noConfig)
		if err != nil {
			problems = append(problems, c.name+": "+err.Error())
			continue // the display stays initialised; terminating it could hurt other users of it
		}
		d.ready, d.dpy, d.noConfig = true, c.dpy, noConfig
		d.platform = fmt.Sprintf("%s, EGL %d.%d", c.name, major, minor)
		return eglContext{dpy: c.dpy, ctx: ctx, platform: d.platform}, nil
	}
	err := fmt.Errorf("gl: no EGL display gives an OpenGL 3.3 core context: %s; %s", strings.Join(problems, "; "), eglHelp)
	if !initialised {
		err = fmt.Errorf("%w: %w", errNoEGL, err)
	}
	return eglContext{}, err
}

// eglHelp says what a headless OpenGL context needs, for the error when there is none.
const eglHelp = "meshpipe draws with OpenGL 3.3 core through EGL, without a window: it needs an EGL " +
	"vendor library and a Mesa driver (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri; Mesa's llvmpipe needs no GPU)"

// contextOn creates a 3.3 core context on dpy and makes it current without a surface.
func contextOn(dpy C.EGLDisplay, noConfig bool) (C.EGLContext, error) {
	nc := C.int(0)
	if noConfig {
		nc = 1
	}
	var step C.EGLint
	ctx := C.mp_create_context(dpy, nc, &step)
	if ctx == C.EGLContext(C.EGL_NO_CONTEXT) {
		what := [...]string{"eglBindAPI(EGL_OPENGL_API)", "eglChooseConfig", "eglChooseConfig: no OpenGL config", "eglCreateContext(OpenGL 3.3 core)"}[step]
		return nil, fmt.Errorf("%s failed (%s)", what, eglError())
	}
	if C.mp_make_current(dpy, ctx) == C.EGL_FALSE {
		err := fmt.Errorf("eglMakeCurrent with no surface failed (%s)", eglError())
		C.eglDestroyContext(dpy, ctx)
		return nil, err
	}
	return ctx, nil
}

// destroy releases the context from the calling thread and destroys it.
func (c *eglContext) destroy() {
	if c.ctx == nil {
		return
	}
	C.mp_release(c.dpy, c.ctx)
	c.ctx = nil
}

// eglProcAddress is the loader go-gl uses to find OpenGL functions.
func eglProcAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return unsafe.Pointer(C.eglGetProcAddress(cs))
}

func hasExt(list, name string) bool {
	for _, e := range strings.Fields(list) {
		if e == name {
			return true
		}
	}
	return false
}

var eglErrors = map[C.EGLint]string{
	C.EGL_SUCCESS:             "EGL_SUCCESS",
	C.EGL_NOT_INITIALIZED:     "EGL_NOT_INITIALIZED",
	C.EGL_BAD_ACCESS:          "EGL_BAD_ACCESS",
	C.EGL_BAD_ALLOC:           "EGL_BAD_ALLOC",
	C.EGL_BAD_ATTRIBUTE:       "EGL_BAD_ATTRIBUTE",
	C.EGL_BAD_CONFIG:          "EGL_BAD_CONFIG",
	C.EGL_BAD_CONTEXT:         "EGL_BAD_CONTEXT",
	C.EGL_BAD_CURRENT_SURFACE: "EGL_BAD_CURRENT_SURFACE",
	C.EGL_BAD_DISPLAY:         "EGL_BAD_DISPLAY",
	C.EGL_BAD_MATCH:           "EGL_BAD_MATCH",
	C.EGL_BAD_NATIVE_PIXMAP:   "EGL_BAD_NATIVE_PIXMAP",
	C.EGL_BAD_NATIVE_WINDOW:   "EGL_BAD_NATIVE_WINDOW",
	C.EGL_BAD_PARAMETER:       "EGL_BAD_PARAMETER",
	C.EGL_BAD_SURFACE:         "EGL_BAD_SURFACE",
	C.EGL_CONTEXT_LOST:        "EGL_CONTEXT_LOST",
}

// eglError names (and clears) the calling thread's last EGL error.
func eglError() string {
	e := C.eglGetError()
	if s, ok := eglErrors[e]; ok {
		return s
	}
	return fmt.Sprintf("EGL error 0x%x", int(e))
}
