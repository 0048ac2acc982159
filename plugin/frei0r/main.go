// Command frei0r is meshpipe as a frei0r filter plugin, for ffmpeg (-vf frei0r), GStreamer and
// MLT-based editors. Build it as a shared library named after the filter:
//
//	go build -buildmode=c-shared -o bin/frei0r/meshpipe.so ./plugin/frei0r
//	FREI0R_PATH=$PWD/bin/frei0r ffmpeg -i in.mp4 \
//	  -vf 'frei0r=filter_name=meshpipe:filter_params=|bgsub|1|track' out.mp4
//
// The plugin works in frei0r's RGBA8888 colour model. Each f0r_update converts its frame to
// rgb24, runs meshpipe's one-frame core (package filter: detect, track, pose, render) on it and
// writes the result back with the input's alpha, so every call returns its own frame with its
// own people drawn. Each instance (f0r_construct) builds its own core on its first frame: its
// own ONNX Runtime sessions, detector state, tracker and OpenGL context.
//
// frei0r has no error channel: when an instance cannot work (a model file missing, no ONNX
// Runtime, no usable OpenGL, a bad parameter) it says why once on stderr and passes every frame
// through unchanged. The C side (frei0r.c) is only the frei0r entry points, forwarding here.
package main

/*
#include <stdlib.h>
#include <frei0r.h>
*/
import "C"

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/meshpipe/meshpipe/filter"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// main is never run: the package is built with -buildmode=c-shared.
func main() {}

// Plugin version, reported through f0r_get_plugin_info.
const (
	versionMajor = 0
	versionMinor = 1
)

// Parameter indices, in the order ffmpeg's filter_params takes them (positional, '|'
// separated).
const (
	paramModel = iota
	paramDetector
	paramAlpha
	paramColor
	paramBody
	paramORTLib
	paramCount
)

// paramSpec is one frei0r parameter: its short name, frei0r type and explanation.
type paramSpec struct {
	name        string
	kind        C.int
	explanation string
}

// params lists the parameters by index. The README's table says the same.
var params = [paramCount]paramSpec{
	paramModel: {"model", C.F0R_PARAM_STRING,
		"pose model PATH.onnx keeping meshpipe's HMR2 contract; empty: the built-in stand-in (one fixed standing pose)"},
	paramDetector: {"detector", C.F0R_PARAM_STRING,
		"person detector: nanodet (NanoDet-g, set up by scripts/setup.sh), bgsub (background subtraction, fixed cameras), full (the whole frame is one person), none, or a YOLOX- or NanoDet-style PATH.onnx; empty: nanodet when its file is found, else bgsub"},
	paramAlpha: {"alpha", C.F0R_PARAM_DOUBLE,
		"mesh opacity over the frame, 0..1 (default 1)"},
	paramColor: {"color", C.F0R_PARAM_STRING,
		"mesh colour: default (4D-Humans' light blue) or track (one colour per tracked person)"},
	paramBody: {"body", C.F0R_PARAM_STRING,
		"body model file; not read yet (SMPL support is still to come): the built-in mannequin is drawn, and a file given is only checked to exist"},
	paramORTLib: {"ort_lib", C.F0R_PARAM_STRING,
		"ONNX Runtime library PATH; empty: $MESHPIPE_ORT_LIB, else .deps/onnxruntime-*/ of the meshpipe checkout the plugin sits in"},
}

// cStrings holds the C copies of the plugin's fixed strings, made once and never freed, since
// hosts keep the pointers f0r_get_plugin_info and f0r_get_param_info hand out.
type fixed struct {
	once                     sync.Once
	name, author, explain    *C.char
	paramNames, paramExplain [paramCount]*C.char
}

var cStrings fixed

func fixedStrings() *fixed {
	cStrings.once.Do(func() {
		cStrings.name = C.CString("meshpipe")
		cStrings.author = C.CString("the meshpipe authors")
		cStrings.explain = C.CString("draws the recovered 3D body mesh of every person over each frame")
		for i, p := range params {
			cStrings.paramNames[i] = C.CString(p.name)
			cStrings.paramExplain[i] = C.CString(p.explanation)
		}
	})
	return &cStrings
}

//export mpPluginInfo
func mpPluginInfo(info *C.f0r_plugin_info_t) {
	s := fixedStrings()
	info.name = s.name
	info.author = s.author
	info.plugin_type = C.F0R_PLUGIN_TYPE_FILTER
	info.color_model = C.F0R_COLOR_MODEL_RGBA8888
	info.frei0r_version = C.FREI0R_MAJOR_VERSION
	info.major_version = versionMajor
	info.minor_version = versionMinor
	info.num_params = paramCount
	info.explanation = s.explain
}

//export mpParamInfo
func mpParamInfo(info *C.f0r_param_info_t, index int32) {
	if index < 0 || index >= paramCount {
		return
	}
	s := fixedStrings()
	info.name = s.paramNames[index]
	info._type = params[index].kind
	info.explanation = s.paramExplain[index]
}

// instances counts the instances made, to name each one in messages.
var instances atomic.Int64

// instance is one f0r_construct: its parameters, its core (built on the first frame, and again
// after a parameter it was built from changes) and its buffers. frei0r lets only one thread
// into an instance at a time; mu guards against hosts that do not keep to that.
type instance struct {
	mu   sync.Mutex
	id   int64
	w, h int

	// Parameters as set; strings also as the C copies f0r_get_param_value hands out.
	str   [paramCount]string
	cstr  [paramCount]*C.char
	alpha float64

	core     *filter.Core
	builtFor buildKey // what core was built from, or what the last failed build was tried with
	tried    bool     // a build was tried for builtFor

	rgb      rawvideo.Frame // the frame in rgb24, reused
	frames   int64          // frames seen
	failed   int64          // frames passed through because Apply failed
	reported map[string]bool
}

// buildKey is what a core is built from; a change of any of it builds a new core.
type buildKey struct{ model, detector, body, ortLib string }

//export mpConstruct
func mpConstruct(width, height uint32) unsafe.Pointer {
	id := instances.Add(1)
	w, h := int(width), int(height)
	if _, err := rawvideo.FrameSize(w, h); err != nil {
		fmt.Fprintf(stderr, "meshpipe frei0r: instance %d: %v\n", id, err)
		return nil
	}
	in := &instance{id: id, w: w, h: h, alpha: 1, reported: map[string]bool{}}
	in.setString(paramColor, "default")
	for _, i := range []int{paramModel, paramDetector, paramBody, paramORTLib} {
		in.setString(i, "")
	}
	// The host holds a pointer to C memory that holds the handle: no Go pointer goes to C.
	p := C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0))))
	*(*C.uintptr_t)(p) = C.uintptr_t(cgo.NewHandle(in))
	return p
}

// lookup returns the instance behind a pointer mpConstruct returned; nil for nil.
func lookup(p unsafe.Pointer) *instance {
	if p == nil {
		return nil
	}
	in, _ := cgo.Handle(*(*C.uintptr_t)(p)).Value().(*instance)
	return in
}

//export mpDestruct
func mpDestruct(p unsafe.Pointer) {
	in := lookup(p)
	if in == nil {
		return
	}
	in.mu.Lock()
	if in.core != nil {
		if err := in.core.Close(); err != nil {
			in.say("closing: %v", err)
		}
		in.core = nil
	}
	if in.failed > 0 {
		in.say("%d of %d frames passed through unchanged because of errors", in.failed, in.frames)
	}
	for i, s := range in.cstr {
		C.free(unsafe.Pointer(s))
		in.cstr[i] = nil
	}
	in.mu.Unlock()
	cgo.Handle(*(*C.uintptr_t)(p)).Delete()
	C.free(p)
}

// setString stores a string parameter and its C copy.
func (in *instance) setString(i int, s string) {
	in.str[i] = s
	if in.cstr[i] != nil {
		C.free(unsafe.Pointer(in.cstr[i]))
	}
	in.cstr[i] = C.CString(s)
}

//export mpSetParam
func mpSetParam(p unsafe.Pointer, param unsafe.Pointer, index int32) {
	in := lookup(p)
	if in == nil || param == nil || index < 0 || index >= paramCount {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch params[index].kind {
	case C.F0R_PARAM_DOUBLE:
		in.alpha = float64(*(*C.double)(param))
	case C.F0R_PARAM_STRING:
		s := *(**C.char)(param)
		v := ""
		if s != nil {
			v = C.GoString(s)
		}
		in.setString(int(index), v)
	}
}

//export mpGetParam
func mpGetParam(p unsafe.Pointer, param unsafe.Pointer, index int32) {
	in := lookup(p)
	if in == nil || param == nil || index < 0 || index >= paramCount {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch params[index].kind {
	case C.F0R_PARAM_DOUBLE:
		*(*C.double)(param) = C.double(in.alpha)
	case C.F0R_PARAM_STRING:
		*(**C.char)(param) = in.cstr[index]
	}
}

//export mpUpdate
func mpUpdate(p unsafe.Pointer, inFrame, outFrame unsafe.Pointer) {
	in := lookup(p)
	if in == nil || inFrame == nil || outFrame == nil {
		return
	}
	n := filter.RGBABytesPerPixel * in.w * in.h
	src := unsafe.Slice((*byte)(inFrame), n)
	dst := unsafe.Slice((*byte)(outFrame), n)
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.update(src, dst) && &src[0] != &dst[0] {
		copy(dst, src)
	}
}

// update draws the people of src into dst and reports whether it did; when it did not, the
// caller passes the frame through. Whatever goes wrong is said once on stderr.
func (in *instance) update(src, dst []byte) (ok bool) {
	seq := in.frames
	in.frames++
	defer func() {
		if r := recover(); r != nil {
			in.frameFailed(fmt.Errorf("frame %d: panic: %v", seq, r))
			ok = false
		}
	}()
	core := in.ensureCore()
	if core == nil {
		return false
	}
	if !(in.alpha >= 0 && in.alpha <= 1) {
		in.once("alpha %v: must be within 0..1; frames pass through unchanged until it is", in.alpha)
		return false
	}
	mode, err := filter.ParseColorMode(in.str[paramColor])
	if err != nil {
		in.once("%v; frames pass through unchanged until it is", err)
		return false
	}
	core.Alpha, core.Color = in.alpha, mode
	if err := filter.FromRGBA(&in.rgb, src, in.w, in.h); err != nil {
		in.frameFailed(err)
		return false
	}
	in.rgb.Seq = seq
	people, err := core.Apply(&in.rgb)
	if err != nil {
		in.frameFailed(err)
		return false
	}
	if people == 0 && &src[0] != &dst[0] {
		copy(dst, src)
		return true
	}
	if err := filter.ToRGBA(dst, &in.rgb, src); err != nil {
		in.frameFailed(err)
		return false
	}
	return true
}

// ensureCore returns the instance's core, building it first when there is none for the
// current parameters; nil when it cannot be built (said once per set of parameters).
func (in *instance) ensureCore() *filter.Core {
	key := buildKey{in.str[paramModel], in.str[paramDetector], in.str[paramBody], in.str[paramORTLib]}
	if in.tried && key == in.builtFor {
		return in.core
	}
	if in.core != nil {
		if err := in.core.Close(); err != nil {
			in.say("closing the previous core: %v", err)
		}
		in.core = nil
	}
	in.tried, in.builtFor = true, key
	o := filter.DefaultOptions()
	o.Model, o.Detector, o.Body, o.ORTLib = key.model, key.detector, key.body, key.ortLib
	o.ORTSearchDir = pluginDir()
	core, err := filter.Build(o)
	if err != nil {
		in.say("cannot start, so frames pass through unchanged: %v", err)
		return nil
	}
	for _, note := range core.Notes() {
		in.say("%s", note)
	}
	in.core = core
	return core
}

// frameFailed says the first frame error of an instance; later ones are only counted and
// summed up when the instance ends.
func (in *instance) frameFailed(err error) {
	in.failed++
	if in.failed == 1 {
		in.say("%v; that frame passes through unchanged (later frame errors are only counted)", err)
	}
}

// once says a message the first time it comes up for this instance.
func (in *instance) once(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !in.reported[msg] {
		in.reported[msg] = true
		in.say("%s", msg)
	}
}

// stderr is where instances say what went wrong (a variable for the tests).
var stderr io.Writer = os.Stderr

func (in *instance) say(format string, args ...any) {
	fmt.Fprintf(stderr, "meshpipe frei0r: instance %d: %s\n", in.id, fmt.Sprintf(format, args...))
}

var pluginDirOnce = sync.OnceValue(func() string { return codeDir(os.Getpid()) })

// pluginDir returns the folder of the loaded plugin file ("" when unknown), where the search
// for the project's ONNX Runtime library starts.
func pluginDir() string { return pluginDirOnce() }

// codeDir finds the file mapped at this package's code in /proc/PID/maps and returns its
// folder: the plugin's, when loaded into a host. "" when it cannot tell.
func codeDir(pid int) string {
	addr := uint64(reflect.ValueOf(codeDir).Pointer())
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || addr < a || addr >= b {
			continue
		}
		path := strings.Join(fields[5:], " ")
		if !filepath.IsAbs(path) {
			return ""
		}
		return filepath.Dir(path)
	}
	return ""
}
