package ort_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
)

// randomInput returns an input of shape [b, rest...] with values in [0, 1) from seed.
func randomInput(seed uint64, b int64, rest ...int64) models.Tensor {
	in := models.Tensor{Shape: append([]int64{b}, rest...)}
	in.Data = make([]float32, in.Len())
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range in.Data {
		in.Data[i] = r.Float32()
	}
	return in
}

// sameOutputs fails the test unless got holds exactly want's outputs, shapes and values.
func sameOutputs(t *testing.T, what string, got, want map[string]models.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || len(g.Data) != len(w.Data) {
			t.Errorf("%s: output %s has shape %v (%d values), want %v (%d values)", what, name, g.Shape, len(g.Data), w.Shape, len(w.Data))
			continue
		}
		for i := range w.Data {
			if g.Data[i] != w.Data[i] {
				t.Errorf("%s: output %s[%d] = %v, want %v (Run's)", what, name, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
}

// openLite opens BlazePose lite, a model whose outputs follow its input, closed with the test.
func openLite(t *testing.T) *ort.Session {
	t.Helper()
	initORT(t)
	s, err := ort.Open(testenv.Deps(t, "models/"+models.BlazePoseFile("lite")), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// RunInto gives Run's outputs, for batch sizes that change from call to call, and reuses the
// caller's buffers; once they are there, it allocates nothing.
func TestRunIntoMatchesRun(t *testing.T) {
	s := openLite(t)
	out := map[string]models.Tensor{}
	for i, b := range []int64{1, 3, 1, 2, 3} {
		in := randomInput(uint64(i), b, 256, 256, 3)
		want, err := s.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RunInto(in, out); err != nil {
			t.Fatal(err)
		}
		sameOutputs(t, fmt.Sprintf("call %d (batch %d)", i, b), out, want)
	}
	in := randomInput(9, 3, 256, 256, 3)
	before := &out["ld_3d"].Data[0]
	if err := s.RunInto(in, out); err != nil {
		t.Fatal(err)
	}
	if &out["ld_3d"].Data[0] != before {
		t.Error("RunInto replaced the caller's buffer although it had the capacity")
	}
	if n := testing.AllocsPerRun(5, func() {
		if err := s.RunInto(in, out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("RunInto made %v allocations a run, want 0", n)
	}
}

// Goroutines sharing one session, as the pose workers do, each get their own input's outputs,
// with batch sizes of their own.
func TestRunIntoConcurrent(t *testing.T) {
	s := openLite(t)
	const workers = 4
	ins := make([]models.Tensor, workers)
	wants := make([]map[string]models.Tensor, workers)
	for g := range ins {
		ins[g] = randomInput(uint64(100+g), int64(1+g%2), 256, 256, 3)
		var err error
		if wants[g], err = s.Run(ins[g]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	outs := make([]map[string]models.Tensor, workers)
	errs := make([]error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[g] = map[string]models.Tensor{}
			for i := 0; i < 4 && errs[g] == nil; i++ {
				errs[g] = s.RunInto(ins[g], outs[g])
			}
		}()
	}
	wg.Wait()
	for g := range workers {
		if errs[g] != nil {
			t.Fatalf("goroutine %d: %v", g, errs[g])
		}
		sameOutputs(t, fmt.Sprintf("goroutine %d", g), outs[g], wants[g])
	}
}

// Models whose output sizes the input does not fix (a dynamic size besides the batch), or that
// give outputs of other shapes than they declare, go through Run: RunInto still gives Run's
// outputs.
func TestRunIntoUnboundOutputs(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	dynamic, mislabelled := filepath.Join(dir, "dynamic.onnx"), filepath.Join(dir, "mislabelled.onnx")
	testenv.Python(t, "-c", `
import sys
import onnx
from onnx import TensorProto, helper
def write(path, out_shape):
    g = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
write(sys.argv[1], ["B", "N"])
write(sys.argv[2], ["B", 3])
`, dynamic, mislabelled)
	for _, path := range []string{dynamic, mislabelled} {
		s, err := ort.Open(path, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]models.Tensor{}
		for i, b := range []int64{2, 1, 2} {
			in := randomInput(uint64(i), b, 5)
			if err := s.RunInto(in, out); err != nil {
				t.Fatalf("%s: %v", filepath.Base(path), err)
			}
			for k, v := range out["y"].Data {
				if v != -in.Data[k] {
					t.Fatalf("%s call %d: y[%d] = %v, want %v", filepath.Base(path), i, k, v, -in.Data[k])
				}
			}
			if got := fmt.Sprint(out["y"].Shape); got != fmt.Sprint(in.Shape) {
				t.Errorf("%s call %d: y has shape %s, want %v", filepath.Base(path), i, got, in.Shape)
			}
		}
		s.Close()
	}
}

// RunInto checks its input like Run, and fails after Close.
func TestRunIntoErrors(t *testing.T) {
	initORT(t)
	s, err := ort.OpenData("stand-in", models.StandIn, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]models.Tensor{}
	if err := s.RunInto(models.Tensor{Shape: []int64{1, 3, 256, 256}, Data: make([]float32, 10)}, out); err == nil {
		t.Error("RunInto with too few values: no error")
	}
	if err := s.RunInto(models.Tensor{Shape: []int64{1, 3, 128, 256}, Data: make([]float32, 3*128*256)}, out); err == nil {
		t.Error("RunInto with the wrong crop size: no error")
	}
	if err := s.RunInto(randomInput(1, 1, 3, 256, 256), out); err != nil {
		t.Errorf("a good input after bad ones: %v", err)
	}
	s.Close()
	if err := s.RunInto(randomInput(1, 1, 3, 256, 256), out); err == nil {
		t.Error("RunInto after Close: no error")
	}
}
