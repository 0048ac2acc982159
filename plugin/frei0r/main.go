// Command frei0r is meshpipe as a frei0r filter plugin, for ffmpeg (-vf frei0r), GStreamer's
// frei0r wrapper (frei0r-filter-meshpipe) and MLT (melt, Kdenlive, Shotcut). Build it as a
// shared library named after the filter:
//
//	go build -buildmode=c-shared -o bin/frei0r/meshpipe.so ./plugin/frei0r
//	FREI0R_PATH=$PWD/bin/frei0r ffmpeg -i in.mp4 \
//	  -vf 'frei0r=filter_name=meshpipe:filter_params=|bgsub|1|track' out.mp4
//
// This package is only the frei0r entry points and the C copies of the strings they hand out;
// all the work is package filter's: one filter.Filter per instance (f0r_construct), whose
// parameters are the pipe's options under the same names and defaults (filter.Params), made
// into parts on the first frame and run one frame per f0r_update through the stage graph's own
// code. The C side (frei0r.c) only forwards to the functions here.
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
)

// main is never run: the package is built with -buildmode=c-shared.
func main() {}

// Plugin version, reported through f0r_get_plugin_info.
const (
	versionMajor = 0
	versionMinor = 1
)

// params are the plugin's parameters, by frei0r index (the README's table says the same).
var params = filter.Params()

// fixed holds the C copies of the plugin's fixed strings, made once and never freed, since
// hosts keep the pointers f0r_get_plugin_info and f0r_get_param_info hand out.
type fixed struct {
	once                     sync.Once
	name, author, explain    *C.char
	paramNames, paramExplain []*C.char
}

var cStrings fixed

func fixedStrings() *fixed {
	cStrings.once.Do(func() {
		cStrings.name = C.CString("meshpipe")
		cStrings.author = C.CString("the meshpipe authors")
		cStrings.explain = C.CString("draws the recovered 3D body mesh of every person over each frame")
		for _, p := range params {
			cStrings.paramNames = append(cStrings.paramNames, C.CString(p.Name))
			cStrings.paramExplain = append(cStrings.paramExplain, C.CString(p.Explanation))
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
	info.num_params = C.int(len(params))
	info.explanation = s.explain
}

//export mpParamInfo
func mpParamInfo(info *C.f0r_param_info_t, index int32) {
	if index < 0 || int(index) >= len(params) {
		return
	}
	s := fixedStrings()
	info.name = s.paramNames[index]
	info._type = C.F0R_PARAM_STRING
	if params[index].Kind == filter.Double {
		info._type = C.F0R_PARAM_DOUBLE
	}
	info.explanation = s.paramExplain[index]
}

// instances counts the instances made, to name each one in messages.
var instances atomic.Int64

// instance is one f0r_construct: its filter and the C copies of its string parameters, which
// f0r_get_param_value hands out. frei0r lets only one thread into an instance at a time; mu
// guards against hosts that do not keep to that.
type instance struct {
	mu     sync.Mutex
	id     int64
	w, h   int
	filter *filter.Filter
	cstr   []*C.char // by parameter index; nil for a Double
}

//export mpConstruct
func mpConstruct(width, height uint32) unsafe.Pointer {
	id := instances.Add(1)
	say := func(msg string) { fmt.Fprintf(stderr, "meshpipe frei0r: instance %d: %s\n", id, msg) }
	f, err := filter.New(int(width), int(height), pluginDir(), say)
	if err != nil {
		say(err.Error())
		return nil
	}
	in := &instance{id: id, w: int(width), h: int(height), filter: f, cstr: make([]*C.char, len(params))}
	for i, p := range params {
		if p.Kind == filter.String {
			in.cstr[i] = C.CString(p.Default.Text)
		}
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
	in.filter.Close()
	for i, s := range in.cstr {
		C.free(unsafe.Pointer(s))
		in.cstr[i] = nil
	}
	in.mu.Unlock()
	cgo.Handle(*(*C.uintptr_t)(p)).Delete()
	C.free(p)
}

//export mpSetParam
func mpSetParam(p unsafe.Pointer, param unsafe.Pointer, index int32) {
	in := lookup(p)
	if in == nil || param == nil || index < 0 || int(index) >= len(params) {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch params[index].Kind {
	case filter.Double:
		in.filter.Set(int(index), filter.Value{Number: float64(*(*C.double)(param))})
	case filter.String:
		s := *(**C.char)(param)
		v := ""
		if s != nil {
			v = C.GoString(s)
		}
		in.filter.Set(int(index), filter.Value{Text: v})
		C.free(unsafe.Pointer(in.cstr[index]))
		in.cstr[index] = C.CString(v)
	}
}

//export mpGetParam
func mpGetParam(p unsafe.Pointer, param unsafe.Pointer, index int32) {
	in := lookup(p)
	if in == nil || param == nil || index < 0 || int(index) >= len(params) {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch params[index].Kind {
	case filter.Double:
		*(*C.double)(param) = C.double(in.filter.Get(int(index)).Number)
	case filter.String:
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
	in.filter.Update(src, dst)
}

// stderr is where instances say what went wrong (a variable for the tests).
var stderr io.Writer = os.Stderr

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
