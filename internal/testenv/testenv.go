// Package testenv finds what the project's tests need on this machine: the project root, the
// shared test data beside it (../shared) and the sample media that scripts/setup.sh installs.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Root returns the project root: the nearest directory at or above the working directory that
// holds go.mod. It fails the test when there is none.
func Root(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("no go.mod above the working directory")
		}
		d = p
	}
}

// Shared returns the path of name inside ../shared, beside the project root (for example
// "models/yolox_nano.onnx"). It fails the test when the file is missing: CI lays shared/ beside
// every clone, so a missing file is a broken set-up, not a reason to skip.
func Shared(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), "..", "shared", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test file: %v", err)
	}
	return p
}

// Sample returns the path of a sample video that scripts/setup.sh installs into .deps/samples
// (vtest.avi, g1.avi). It fails the test, naming the set-up script, when the file is missing.
func Sample(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), ".deps", "samples", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sample video missing (run scripts/setup.sh): %v", err)
	}
	return p
}

// ORTLibrary returns the ONNX Runtime library that scripts/setup.sh unpacks into .deps. It
// fails the test when it is missing.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Root(t), ".deps", "onnxruntime-1.29.0", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ONNX Runtime library missing (run scripts/setup.sh): %v", err)
	}
	return p
}

// Python runs Debian's /usr/bin/python3 with args (a script and its arguments) and returns
// its standard output. It fails the test with the script's standard error when it fails; the
// reference scripts need python3-numpy, python3-opencv and python3-torch, which
// scripts/setup.sh installs.
func Python(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("/usr/bin/python3 %s: %v\n%s(the reference scripts need python3-numpy, python3-opencv and python3-torch: run scripts/setup.sh)",
			strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Deps returns the path of name inside the project's .deps folder, where scripts/setup.sh
// installs what it fetches and makes (for example "models/blazepose-lite.onnx"). It fails the
// test, naming the set-up script, when the file is missing.
func Deps(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), ".deps", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("missing (run scripts/setup.sh): %v", err)
	}
	return p
}

// SharedLibrary compiles the C source src with gcc (which scripts/setup.sh installs) into a
// shared library called name in a fresh temporary directory and returns its path. Tests use
// it for stand-ins of native libraries: an ONNX Runtime that is too old, a library that is
// not ONNX Runtime at all.
func SharedLibrary(t testing.TB, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "lib.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, name)
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", lib, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc -shared %s: %v\n%s", c, err, out)
	}
	return lib
}

// FakeORTSource is the C source of a stand-in ONNX Runtime library for SharedLibrary: its
// OrtGetApiBase answers GetVersionString with version and GetApi(v) with a non-NULL (but
// unusable) pointer only for v <= maxAPI, as ONNX Runtime 1.maxAPI would. Only a library
// check may load it: nothing in it can run a model.
func FakeORTSource(version string, maxAPI int) string {
	return fmt.Sprintf(`#include <stddef.h>
#include <stdint.h>
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} api_base;
static const void *get_api(uint32_t v) { return v <= %d ? (const void *)&get_api : NULL; }
static const char *get_version(void) { return %q; }
static const api_base base = {get_api, get_version};
const api_base *OrtGetApiBase(void) { return &base; }
`, maxAPI, version)
}
