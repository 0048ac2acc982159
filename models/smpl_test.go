package models

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
)

// randomRotation returns a rotation matrix (row-major) about a random axis by up to maxDeg.
func randomRotation(r *rand.Rand, maxDeg float64) [9]float32 {
	ax := [3]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	n := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
	x, y, z := ax[0]/n, ax[1]/n, ax[2]/n
	a := (r.Float64()*2 - 1) * maxDeg * math.Pi / 180
	c, s, t := math.Cos(a), math.Sin(a), 1-math.Cos(a)
	m := [9]float64{ // Rodrigues' formula, for the test's inputs only
		t*x*x + c, t*x*y - s*z, t*x*z + s*y,
		t*x*y + s*z, t*y*y + c, t*y*z - s*x,
		t*x*z - s*y, t*y*z + s*x, t*z*z + c,
	}
	var out [9]float32
	for i := range m {
		out[i] = float32(m[i])
	}
	return out
}

// randomPose returns a pose with random rotations and betas (PredCam unset).
func randomPose(r *rand.Rand) human.Pose {
	var p human.Pose
	p.GlobalOrient = randomRotation(r, 180)
	for j := 0; j < 23; j++ {
		rot := randomRotation(r, 60)
		copy(p.BodyPose[9*j:], rot[:])
	}
	for k := range p.Betas {
		p.Betas[k] = float32(r.NormFloat64())
	}
	return p
}

type refPose struct {
	Betas        []float32 `json:"betas"`
	GlobalOrient []float32 `json:"global_orient"`
	BodyPose     []float32 `json:"body_pose"`
}

type refPosed struct {
	Vertices []float64 `json:"vertices"`
	Joints   []float64 `json:"joints"`
}

// referenceLBS poses the body file with testdata/smpl_ref.py's numpy SMPL.
func referenceLBS(t *testing.T, body string, poses []human.Pose) []refPosed {
	t.Helper()
	dir := t.TempDir()
	in := make([]refPose, len(poses))
	for i, p := range poses {
		in[i] = refPose{p.Betas[:], p.GlobalOrient[:], p.BodyPose[:]}
	}
	js, _ := json.Marshal(in)
	posesPath, outPath := filepath.Join(dir, "poses.json"), filepath.Join(dir, "posed.json")
	if err := os.WriteFile(posesPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Python(t, filepath.Join("testdata", "smpl_ref.py"), "lbs", body, posesPath, outPath)
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []refPosed
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// makeBody writes a random SMPL-layout body file with testdata/smpl_ref.py.
func makeBody(t *testing.T, v int, seed int, opts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("body_%d_%d.npz", v, seed))
	testenv.Python(t, append([]string{filepath.Join("testdata", "smpl_ref.py"), "make", path, fmt.Sprint(v), fmt.Sprint(seed)}, opts...)...)
	return path
}

// LoadBody and Body.Pose (shape and pose blend shapes, joints from J_regressor) match a numpy
// SMPL on random body files of the smplx layout to 1e-5 m: float64 and float32 files, posedirs
// and shapedirs in Fortran order, and SMPL's own size (6890 vertices).
func TestLoadBodyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, c := range []struct {
		v    int
		opts []string
	}{
		{6890, []string{"f64"}},
		{300, []string{"f32"}},
		{300, []string{"f64", "fortran"}},
	} {
		t.Run(fmt.Sprintf("V%d_%s", c.v, strings.Join(c.opts, "_")), func(t *testing.T) {
			path := makeBody(t, c.v, 11, c.opts...)
			b, err := LoadBody(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.VertexCount() != c.v || len(b.Faces) != 3*(c.v*3/2) {
				t.Fatalf("%d vertices, %d faces; want %d and %d", b.VertexCount(), len(b.Faces)/3, c.v, c.v*3/2)
			}
			poses := []human.Pose{randomPose(r), randomPose(r), randomPose(r)}
			poses[0] = human.Pose{GlobalOrient: identity, BodyPose: *restPose()} // rest pose, betas 0
			want := referenceLBS(t, path, poses)
			dst := make([]float32, 3*c.v)
			for i := range poses {
				joints := b.Pose(&poses[i], dst)
				worst := 0.0
				for k, w := range want[i].Vertices {
					worst = max(worst, math.Abs(float64(dst[k])-w))
				}
				for j := range joints {
					for k := 0; k < 3; k++ {
						worst = max(worst, math.Abs(float64(joints[j][k])-want[i].Joints[3*j+k]))
					}
				}
				t.Logf("pose %d: largest difference from the numpy reference %.2g m", i, worst)
				if worst > 1e-5 {
					t.Errorf("pose %d: vertices or joints differ from the reference by %.3g m (> 1e-5)", i, worst)
				}
			}
		})
	}
}

// Each broken file gets an error that names the file, the key and what is wrong.
func TestLoadBodyErrors(t *testing.T) {
	dir := t.TempDir()
	testenv.Python(t, filepath.Join("testdata", "smpl_ref.py"), "broken", dir)
	cases := map[string]string{
		"missing_v_template":    `no key "v_template"`,
		"missing_shapedirs":     `no key "shapedirs"`,
		"missing_posedirs":      `no key "posedirs"`,
		"missing_J_regressor":   `no key "J_regressor"`,
		"missing_weights":       `no key "weights"`,
		"missing_kintree_table": `no key "kintree_table"`,
		"missing_f":             `no key "f"`,
		"shape_v_template":      "v_template has shape [30 2], want [V,3]",
		"shape_shapedirs":       "shapedirs has shape [30 3 8], want [30,3,S] with S >= 10",
		"shape_posedirs":        "posedirs has shape [30 3 200], want [30,3,207]",
		"shape_J_regressor":     "J_regressor has shape [24 29], want [24,30]",
		"shape_weights":         "weights has shape [30 23], want [30,24]",
		"shape_kintree_table":   "kintree_table has shape [2 22], want [2,24]",
		"shape_f":               "f has shape [45 2], want [F,3]",
		"dtype_weights":         "weights has dtype i4, want float32 or float64",
		"dtype_f":               "f has dtype f4, want integers",
		"object_J_regressor":    "J_regressor has dtype O, want float32 or float64 (it holds pickled Python objects",
		"range_f":               "f: face 3 uses vertex 37; v_template has 30",
		"tree_kintree_table":    "kintree_table gives joint 5 the parent 3; SMPL's tree has 2",
	}
	for name, want := range cases {
		path := filepath.Join(dir, name+".npz")
		_, err := LoadBody(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v\nwant it to name %s and say %q", name, err, path, want)
		}
	}
	notZip := filepath.Join(dir, "not.npz")
	os.WriteFile(notZip, []byte("plain text"), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "nonexistent.npz"): "no such file",
		notZip:                                "zip",
	} {
		if _, err := LoadBody(path); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadBody(%s) = %v, want an error naming the file and saying %q", path, err, want)
		}
	}
}

// The mannequin keeps working with the blend-shape code: no blend shapes, fixed joints, so
// betas change nothing.
func TestMannequinIgnoresBetas(t *testing.T) {
	b := Mannequin()
	p := human.Pose{GlobalOrient: identity, BodyPose: *restPose()}
	a := make([]float32, len(b.Template))
	ja := b.Pose(&p, a)
	for k := range p.Betas {
		p.Betas[k] = 2
	}
	c := make([]float32, len(b.Template))
	jc := b.Pose(&p, c)
	if ja != jc || !slicesEqual(a, c) {
		t.Fatal("betas changed the mannequin")
	}
}

// RestJoints and Shaped give what Pose starts from: at the rest pose (every rotation the
// identity, pose blend shapes then add nothing) Pose's joints are RestJoints and its vertices
// Shaped, for an SMPL-layout file with betas and for the mannequin.
func TestRestJointsAreThePosesRest(t *testing.T) {
	smpl, err := LoadBody(makeBody(t, 300, 3, "f32"))
	if err != nil {
		t.Fatal(err)
	}
	p := human.Pose{GlobalOrient: identity, BodyPose: *restPose()}
	for k := range p.Betas {
		p.Betas[k] = float32(k) - 4.5
	}
	for name, b := range map[string]*Body{"smpl": smpl, "mannequin": Mannequin()} {
		posed := make([]float32, len(b.Template))
		shaped := make([]float32, len(b.Template))
		joints := b.Pose(&p, posed)
		b.Shaped(&p.Betas, shaped)
		rest := b.RestJoints(&p.Betas)
		for j := range rest {
			for k := 0; k < 3; k++ {
				if math.Abs(float64(rest[j][k]-joints[j][k])) > 1e-6 { // Pose adds up bone vectors
					t.Fatalf("%s: joint %d: RestJoints %v, Pose's %v", name, j, rest[j], joints[j])
				}
			}
		}
		for i := range posed {
			if math.Abs(float64(posed[i]-shaped[i])) > 1e-6 {
				t.Fatalf("%s: value %d: Pose %v, Shaped %v", name, i, posed[i], shaped[i])
			}
		}
	}
	if smpl.RestJoints(nil) != smpl.Joints {
		t.Error("RestJoints(nil) differs from the zero-betas joints LoadBody keeps")
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkPoseSMPLSize(b *testing.B) {
	// A body of SMPL's size with dense random blend shapes: the cost of one person's skinning.
	const v = 6890
	r := rand.New(rand.NewPCG(1, 2))
	body := &Body{Template: make([]float32, 3*v), Weights: make([]float32, v*JointCount),
		ShapeDirs: make([]float32, 3*v*BetaCount), PoseDirs: make([]float32, PoseBasis*3*v), JRegressor: make([]float32, JointCount*v)}
	for _, s := range [][]float32{body.Template, body.ShapeDirs, body.PoseDirs} {
		for i := range s {
			s[i] = float32(r.NormFloat64()) * 0.01
		}
	}
	for i := 0; i < v; i++ {
		body.Weights[i*JointCount+i%JointCount] = 1
		body.JRegressor[(i%JointCount)*v+i] = 1.0 / 287
	}
	p := randomPose(r)
	dst := make([]float32, 3*v)
	for b.Loop() {
		body.Pose(&p, dst)
	}
}
