package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/meshpipe/meshpipe/internal/drawtest"
	"github.com/meshpipe/meshpipe/internal/testenv"
)

// These tests drive the entry points' Go side in this process, as a host would through the C
// ones; plugin_test.go runs the built plugin in ffmpeg.

// lockedBuffer collects what instances say.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func captureStderr(t *testing.T) *lockedBuffer {
	t.Helper()
	buf := &lockedBuffer{}
	old := stderr
	stderr = buf
	t.Cleanup(func() { stderr = old })
	return buf
}

func construct(t *testing.T, w, h int) unsafe.Pointer {
	t.Helper()
	t.Setenv("MESHPIPE_ORT_LIB", testenv.ORTLibrary(t))
	p := mpConstruct(uint32(w), uint32(h))
	if p == nil {
		t.Fatalf("mpConstruct(%d, %d) failed", w, h)
	}
	t.Cleanup(func() { mpDestruct(p) })
	return p
}

// setString sets a string parameter the way hosts do: through a pointer to a char*.
func setString(p unsafe.Pointer, index int, v string) {
	b := append([]byte(v), 0)
	ptr := &b[0]
	mpSetParam(p, unsafe.Pointer(&ptr), int32(index))
}

func getString(p unsafe.Pointer, index int) string {
	var ptr *byte
	mpGetParam(p, unsafe.Pointer(&ptr), int32(index))
	if ptr == nil {
		return "<nil>"
	}
	var b []byte
	for q := unsafe.Pointer(ptr); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// param returns the index of the parameter called name.
func param(t *testing.T, name string) int {
	t.Helper()
	for i, p := range params {
		if p.Name == name {
			return i
		}
	}
	t.Fatalf("no parameter %s", name)
	return -1
}

var paramModel, paramDetector, paramAlpha, paramColor, paramBody, paramPoseModel, paramMaxPeople = 0, 1, 2, 3, 4, 6, 8

func setAlpha(p unsafe.Pointer, v float64) { mpSetParam(p, unsafe.Pointer(&v), int32(paramAlpha)) }

func getAlpha(p unsafe.Pointer) float64 {
	var v float64
	mpGetParam(p, unsafe.Pointer(&v), int32(paramAlpha))
	return v
}

// The parameters sit at the indices the tests and the README give them.
func TestParamIndices(t *testing.T) {
	for name, i := range map[string]int{"model": paramModel, "detector": paramDetector, "alpha": paramAlpha, "color": paramColor,
		"body": paramBody, "pose-model": paramPoseModel, "max-people": paramMaxPeople} {
		if got := param(t, name); got != i {
			t.Errorf("%s at %d, want %d", name, got, i)
		}
	}
}

func update(p unsafe.Pointer, src []byte) []byte {
	dst := make([]byte, len(src))
	mpUpdate(p, unsafe.Pointer(&src[0]), unsafe.Pointer(&dst[0]))
	return dst
}

func TestParamDefaultsAndRoundTrip(t *testing.T) {
	errs := captureStderr(t)
	p := construct(t, 64, 48)
	for i, want := range map[int]string{paramModel: "", paramDetector: "", paramColor: "default", paramBody: "",
		paramPoseModel: "", paramMaxPeople: "16", param(t, "device"): "auto", param(t, "samples"): "4", param(t, "threads"): "1"} {
		if got := getString(p, i); got != want {
			t.Errorf("default %s = %q, want %q", params[i].Name, got, want)
		}
	}
	if a := getAlpha(p); a != 1 {
		t.Errorf("default alpha %v, want 1", a)
	}
	setString(p, paramModel, "/models/hmr2.onnx")
	setString(p, paramMaxPeople, "3")
	setAlpha(p, 0.25)
	if got := getString(p, paramModel); got != "/models/hmr2.onnx" {
		t.Errorf("model %q after setting it", got)
	}
	if got := getString(p, paramMaxPeople); got != "3" {
		t.Errorf("max-people %q after setting it", got)
	}
	if a := getAlpha(p); a != 0.25 {
		t.Errorf("alpha %v after setting 0.25", a)
	}
	// Out-of-range indices and nil pointers are ignored.
	setString(p, len(params), "x")
	mpSetParam(p, nil, int32(paramModel))
	mpGetParam(p, nil, int32(paramModel))
	if got := getString(p, paramModel); got != "/models/hmr2.onnx" {
		t.Errorf("model %q after ignored calls", got)
	}
	// Two instances keep their own parameters.
	q := construct(t, 64, 48)
	if got := getString(q, paramModel); got != "" {
		t.Errorf("second instance's model %q, want the default", got)
	}
	if mpConstruct(0, 48) != nil {
		t.Error("a 0x48 instance was made")
	}
	if !strings.Contains(errs.String(), "frame size 0x48: width and height must be positive") {
		t.Errorf("no reason given for refusing 0x48: %q", errs)
	}
}

// Through the entry points: a core that cannot start is said once, prefixed with the instance,
// and frames pass through unchanged; fixing the parameter brings the meshes back, drawn with the
// input's alpha kept, into another buffer or in place.
func TestUpdatePassThroughThenDraw(t *testing.T) {
	errs := captureStderr(t)
	const w, h = 64, 48
	p := construct(t, w, h)
	id := lookup(p).id
	setString(p, paramPoseModel, "standin")
	setString(p, paramDetector, "full")
	setString(p, paramMaxPeople, "none")
	src := drawtest.RGBAPattern(w, h)
	for k := 0; k < 3; k++ {
		if dst := update(p, src); !bytes.Equal(dst, src) {
			t.Fatalf("frame %d changed though max-people is bad", k)
		}
	}
	want := fmt.Sprintf(`meshpipe frei0r: instance %d: max-people "none": want a whole number`, id)
	if n := linesWith(errs.String(), want); n != 1 {
		t.Errorf("%q said %d times, want once:\n%s", want, n, errs)
	}
	setString(p, paramMaxPeople, "2")
	dst := update(p, src)
	drawtest.CheckRGBA(t, src, dst, w, h, 20)
	inPlace := append([]byte(nil), src...)
	mpUpdate(p, unsafe.Pointer(&inPlace[0]), unsafe.Pointer(&inPlace[0]))
	if !bytes.Equal(inPlace, dst) {
		t.Error("drawing in place differs from drawing into another buffer")
	}
}

// linesWith counts the lines of s that contain sub.
func linesWith(s, sub string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

func TestCodeDir(t *testing.T) {
	// In a test binary the code is the executable itself.
	d := pluginDir()
	if d == "" || !filepath.IsAbs(d) {
		t.Fatalf("pluginDir() = %q, want the test binary's folder", d)
	}
	if codeDir(-1) != "" {
		t.Error("codeDir of no process found a folder")
	}
}
