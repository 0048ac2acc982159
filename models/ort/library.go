package ort

import (
	"os"
	"path/filepath"

	"github.com/meshpipe/meshpipe/models"
)

// LibraryName is the ONNX Runtime shared library's file name on Linux.
const LibraryName = "libonnxruntime.so.1"

// LibraryEnv is the environment variable that names the ONNX Runtime library when no flag does.
const LibraryEnv = "MESHPIPE_ORT_LIB"

// ProjectLibrary is where scripts/setup.sh unpacks the pinned ONNX Runtime library, relative to
// the project root (npm package onnxruntime-node, bin/napi-v6/linux/x64).
const ProjectLibrary = ".deps/onnxruntime-1.29.0/" + LibraryName

// LibraryInputs is what FindLibrary looks at. Keeping it a plain struct makes the search a pure
// function that tests drive with tables.
type LibraryInputs struct {
	// Flag is the --ort-lib value; "" when not given.
	Flag string
	// Env is the value of MESHPIPE_ORT_LIB; "" when unset.
	Env string
	// ExeDir is the directory of the running executable; "" when unknown.
	ExeDir string
	// WorkDir is the working directory; "" when unknown.
	WorkDir string
	// Exists reports whether a file exists at path; nil means os.Stat.
	Exists func(path string) bool
}

// FindLibrary returns the ONNX Runtime library to load and every path it tried, in order: the
// flag, then the environment variable, then ProjectLibrary under ExeDir and WorkDir and each of
// their parents. A flag or variable that is set wins even when its file is missing, so that the
// error names what the user asked for. found is "" when nothing exists.
func FindLibrary(in LibraryInputs) (found string, tried []string) {
	exists := in.Exists
	if exists == nil {
		exists = func(p string) bool { _, err := os.Stat(p); return err == nil }
	}
	for _, p := range []string{in.Flag, in.Env} {
		if p != "" {
			tried = append(tried, p)
			if exists(p) {
				return p, tried
			}
			return "", tried
		}
	}
	found, more := models.SearchUp(ProjectLibrary, exists, in.ExeDir, in.WorkDir)
	return found, append(tried, more...)
}

// DefaultLibraryInputs fills LibraryInputs from the process: the flag value given, the
// environment, the executable's directory and the working directory.
func DefaultLibraryInputs(flag string) LibraryInputs {
	in := LibraryInputs{Flag: flag, Env: os.Getenv(LibraryEnv)}
	if exe, err := os.Executable(); err == nil {
		in.ExeDir = filepath.Dir(exe)
	}
	if wd, err := os.Getwd(); err == nil {
		in.WorkDir = wd
	}
	return in
}
