//go:build cgo

package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// mp_api_base has the layout of ONNX Runtime's OrtApiBase (onnxruntime_c_api.h), which has
// kept these two members, in this order, since its first release.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} mp_api_base;

typedef const mp_api_base *(*mp_get_api_base)(void);

// mp_probe opens the library at path and asks it for its version string (copied into
// version) and for the C API version api. It returns 0 when the library has OrtGetApiBase,
// with *has_api set when GetApi(api) is not NULL; 1 when dlopen fails, 2 when the library
// has no OrtGetApiBase, 3 when OrtGetApiBase returns NULL (err then holds dlerror's text).
// A library that answers stays open, so that loading it again is cheap.
static int mp_probe(const char *path, uint32_t api, char *version, size_t vlen, int *has_api, char *err, size_t elen) {
	*has_api = 0;
	version[0] = 0;
	err[0] = 0;
	void *h = dlopen(path, RTLD_LAZY);
	if (h == NULL) {
		snprintf(err, elen, "%s", dlerror());
		return 1;
	}
	mp_get_api_base get = (mp_get_api_base)dlsym(h, "OrtGetApiBase");
	if (get == NULL) {
		snprintf(err, elen, "%s", dlerror());
		dlclose(h);
		return 2;
	}
	const mp_api_base *base = get();
	if (base == NULL) {
		dlclose(h);
		return 3;
	}
	if (base->GetVersionString != NULL) {
		const char *v = base->GetVersionString();
		if (v != NULL) snprintf(version, vlen, "%s", v);
	}
	*has_api = base->GetApi != NULL && base->GetApi(api) != NULL;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// checkLibrary opens the ONNX Runtime library at path before onnxruntime_go does, to tell
// what is wrong in words when it cannot be used: a file that is not a loadable shared
// library, one that is not ONNX Runtime (no OrtGetApiBase), or an ONNX Runtime older than
// MinVersion (whose GetApi does not serve apiVersion). It returns the library's version.
func checkLibrary(path string) (version string, err error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var vbuf, ebuf [256]C.char
	var hasAPI C.int
	rc := C.mp_probe(cpath, apiVersion, &vbuf[0], C.size_t(len(vbuf)), &hasAPI, &ebuf[0], C.size_t(len(ebuf)))
	version = C.GoString(&vbuf[0])
	why := C.GoString(&ebuf[0])
	const help = "run scripts/setup.sh (it installs ONNX Runtime 1.29.0), or name another library with -ort-lib or " + LibraryEnv
	switch rc {
	case 1:
		return "", fmt.Errorf("ONNX Runtime library %s does not load (%s); %s", path, why, help)
	case 2, 3:
		return "", fmt.Errorf("%s is not an ONNX Runtime library: it has no working OrtGetApiBase; %s", path, help)
	}
	ok, perr := versionAtLeast(version, MinVersion)
	switch {
	case hasAPI == 0 && perr == nil && !ok:
		return version, fmt.Errorf("ONNX Runtime %s (%s) is too old: meshpipe needs %s or newer; %s", version, path, MinVersion, help)
	case hasAPI == 0:
		return version, fmt.Errorf("ONNX Runtime %q (%s) does not serve C API version %d, which meshpipe needs (ONNX Runtime %s or newer); %s",
			version, path, apiVersion, MinVersion, help)
	}
	return version, nil
}
