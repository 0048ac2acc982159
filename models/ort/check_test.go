//go:build cgo

package ort

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

// Libraries that cannot serve meshpipe are refused by name, with the reason and the version
// found; the real one passes. (Only checkLibrary sees the fakes: Init is once per process.)
func TestCheckLibrary(t *testing.T) {
	text := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(text, []byte("not a library\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, version string
		want                []string
	}{
		{"text file", text, "", []string{text, "does not load", "run scripts/setup.sh"}},
		{"missing", "/nonexistent/libonnxruntime.so.1", "", []string{"/nonexistent/libonnxruntime.so.1", "does not load"}},
		{"not ONNX Runtime", testenv.SharedLibrary(t, "libfoo.so", "int foo(void) { return 1; }\n"), "",
			[]string{"libfoo.so is not an ONNX Runtime library", "OrtGetApiBase"}},
		{"too old", testenv.SharedLibrary(t, "libonnxruntime.so.1", testenv.FakeORTSource("1.16.3", 16)), "1.16.3",
			[]string{"ONNX Runtime 1.16.3", "is too old: meshpipe needs 1.24.0 or newer", "-ort-lib"}},
		{"new version without the API", testenv.SharedLibrary(t, "libonnxruntime.so.1", testenv.FakeORTSource("1.30.0", 16)), "1.30.0",
			[]string{`ONNX Runtime "1.30.0"`, "does not serve C API version 24"}},
		{"no version", testenv.SharedLibrary(t, "libonnxruntime.so.1", testenv.FakeORTSource("", 16)), "",
			[]string{`ONNX Runtime ""`, "does not serve C API version 24"}},
	} {
		v, err := checkLibrary(c.path)
		if err == nil || v != c.version {
			t.Errorf("%s: version %q, error %v; want version %q and an error", c.name, v, err, c.version)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
		if !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q does not name the file", c.name, err)
		}
	}
	// A library that serves API version 24 passes, whatever else it lacks.
	fine := testenv.SharedLibrary(t, "libonnxruntime.so.1", testenv.FakeORTSource("1.24.1", 24))
	if v, err := checkLibrary(fine); err != nil || v != "1.24.1" {
		t.Errorf("a library serving API 24: %q, %v", v, err)
	}
	real := testenv.ORTLibrary(t)
	if v, err := checkLibrary(real); err != nil || v != "1.29.0" {
		t.Errorf("%s: %q, %v; want 1.29.0", real, v, err)
	}
}
