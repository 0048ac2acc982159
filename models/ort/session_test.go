package ort_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
)

func initORT(t *testing.T) {
	t.Helper()
	if err := ort.Init(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
}

// The embedded stand-in keeps the pose-model contract: names, shapes and a dynamic batch.
func TestStandInContract(t *testing.T) {
	initORT(t)
	s, err := ort.OpenData("stand-in", models.StandIn, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := models.CheckPoseContract("stand-in", s.Input(), s.Outputs()); err != nil {
		t.Fatal(err)
	}
	for _, b := range []int64{1, 4} {
		in := models.Tensor{Shape: []int64{b, 3, 256, 256}, Data: make([]float32, b*3*256*256)}
		out, err := s.Run(in)
		if err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		if len(out) != len(models.PoseOutputs) {
			t.Errorf("batch %d: %d outputs, want %d", b, len(out), len(models.PoseOutputs))
		}
		for _, spec := range models.PoseOutputs {
			want := append([]int64{b}, spec.Shape[1:]...)
			got, ok := out[spec.Name]
			if !ok || !reflect.DeepEqual(got.Shape, want) || len(got.Data) != got.Len() {
				t.Errorf("batch %d: output %s shape %v (%d values), want %v", b, spec.Name, got.Shape, len(got.Data), want)
			}
		}
		// Every person gets the same standing pose: s > 0 and global_orient a 180-degree turn about x.
		cam := out["pred_cam"].Data
		orient := out["global_orient"].Data
		for i := int64(0); i < b; i++ {
			if cam[3*i] <= 0 {
				t.Errorf("batch %d person %d: scale %v, want > 0", b, i, cam[3*i])
			}
			if got := orient[9*i : 9*i+9]; !near(got, []float32{1, 0, 0, 0, -1, 0, 0, 0, -1}, 1e-6) {
				t.Errorf("batch %d person %d: global_orient %v", b, i, got)
			}
		}
	}
}

func near(a, b []float32, tol float32) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// Two goroutines share one session, as the two pose workers do.
func TestSessionConcurrentRun(t *testing.T) {
	initORT(t)
	s, err := ort.OpenData("stand-in", models.StandIn, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := s.Run(models.Tensor{Shape: []int64{2, 3, 256, 256}, Data: make([]float32, 2*3*256*256)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOpenErrors(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("this is not an ONNX file"), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.onnx"), "missing.onnx"},
		{junk, "not a loadable ONNX model"},
	} {
		_, err := ort.Open(c.path, ort.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) = %v, want an error with %q", c.path, err, c.want)
		}
	}
	s, _ := ort.OpenData("stand-in", models.StandIn, ort.Options{})
	defer s.Close()
	if _, err := s.Run(models.Tensor{Shape: []int64{1, 3, 256, 256}, Data: make([]float32, 10)}); err == nil {
		t.Error("Run with too few values: no error")
	}
	if _, err := s.Run(models.Tensor{Shape: []int64{1, 3, 128, 256}, Data: make([]float32, 3*128*256)}); err == nil {
		t.Error("Run with the wrong crop size: no error")
	}
}

func TestFindLibrary(t *testing.T) {
	files := map[string]bool{
		"/opt/ort/lib.so":                        true,
		"/home/u/meshpipe/" + ort.ProjectLibrary: true,
	}
	exists := func(p string) bool { return files[p] }
	for _, c := range []struct {
		name      string
		in        ort.LibraryInputs
		want      string
		wantTried int
	}{
		{"flag wins", ort.LibraryInputs{Flag: "/opt/ort/lib.so", Env: "/x.so", WorkDir: "/home/u/meshpipe"}, "/opt/ort/lib.so", 1},
		{"missing flag is not silently replaced", ort.LibraryInputs{Flag: "/nope.so", WorkDir: "/home/u/meshpipe"}, "", 1},
		{"env next", ort.LibraryInputs{Env: "/opt/ort/lib.so", WorkDir: "/home/u/meshpipe"}, "/opt/ort/lib.so", 1},
		{"project folder above the executable", ort.LibraryInputs{ExeDir: "/home/u/meshpipe/bin"}, "/home/u/meshpipe/" + ort.ProjectLibrary, 2},
		{"project folder above the working dir", ort.LibraryInputs{ExeDir: "/usr/bin", WorkDir: "/home/u/meshpipe/models/ort"}, "/home/u/meshpipe/" + ort.ProjectLibrary, 6},
		{"nothing", ort.LibraryInputs{ExeDir: "/a/b"}, "", 3},
	} {
		c.in.Exists = exists
		got, tried := ort.FindLibrary(c.in)
		if got != c.want || len(tried) != c.wantTried {
			t.Errorf("%s: FindLibrary = %q after %v, want %q after %d tries", c.name, got, tried, c.want, c.wantTried)
		}
	}
}
