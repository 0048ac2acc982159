package models

import (
	"os"
	"path/filepath"
)

// ModelDirEnv is the environment variable that names the folder of meshpipe's model files
// (such as blazepose-full.onnx) when no flag does.
const ModelDirEnv = "MESHPIPE_MODELS"

// ProjectModelDir is where scripts/setup.sh puts the model files it converts, relative to the
// project root.
const ProjectModelDir = ".deps/models"

// Model files, as scripts/setup.sh names them in the model folder.
const (
	// BlazePoseDetectorFile is BlazePose's own person-region detector.
	BlazePoseDetectorFile = "blazepose-detector.onnx"
	// NanoDetFile is NanoDet-g (NanoDet-style, input size free), meshpipe's default person
	// detector when it is found.
	NanoDetFile = "nanodet.onnx"
)

// BlazePoseFile returns the file name of a BlazePose GHUM landmark model variant: "lite",
// "full" or "heavy" (blazepose-full.onnx, ...).
func BlazePoseFile(variant string) string { return "blazepose-" + variant + ".onnx" }

// ModelInputs is what FindModel looks at: a plain struct, so that the search is a pure function
// that tests drive with tables.
type ModelInputs struct {
	// Dir is the folder given on the command line; "" when not given.
	Dir string
	// Env is the value of MESHPIPE_MODELS; "" when unset.
	Env string
	// ExeDir is the directory of the running executable; "" when unknown.
	ExeDir string
	// WorkDir is the working directory; "" when unknown.
	WorkDir string
	// Exists reports whether a file exists at path; nil means os.Stat.
	Exists func(path string) bool
}

// FindModel returns the path of model file name and every path it tried, in order: name in the
// folder given (Dir), else in the folder of the environment variable (Env), else in
// ProjectModelDir under ExeDir and WorkDir and each of their parents. A folder given by flag or
// variable is the only place looked at, so that a missing file there is reported as such.
// found is "" when nothing exists.
func FindModel(name string, in ModelInputs) (found string, tried []string) {
	exists := in.Exists
	if exists == nil {
		exists = func(p string) bool { _, err := os.Stat(p); return err == nil }
	}
	for _, d := range []string{in.Dir, in.Env} {
		if d != "" {
			p := filepath.Join(d, name)
			if exists(p) {
				return p, []string{p}
			}
			return "", []string{p}
		}
	}
	return SearchUp(filepath.Join(ProjectModelDir, name), exists, in.ExeDir, in.WorkDir)
}

// SearchUp looks for rel, a path relative to the project root (such as
// ".deps/models/blazepose-full.onnx"), under each of dirs and each of their parents, in that
// order, trying each path once. It returns the first path that exists ("" when none does) and
// every path tried, for the error message. Empty dirs are skipped. meshpipe finds the files
// that scripts/setup.sh installs this way, whether it runs from the project's bin/ folder or
// from a test in a package folder.
func SearchUp(rel string, exists func(path string) bool, dirs ...string) (found string, tried []string) {
	seen := map[string]bool{}
	for _, dir := range dirs {
		for d := dir; d != ""; {
			p := filepath.Join(d, rel)
			if !seen[p] {
				seen[p] = true
				tried = append(tried, p)
				if exists(p) {
					return p, tried
				}
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", tried
}

// DefaultModelInputs fills ModelInputs from the process: the folder given (dir), the
// environment, the executable's directory and the working directory.
func DefaultModelInputs(dir string) ModelInputs {
	in := ModelInputs{Dir: dir, Env: os.Getenv(ModelDirEnv)}
	if exe, err := os.Executable(); err == nil {
		in.ExeDir = filepath.Dir(exe)
	}
	if wd, err := os.Getwd(); err == nil {
		in.WorkDir = wd
	}
	return in
}
