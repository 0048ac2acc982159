//go:build cgo

package ort

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/meshpipe/meshpipe/models"
	onnx "github.com/yalue/onnxruntime_go"
)

// haveCgo is whether this build has cgo, and so ONNX Runtime (stub.go is the build without).
const haveCgo = true

var (
	envOnce sync.Once
	envErr  error
	envPath string
)

// Init loads the ONNX Runtime shared library at path and creates the process-wide environment.
// Only the first call does work; later calls return its result (and fail if they name another
// library). The error says which file failed and why: it does not load, it is not ONNX
// Runtime, or it is older than MinVersion (with the version found).
func Init(path string) error {
	envOnce.Do(func() {
		envPath = path
		if _, err := checkLibrary(path); err != nil {
			envErr = err
			return
		}
		onnx.SetSharedLibraryPath(path)
		if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
			envErr = fmt.Errorf("loading ONNX Runtime from %s: %w", path, err)
		}
	})
	if envErr == nil && path != envPath {
		return fmt.Errorf("ONNX Runtime is already loaded from %s; cannot also load %s", envPath, path)
	}
	return envErr
}

// Version returns the loaded ONNX Runtime's version, such as "1.29.0".
func Version() string { return onnx.GetVersion() }

// Session is one loaded one-input float32 model. Run and RunInto are safe for concurrent use
// (they wrap a DynamicAdvancedSession, whose runs may come from several goroutines; each
// RunInto in progress has a binding of its own).
type Session struct {
	device  Device
	name    string
	s       *onnx.DynamicAdvancedSession
	input   models.TensorSpec
	outputs []models.TensorSpec

	mu sync.Mutex
	// bindable is whether RunInto may bind pre-allocated outputs: every output's size is fixed
	// by the model but for a dynamic batch (dimension 0, dynamic in the input too), and no run
	// with bound outputs has failed where a plain run succeeded.
	bindable bool
	free     []*binding // bindings not in use, the most recently used last
	closed   bool
}

// binding is ONNX Runtime's input and output tensors for one input shape, bound to the
// session's input and outputs (an IoBinding), for one RunInto at a time and reused by later
// ones with the same shape. The tensors' data are Go slices.
type binding struct {
	shape     []int64
	in        *onnx.Tensor[float32]
	outs      []*onnx.Tensor[float32]
	outShapes [][]int64
	io        *onnx.IoBinding
}

// maxFreeBindings is how many bindings a Session keeps for reuse: enough for a few batch sizes
// in turn for each of a few callers at once (the pose workers); beyond it, the least recently
// used one is freed.
const maxFreeBindings = 8

// Open loads the model file at path. Init must have succeeded first. The model is read by
// ONNX Runtime from the file, so weights stored as external data beside it (PATH.data, as
// scripts/export_hmr2_onnx.py writes models over 2 GB) are found.
func Open(path string, opt Options) (*Session, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return open(path, opt, modelSource{
		info: func() ([]onnx.InputOutputInfo, []onnx.InputOutputInfo, error) {
			so, err := onnx.NewSessionOptions()
			if err != nil {
				return nil, nil, err
			}
			defer so.Destroy()
			// Reading the names needs a session; skip the graph optimisations for it.
			so.SetGraphOptimizationLevel(onnx.GraphOptimizationLevelDisableAll)
			return onnx.GetInputOutputInfoWithOptions(path, so)
		},
		session: func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error) {
			return onnx.NewDynamicAdvancedSession(path, in, out, so)
		},
	})
}

// OpenData loads a model from its serialised bytes; name is used in errors (a path, or
// "built-in stand-in"). The model must have exactly one input, and every input and output
// must be a float32 tensor.
func OpenData(name string, data []byte, opt Options) (*Session, error) {
	return open(name, opt, modelSource{
		info: func() ([]onnx.InputOutputInfo, []onnx.InputOutputInfo, error) {
			return onnx.GetInputOutputInfoWithONNXData(data)
		},
		session: func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error) {
			return onnx.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
		},
	})
}

// modelSource reads a model's inputs and outputs and makes its session, from a file or bytes.
type modelSource struct {
	info    func() ([]onnx.InputOutputInfo, []onnx.InputOutputInfo, error)
	session func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error)
}

func open(name string, opt Options, src modelSource) (*Session, error) {
	ins, outs, err := src.info()
	if err != nil {
		return nil, fmt.Errorf("model %s is not a loadable ONNX model: %w", name, err)
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("model %s has %d inputs; meshpipe needs exactly one", name, len(ins))
	}
	sess := &Session{name: name}
	specs := func(infos []onnx.InputOutputInfo) ([]models.TensorSpec, []string, error) {
		var out []models.TensorSpec
		var names []string
		for _, info := range infos {
			if info.OrtValueType != onnx.ONNXTypeTensor || info.DataType != onnx.TensorElementDataTypeFloat {
				return nil, nil, fmt.Errorf("model %s: %s: meshpipe needs float32 tensors", name, info.String())
			}
			out = append(out, models.TensorSpec{Name: info.Name, Shape: append([]int64(nil), info.Dimensions...)})
			names = append(names, info.Name)
		}
		return out, names, nil
	}
	in, inNames, err := specs(ins)
	if err != nil {
		return nil, err
	}
	outSpecs, outNames, err := specs(outs)
	if err != nil {
		return nil, err
	}
	sess.input, sess.outputs = in[0], outSpecs
	sess.bindable = fixedByBatch(sess.input, sess.outputs)
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("model %s: session options: %w", name, err)
	}
	defer so.Destroy()
	if opt.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opt.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
	}
	if opt.Device.Kind == CUDA {
		if err := appendCUDA(so, opt.Device.ID); err != nil {
			return nil, fmt.Errorf("model %s: CUDA execution provider on GPU %d: %w", name, opt.Device.ID, err)
		}
	}
	sess.s, err = src.session(inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: creating ONNX Runtime session on %s: %w", name, opt.Device, err)
	}
	sess.device = opt.Device
	if sess.device.Kind == Auto {
		sess.device = Device{Kind: CPU}
	}
	return sess, nil
}

// Device returns the device the session runs on: CPU or CUDA with its GPU index.
func (s *Session) Device() Device { return s.device }

// Input describes the model's input (name and shape, -1 for dynamic sizes).
func (s *Session) Input() models.TensorSpec { return s.input }

// Outputs describes the model's outputs, in the model's order.
func (s *Session) Outputs() []models.TensorSpec { return s.outputs }

// Run feeds input to the model and returns a copy of every output, by name. The input's
// shape must fit the model's input; ONNX Runtime's error says otherwise.
func (s *Session) Run(input models.Tensor) (map[string]models.Tensor, error) {
	if input.Len() != len(input.Data) {
		return nil, fmt.Errorf("model %s: input %s has shape %v but %d values", s.name, s.input.Name, input.Shape, len(input.Data))
	}
	in, err := onnx.NewTensor(onnx.NewShape(input.Shape...), input.Data)
	if err != nil {
		return nil, fmt.Errorf("model %s: input %s: %w", s.name, s.input.Name, err)
	}
	defer in.Destroy()
	outs := make([]onnx.Value, len(s.outputs))
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	if err := s.s.Run([]onnx.Value{in}, outs); err != nil {
		return nil, fmt.Errorf("model %s: %w", s.name, err)
	}
	res := make(map[string]models.Tensor, len(outs))
	for i, o := range outs {
		t, ok := o.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("model %s: output %s is not a float32 tensor", s.name, s.outputs[i].Name)
		}
		res[s.outputs[i].Name] = models.Tensor{
			Shape: append([]int64(nil), t.GetShape()...),
			Data:  append([]float32(nil), t.GetData()...),
		}
	}
	return res, nil
}

// fixedByBatch reports whether an input of in's shape fixes the shape of every output: the
// outputs' sizes are fixed but for dimension 0, which may be dynamic when the input's is (the
// batch).
func fixedByBatch(in models.TensorSpec, outs []models.TensorSpec) bool {
	for _, o := range outs {
		for i, d := range o.Shape {
			if d < 0 && (i != 0 || len(in.Shape) == 0 || in.Shape[0] >= 0) {
				return false
			}
		}
	}
	return true
}

// RunInto feeds input to the model like Run and stores a copy of every output in out under
// its name, reusing the Shape and Data slices out already holds there when their capacity
// suffices (models.RunnerInto). The session keeps ONNX Runtime's tensors for the input shapes
// it has seen (a few of them, bound to the model with an IoBinding) and reuses them, so once
// out has room for a batch's outputs, RunInto allocates nothing on the Go heap: a steady
// stream of batches costs one copy of the input in and of the outputs out (on CUDA, the input
// is bound anew for each run, as ONNX Runtime copies it to the GPU then, which may allocate a
// little). Models whose output sizes the input does not fix (see Outputs) go through Run. It
// is safe for concurrent use, each caller with its own out.
func (s *Session) RunInto(input models.Tensor, out map[string]models.Tensor) error {
	if input.Len() != len(input.Data) {
		return fmt.Errorf("model %s: input %s has shape %v but %d values", s.name, s.input.Name, input.Shape, len(input.Data))
	}
	b, err := s.take(input.Shape)
	if err != nil {
		return err
	}
	if b == nil {
		return s.runCopy(input, out)
	}
	copy(b.in.GetData(), input.Data)
	if s.device.Kind == CUDA {
		// ONNX Runtime copies a bound input to the device when it is bound (IOBinding::BindInput,
		// CopyOneInputAcrossDevices), so on a GPU the new values must be bound again; on the
		// CPU the binding refers to the tensor's memory itself.
		if err := b.io.BindInput(s.input.Name, b.in); err != nil {
			s.destroy(b)
			return fmt.Errorf("model %s: binding input %s: %w", s.name, s.input.Name, err)
		}
	}
	if err := s.s.RunWithBinding(b.io); err != nil {
		s.destroy(b)
		// A model whose declared output shapes are not what it gives fails with bound
		// outputs; Run then says whether the model itself fails.
		if err := s.runCopy(input, out); err != nil {
			return err
		}
		s.mu.Lock()
		s.bindable = false
		s.mu.Unlock()
		return nil
	}
	for i, t := range b.outs {
		setTensor(out, s.outputs[i].Name, b.outShapes[i], t.GetData())
	}
	s.give(b)
	return nil
}

// runCopy runs input with Run and copies the outputs into out.
func (s *Session) runCopy(input models.Tensor, out map[string]models.Tensor) error {
	res, err := s.Run(input)
	if err != nil {
		return err
	}
	for name, t := range res {
		setTensor(out, name, t.Shape, t.Data)
	}
	return nil
}

// setTensor stores shape and a copy of data in out[name], reusing the slices there.
func setTensor(out map[string]models.Tensor, name string, shape []int64, data []float32) {
	old := out[name]
	out[name] = models.Tensor{Shape: append(old.Shape[:0], shape...), Data: append(old.Data[:0], data...)}
}

// take returns a binding for input shape shape: a free one of that shape, or a new one; nil
// when the session's outputs cannot be bound.
func (s *Session) take(shape []int64) (*binding, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("model %s: session closed", s.name)
	}
	if !s.bindable {
		s.mu.Unlock()
		return nil, nil
	}
	for i := len(s.free) - 1; i >= 0; i-- {
		if b := s.free[i]; slices.Equal(b.shape, shape) {
			s.free = slices.Delete(s.free, i, i+1)
			s.mu.Unlock()
			return b, nil
		}
	}
	s.mu.Unlock()
	return s.newBinding(shape)
}

// give puts b back for reuse, freeing the least recently used binding beyond maxFreeBindings
// (or b itself once the session is closed).
func (s *Session) give(b *binding) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.destroy(b)
		return
	}
	s.free = append(s.free, b)
	var old *binding
	if len(s.free) > maxFreeBindings {
		old = s.free[0]
		s.free = slices.Delete(s.free, 0, 1)
	}
	s.mu.Unlock()
	if old != nil {
		s.destroy(old)
	}
}

// newBinding makes the tensors for input shape shape and binds them.
func (s *Session) newBinding(shape []int64) (_ *binding, err error) {
	b := &binding{shape: slices.Clone(shape)}
	defer func() {
		if err != nil {
			s.destroy(b)
			err = fmt.Errorf("model %s: binding tensors for input shape %v: %w", s.name, shape, err)
		}
	}()
	if b.in, err = onnx.NewEmptyTensor[float32](onnx.NewShape(shape...)); err != nil {
		return b, err
	}
	if b.io, err = s.s.CreateIoBinding(); err != nil {
		return b, err
	}
	if err = b.io.BindInput(s.input.Name, b.in); err != nil {
		return b, err
	}
	for _, o := range s.outputs {
		dims := slices.Clone(o.Shape)
		if len(dims) > 0 && dims[0] < 0 {
			dims[0] = shape[0]
		}
		t, err := onnx.NewEmptyTensor[float32](onnx.NewShape(dims...))
		if err != nil {
			return b, fmt.Errorf("output %s%v: %w", o.Name, dims, err)
		}
		b.outs, b.outShapes = append(b.outs, t), append(b.outShapes, dims)
		if err := b.io.BindOutput(o.Name, t); err != nil {
			return b, fmt.Errorf("output %s: %w", o.Name, err)
		}
	}
	return b, nil
}

// destroy frees b's ONNX Runtime objects.
func (s *Session) destroy(b *binding) {
	if b.io != nil {
		b.io.Destroy()
	}
	if b.in != nil {
		b.in.Destroy()
	}
	for _, t := range b.outs {
		t.Destroy()
	}
}

// Close releases the session and the tensors RunInto kept. It is safe to call more than once;
// no run may be in progress.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	free := s.free
	s.free = nil
	s.mu.Unlock()
	for _, b := range free {
		s.destroy(b)
	}
	err := s.s.Destroy()
	s.s = nil
	return errors.Join(err)
}
