package testenv

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	madeMu sync.Mutex
	made   = map[string]bool{}
)

// Made runs make to create the file called name in dir, once per test binary, and returns its
// path: the tests of a package share the files they make (dir is a folder the package's
// TestMain makes and removes). make must create the file or fail the test.
func Made(t testing.TB, dir, name string, make func(path string)) string {
	t.Helper()
	madeMu.Lock()
	defer madeMu.Unlock()
	p := filepath.Join(dir, name)
	if !made[p] {
		make(p)
		made[p] = true
	}
	return p
}

// TinyHMR2Arch is the CI-sized HMR2 for scripts/export_hmr2_onnx.py: the real architecture (ViT
// backbone on the 256x192 window, transformer-decoder SMPL head) with few, narrow layers.
var TinyHMR2Arch = []string{"--depth", "2", "--width", "64", "--heads", "4",
	"--head-depth", "2", "--head-width", "64", "--head-heads", "2", "--head-dim", "32", "--head-mlp", "128"}

// TinyHMR2 exports a random-weight tiny HMR2 (TinyHMR2Arch, seed 7) that keeps the pose-model
// contract, with scripts/export_hmr2_onnx.py, into dir (once per test binary, see Made), and
// returns the model and its saved torch weights. opts are extra export options.
func TinyHMR2(t testing.TB, dir string, opts ...string) (model, state string) {
	t.Helper()
	name := "hmr2" + strings.ReplaceAll(strings.Join(opts, ""), "-", "_")
	state = filepath.Join(dir, name+".pt")
	model = Made(t, dir, name+".onnx", func(p string) {
		args := append([]string{filepath.Join(Root(t), "scripts", "export_hmr2_onnx.py"), p, "--random", "--seed", "7",
			"--save-state", state}, TinyHMR2Arch...)
		Python(t, append(args, opts...)...)
	})
	return model, state
}

// RandomBody writes a random SMPL-layout body file (6890 vertices, the smplx .npz layout) with
// the models package's reference script into dir (once per test binary, see Made) and returns
// its path.
func RandomBody(t testing.TB, dir string) string {
	t.Helper()
	return Made(t, dir, "body.npz", func(p string) {
		Python(t, filepath.Join(Root(t), "models", "testdata", "smpl_ref.py"), "make", p, "6890", "3", "f64")
	})
}
