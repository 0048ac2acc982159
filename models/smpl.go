package models

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
)

// SMPL file keys: the .npz layout that the smplx tools read (smplx/body_models.py, SMPL).
const (
	keyTemplate  = "v_template"    // [V,3] rest vertices, metres
	keyShapeDirs = "shapedirs"     // [V,3,S] shape blend shapes, S >= 10
	keyPoseDirs  = "posedirs"      // [V,3,207] pose blend shapes
	keyRegressor = "J_regressor"   // [24,V] joint regressor (dense in .npz files)
	keyWeights   = "weights"       // [V,24] skinning weights
	keyKintree   = "kintree_table" // [2,24] row 0: parent of each joint (root: any)
	keyFaces     = "f"             // [F,3] triangles, vertex indices
)

// LoadBody reads an SMPL body model from an .npz file in the layout the smplx tools use:
// v_template [V,3], shapedirs [V,3,S] (S >= 10; the first 10 are used), posedirs [V,3,207],
// J_regressor [24,V], weights [V,24], kintree_table [2,24] (its parents must be SMPL's tree,
// SMPLParents) and f [F,3]. Floating-point arrays may be float32 or float64, f and
// kintree_table any integer type, in C or Fortran order. SMPL's own files have V = 6890 and
// F = 13776, but any V that the arrays agree on is accepted.
//
// Errors name the file and the key at fault: a missing key, a shape that does not fit, a
// non-numeric array (a pickled Python object, such as a scipy sparse J_regressor: save it
// dense), or a face index out of range.
func LoadBody(path string) (*Body, error) {
	r, err := npz.Open(path)
	if err != nil {
		return nil, fmt.Errorf("body model %s: %w", path, unwrapNpz(err))
	}
	defer r.Close()
	l := &npzLoader{path: path, r: r}

	tmpl, tshape := l.floats(keyTemplate)
	if l.err == nil && (len(tshape) != 2 || tshape[1] != 3 || tshape[0] == 0) {
		l.fail(keyTemplate, "has shape %v, want [V,3]", tshape)
	}
	if l.err != nil {
		return nil, l.err
	}
	v := tshape[0]
	sd, sdShape := l.floats(keyShapeDirs)
	l.check(keyShapeDirs, sdShape, len(sdShape) == 3 && sdShape[0] == v && sdShape[1] == 3 && sdShape[2] >= BetaCount,
		fmt.Sprintf("[%d,3,S] with S >= %d", v, BetaCount))
	pd, pdShape := l.floats(keyPoseDirs)
	l.check(keyPoseDirs, pdShape, slices.Equal(pdShape, []int{v, 3, PoseBasis}), fmt.Sprintf("[%d,3,%d]", v, PoseBasis))
	jr, jrShape := l.floats(keyRegressor)
	l.check(keyRegressor, jrShape, slices.Equal(jrShape, []int{JointCount, v}), fmt.Sprintf("[%d,%d]", JointCount, v))
	wt, wtShape := l.floats(keyWeights)
	l.check(keyWeights, wtShape, slices.Equal(wtShape, []int{v, JointCount}), fmt.Sprintf("[%d,%d]", v, JointCount))
	kt, ktShape := l.ints(keyKintree)
	l.check(keyKintree, ktShape, slices.Equal(ktShape, []int{2, JointCount}), fmt.Sprintf("[2,%d]", JointCount))
	faces, fShape := l.ints(keyFaces)
	l.check(keyFaces, fShape, len(fShape) == 2 && fShape[1] == 3, "[F,3]")
	if l.err != nil {
		return nil, l.err
	}
	for j := 1; j < JointCount; j++ {
		if kt[j] != int64(SMPLParents[j]) {
			return nil, fmt.Errorf("body model %s: %s gives joint %d the parent %d; SMPL's tree has %d (meshpipe poses SMPL's 24 joints)",
				path, keyKintree, j, kt[j], SMPLParents[j])
		}
	}
	b := &Body{
		Template:   toFloat32(tmpl),
		Weights:    toFloat32(wt),
		JRegressor: toFloat32(jr),
		Faces:      make([]uint32, len(faces)),
		ShapeDirs:  make([]float32, v*3*BetaCount),
		PoseDirs:   make([]float32, PoseBasis*v*3),
	}
	for i, f := range faces {
		if f < 0 || f >= int64(v) {
			return nil, fmt.Errorf("body model %s: %s: face %d uses vertex %d; v_template has %d", path, keyFaces, i/3, f, v)
		}
		b.Faces[i] = uint32(f)
	}
	s := sdShape[2]
	for i := 0; i < v*3; i++ {
		for k := 0; k < BetaCount; k++ {
			b.ShapeDirs[i*BetaCount+k] = float32(sd[i*s+k])
		}
	}
	// posedirs [V*3, 207] -> [207, V*3], as smplx reshapes it.
	for i := 0; i < v*3; i++ {
		for p := 0; p < PoseBasis; p++ {
			b.PoseDirs[p*v*3+i] = float32(pd[i*PoseBasis+p])
		}
	}
	b.Joints = b.regress(b.Template)
	if err := b.Check(); err != nil {
		return nil, fmt.Errorf("body model %s: %w", path, err)
	}
	return b, nil
}

// npzLoader reads arrays from one .npz file and keeps the first error, which names the file
// and the key.
type npzLoader struct {
	path string
	r    *npz.Reader
	err  error
}

func (l *npzLoader) fail(key, format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("body model %s: %s %s", l.path, key, fmt.Sprintf(format, args...))
	}
}

func (l *npzLoader) check(key string, shape []int, ok bool, want string) {
	if l.err == nil && !ok {
		l.fail(key, "has shape %v, want %s", shape, want)
	}
}

// header returns the array's dtype (without its byte-order mark) and shape, or fails.
func (l *npzLoader) header(key string) (dtype string, shape []int, fortran bool, ok bool) {
	if l.err != nil {
		return "", nil, false, false
	}
	name := key + ".npy"
	if !slices.Contains(l.r.Keys(), name) {
		var have []string
		for _, k := range l.r.Keys() {
			have = append(have, strings.TrimSuffix(k, ".npy"))
		}
		l.err = fmt.Errorf("body model %s: no key %q (the file has %s); an SMPL .npz needs v_template, shapedirs, posedirs, J_regressor, weights, kintree_table and f",
			l.path, key, strings.Join(have, ", "))
		return "", nil, false, false
	}
	h := l.r.Header(name)
	if h == nil {
		l.fail(key, "is not a readable .npy array")
		return "", nil, false, false
	}
	dtype = strings.TrimLeft(strings.Trim(h.Descr.Type, "'\""), "<>|=")
	return dtype, h.Descr.Shape, h.Descr.Fortran, true
}

// read reads array key into ptr (a pointer to a slice of the array's element type) through a
// buffer: npyio reads element by element, which is slow straight from the zip stream.
func (l *npzLoader) read(key string, ptr any) error {
	rc, err := l.r.Open(key + ".npy")
	if err != nil {
		return err
	}
	defer rc.Close()
	rp, err := npy.NewReader(bufio.NewReaderSize(rc, 1<<20))
	if err != nil {
		return err
	}
	return rp.Read(ptr)
}

// floats reads a float32 or float64 array as float64 values in C order.
func (l *npzLoader) floats(key string) ([]float64, []int) {
	dtype, shape, fortran, ok := l.header(key)
	if !ok {
		return nil, nil
	}
	var out []float64
	var err error
	switch dtype {
	case "f8":
		err = l.read(key, &out)
	case "f4":
		var v []float32
		if err = l.read(key, &v); err == nil {
			out = make([]float64, len(v))
			for i, x := range v {
				out[i] = float64(x)
			}
		}
	default:
		l.fail(key, "has dtype %s, want float32 or float64%s", dtype, objectHint(dtype))
		return nil, nil
	}
	return readDone(l, key, out, shape, fortran, err)
}

// ints reads an integer array of any width as int64 values in C order.
func (l *npzLoader) ints(key string) ([]int64, []int) {
	dtype, shape, fortran, ok := l.header(key)
	if !ok {
		return nil, nil
	}
	var out []int64
	var err error
	read := func(ptr any, conv func() []int64) {
		if err = l.read(key, ptr); err == nil {
			out = conv()
		}
	}
	switch dtype {
	case "i8":
		err = l.read(key, &out)
	case "i4":
		var v []int32
		read(&v, func() []int64 { return widen(v) })
	case "u4":
		var v []uint32
		read(&v, func() []int64 { return widen(v) })
	case "u8":
		var v []uint64
		read(&v, func() []int64 { return widen(v) })
	case "i2":
		var v []int16
		read(&v, func() []int64 { return widen(v) })
	case "u2":
		var v []uint16
		read(&v, func() []int64 { return widen(v) })
	default:
		l.fail(key, "has dtype %s, want integers%s", dtype, objectHint(dtype))
		return nil, nil
	}
	return readDone(l, key, out, shape, fortran, err)
}

func widen[T int16 | uint16 | int32 | uint32 | uint64](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// readDone checks a read's error and length and returns the values in C order.
func readDone[T any](l *npzLoader, key string, v []T, shape []int, fortran bool, err error) ([]T, []int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if err != nil {
		l.fail(key, "cannot be read: %v", unwrapNpz(err))
		return nil, nil
	}
	if len(v) != n {
		l.fail(key, "holds %d values for shape %v", len(v), shape)
		return nil, nil
	}
	if fortran && len(shape) > 1 {
		v = toCOrder(v, shape)
	}
	return v, shape
}

// toCOrder reorders a column-major (Fortran) array into row-major order.
func toCOrder[T any](v []T, shape []int) []T {
	out := make([]T, len(v))
	idx := make([]int, len(shape))
	for i := range out {
		// i is the row-major index of idx; its column-major index is sum idx[k] * prod shape[:k].
		f, stride := 0, 1
		for k := range shape {
			f += idx[k] * stride
			stride *= shape[k]
		}
		out[i] = v[f]
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

func objectHint(dtype string) string {
	if dtype == "O" {
		return " (it holds pickled Python objects, such as a scipy sparse matrix: save it as a dense numpy array)"
	}
	return ""
}

// unwrapNpz drops npyio's own wrapping ("npz: could not ...") down to the cause where there is
// one, so that errors read as one sentence.
func unwrapNpz(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
