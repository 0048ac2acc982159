package motion

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/poses"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// rodrigues returns the rotation by angle (radians) about unit axis (the test's own maths).
func rodrigues(ax [3]float64, a float64) mat3 {
	x, y, z := ax[0], ax[1], ax[2]
	c, s, t := math.Cos(a), math.Sin(a), 1-math.Cos(a)
	return mat3{
		{t*x*x + c, t*x*y - s*z, t*x*z + s*y},
		{t*x*y + s*z, t*y*y + c, t*y*z - s*x},
		{t*x*z - s*y, t*y*z + s*x, t*z*z + c},
	}
}

func randomAxis(r *rand.Rand) [3]float64 {
	v := [3]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

// synth is a made-up person: each joint turns about its own fixed axis by an angle that swings
// with the frame (the root by up to 170 degrees, the others by up to 80), and the body walks
// away from the camera. Interpolating between two frames is then turning each joint about the
// same axis by the interpolated angle, which the gap test uses.
type synth struct {
	id    int
	body  *models.Body
	axis  [models.JointCount][3]float64
	amp   [models.JointCount]float64 // radians
	phase [models.JointCount]float64
	betas [models.BetaCount]float32
	start [3]float64
}

func newSynth(id int, body *models.Body, seed uint64) *synth {
	r := rand.New(rand.NewPCG(seed, 7))
	s := &synth{id: id, body: body, start: [3]float64{r.Float64() - 0.5, 0.3 * r.Float64(), 5 + 3*r.Float64()}}
	for j := range s.axis {
		s.axis[j] = randomAxis(r)
		s.amp[j] = (0.3 + 0.7*r.Float64()) * 80 * math.Pi / 180
		s.phase[j] = 2 * math.Pi * r.Float64()
	}
	s.amp[0] = 170 * math.Pi / 180
	for k := range s.betas {
		s.betas[k] = float32(r.NormFloat64())
	}
	return s
}

// angle returns joint j's angle at (possibly fractional) frame f.
func (s *synth) angle(j int, f float64) float64 { return s.amp[j] * math.Sin(0.25*f+s.phase[j]) }

// camT returns the body's translation at frame f.
func (s *synth) camT(f float64) [3]float32 {
	return [3]float32{float32(s.start[0] + 0.4*math.Sin(0.1*f)), float32(s.start[1]), float32(s.start[2] + 0.05*f)}
}

// pose returns the human.Pose with each joint turned by angles[j] (the root: then turned from
// the output frame back into the camera frame, so that its output-frame rotation is the plain
// axis rotation).
func (s *synth) pose(angles [models.JointCount]float64) human.Pose {
	p := human.Pose{Betas: s.betas}
	for j := range angles {
		m := rodrigues(s.axis[j], angles[j])
		if j == 0 {
			m = toOutput.mul(m) // toOutput is its own inverse
		}
		var dst []float32
		if j == 0 {
			dst = p.GlobalOrient[:]
		} else {
			dst = p.BodyPose[9*(j-1) : 9*j]
		}
		for r := range 3 {
			for c := range 3 {
				dst[3*r+c] = float32(m[r][c])
			}
		}
	}
	return p
}

// posed returns what meshpipe computes for a pose and translation (human.Pose's steps): the
// joints and vertices in the camera frame, CamT added.
func (s *synth) posed(p *human.Pose, t [3]float32) (joints [models.JointCount][3]float32, verts []float32) {
	verts = make([]float32, len(s.body.Template))
	joints = s.body.Pose(p, verts)
	for i := range verts {
		verts[i] += t[i%3]
	}
	for j := range joints {
		for k := range 3 {
			joints[j][k] += t[k]
		}
	}
	return joints, verts
}

// sample returns the track's Sample at frame f with status st.
func (s *synth) sample(f int64, st Status) Sample {
	var angles [models.JointCount]float64
	for j := range angles {
		angles[j] = s.angle(j, float64(f))
	}
	p := s.pose(angles)
	t := s.camT(float64(f))
	joints, _ := s.posed(&p, t)
	out := Sample{TrackID: s.id, Status: st, CamT: t, Betas: p.Betas, Joints3D: joints}
	for r := range 3 {
		copy(out.GlobalOrient[r][:], p.GlobalOrient[3*r:3*r+3])
	}
	for j := range out.BodyPose {
		for r := range 3 {
			copy(out.BodyPose[j][r][:], p.BodyPose[9*j+3*r:9*j+3*r+3])
		}
	}
	return out
}

// record feeds frames 0..n-1 to a new Recorder: on each frame, each synth's status from
// statuses (absent from the frame where it returns -1).
func record(t *testing.T, n int64, synths []*synth, status func(s *synth, f int64) int) *Recorder {
	t.Helper()
	rec := NewRecorder()
	for f := int64(0); f < n; f++ {
		var people []Sample
		for _, s := range synths {
			if st := status(s, f); st >= 0 {
				people = append(people, s.sample(f, Status(st)))
			}
		}
		if err := rec.AddFrame(f, people); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

func always(*synth, int64) int { return int(Found) }

func dist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func output32(v [3]float32) [3]float64 {
	return outputFrame([3]float64{float64(v[0]), float64(v[1]), float64(v[2])})
}

// ---- A BVH reader of the test's own, from the format's common reading (bvh.go's comment).

type bvhJoint struct {
	name     string
	parent   int
	offset   [3]float64
	channels []string
}

type bvhFile struct {
	joints    []bvhJoint
	frames    [][]float64
	frameTime float64
}

func readBVH(t *testing.T, path string) bvhFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.Fields(string(raw))
	var b bvhFile
	i := 0
	next := func() string { i++; return tok[i-1] }
	num := func() float64 {
		v, err := strconv.ParseFloat(next(), 64)
		if err != nil {
			t.Fatalf("%s: token %d: %v", path, i, err)
		}
		return v
	}
	if next() != "HIERARCHY" {
		t.Fatalf("%s: no HIERARCHY", path)
	}
	var stack []int
	for {
		switch w := next(); w {
		case "ROOT", "JOINT":
			parent := -1
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			b.joints = append(b.joints, bvhJoint{name: next(), parent: parent})
			stack = append(stack, len(b.joints)-1)
		case "End":
			next() // Site
			stack = append(stack, -1)
		case "{":
		case "}":
			stack = stack[:len(stack)-1]
		case "OFFSET":
			o := [3]float64{num(), num(), num()}
			if j := stack[len(stack)-1]; j >= 0 {
				b.joints[j].offset = o
			}
		case "CHANNELS":
			n := int(num())
			j := &b.joints[stack[len(stack)-1]]
			for range n {
				j.channels = append(j.channels, next())
			}
		case "MOTION":
			if next() != "Frames:" {
				t.Fatalf("%s: no Frames:", path)
			}
			n := int(num())
			if next() != "Frame" || next() != "Time:" {
				t.Fatalf("%s: no Frame Time:", path)
			}
			b.frameTime = num()
			per := 0
			for _, j := range b.joints {
				per += len(j.channels)
			}
			for range n {
				line := make([]float64, per)
				for k := range line {
					line[k] = num()
				}
				b.frames = append(b.frames, line)
			}
			if i != len(tok) {
				t.Fatalf("%s: %d tokens after the last frame", path, len(tok)-i)
			}
			return b
		default:
			t.Fatalf("%s: unexpected %q", path, w)
		}
	}
}

// positions returns each joint's world position on frame k (the joint's offset, then its
// position channels, then its rotation channels in order; angles in degrees).
func (b bvhFile) positions(k int) map[string][3]float64 {
	world := make([]mat3, len(b.joints))
	pos := make([][3]float64, len(b.joints))
	out := map[string][3]float64{}
	vals := b.frames[k]
	c := 0
	for j, jt := range b.joints {
		local := jt.offset
		rot := mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
		for _, ch := range jt.channels {
			v := vals[c]
			c++
			axis := int(ch[0] - 'X')
			if strings.HasSuffix(ch, "position") {
				local[axis] += v
			} else {
				rot = rot.mul(axisRotation(axis, v*math.Pi/180))
			}
		}
		if jt.parent < 0 {
			world[j], pos[j] = rot, local
		} else {
			d := world[jt.parent].apply(local)
			pos[j] = [3]float64{pos[jt.parent][0] + d[0], pos[jt.parent][1] + d[1], pos[jt.parent][2] + d[2]}
			world[j] = world[jt.parent].mul(rot)
		}
		out[jt.name] = pos[j]
	}
	return out
}

// ---- A glb reader of the test's own (glTF 2.0, section 4.4).

type glbFile struct {
	doc map[string]any
	js  struct {
		Nodes []struct {
			Name        string     `json:"name"`
			Children    []int      `json:"children"`
			Translation []float64  `json:"translation"`
			Mesh        *int       `json:"mesh"`
			Skin        *int       `json:"skin"`
			Rotation    []float64  `json:"rotation"`
			Scale       []float64  `json:"scale"`
			Matrix      []float64  `json:"matrix"`
			Extras      *nodeExtra `json:"extras"`
		} `json:"nodes"`
		Meshes []struct {
			Primitives []struct {
				Attributes map[string]int `json:"attributes"`
				Indices    int            `json:"indices"`
			} `json:"primitives"`
		} `json:"meshes"`
		Skins []struct {
			InverseBindMatrices int   `json:"inverseBindMatrices"`
			Joints              []int `json:"joints"`
		} `json:"skins"`
		Animations []struct {
			Channels []struct {
				Sampler int `json:"sampler"`
				Target  struct {
					Node int    `json:"node"`
					Path string `json:"path"`
				} `json:"target"`
			} `json:"channels"`
			Samplers []struct {
				Input         int    `json:"input"`
				Output        int    `json:"output"`
				Interpolation string `json:"interpolation"`
			} `json:"samplers"`
		} `json:"animations"`
		Accessors []struct {
			BufferView    int       `json:"bufferView"`
			ByteOffset    int       `json:"byteOffset"`
			ComponentType int       `json:"componentType"`
			Count         int       `json:"count"`
			Type          string    `json:"type"`
			Min           []float64 `json:"min"`
			Max           []float64 `json:"max"`
		} `json:"accessors"`
		BufferViews []struct {
			ByteOffset int `json:"byteOffset"`
			ByteLength int `json:"byteLength"`
		} `json:"bufferViews"`
		Asset struct {
			Extras gltfAssetExtras `json:"extras"`
		} `json:"asset"`
	}
	bin []byte
}

func readGLB(t *testing.T, path string) *glbFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(raw) < 20 || string(raw[:4]) != "glTF" || le.Uint32(raw[4:]) != 2 || int(le.Uint32(raw[8:])) != len(raw) {
		t.Fatalf("%s: not a glb of version 2 and its own length", path)
	}
	jl := int(le.Uint32(raw[12:]))
	if string(raw[16:20]) != "JSON" || jl%4 != 0 {
		t.Fatalf("%s: the first chunk is not JSON of a length divisible by 4", path)
	}
	g := &glbFile{}
	if err := json.Unmarshal(raw[20:20+jl], &g.js); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw[20:20+jl], &g.doc); err != nil {
		t.Fatal(err)
	}
	rest := raw[20+jl:]
	bl := int(le.Uint32(rest))
	if string(rest[4:8]) != "BIN\x00" || bl != len(rest)-8 {
		t.Fatalf("%s: the second chunk is not BIN of the rest's length", path)
	}
	g.bin = rest[8:]
	return g
}

var typeSize = map[string]int{"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}

// floats returns accessor a's values as float64s (any component type).
func (g *glbFile) floats(t *testing.T, a int) []float64 {
	t.Helper()
	acc := g.js.Accessors[a]
	bv := g.js.BufferViews[acc.BufferView]
	data := g.bin[bv.ByteOffset+acc.ByteOffset : bv.ByteOffset+bv.ByteLength]
	n := acc.Count * typeSize[acc.Type]
	out := make([]float64, n)
	le := binary.LittleEndian
	for i := range out {
		switch acc.ComponentType {
		case gltfFloat:
			out[i] = float64(math.Float32frombits(le.Uint32(data[4*i:])))
		case gltfUnsignedByte:
			out[i] = float64(data[i])
		case gltfUnsignedShort:
			out[i] = float64(le.Uint16(data[2*i:]))
		case gltfUnsignedInt:
			out[i] = float64(le.Uint32(data[4*i:]))
		default:
			t.Fatalf("accessor %d: component type %d", a, acc.ComponentType)
		}
	}
	return out
}

// channel returns the key times and values of the channel animating node's path.
func (g *glbFile) channel(t *testing.T, node int, path string) (times, values []float64, interp string) {
	t.Helper()
	an := g.js.Animations[0]
	for _, c := range an.Channels {
		if c.Target.Node == node && c.Target.Path == path {
			s := an.Samplers[c.Sampler]
			return g.floats(t, s.Input), g.floats(t, s.Output), s.Interpolation
		}
	}
	t.Fatalf("no channel for node %d %s", node, path)
	return nil, nil, ""
}

// jointWorld returns each node's world matrix (rotation and position) with the animation's
// values at key k for the animated nodes (the root's scale left out: it is 1 at every key).
func (g *glbFile) jointWorld(t *testing.T, k int) (rot []mat3, pos [][3]float64) {
	n := len(g.js.Nodes)
	rot, pos = make([]mat3, n), make([][3]float64, n)
	local := func(i int) (mat3, [3]float64) {
		nd := g.js.Nodes[i]
		var tr [3]float64
		copy(tr[:], nd.Translation)
		q := quat{0, 0, 0, 1}
		if len(nd.Rotation) == 4 {
			q = quat{nd.Rotation[0], nd.Rotation[1], nd.Rotation[2], nd.Rotation[3]}
		}
		for _, c := range g.js.Animations[0].Channels {
			if c.Target.Node != i || c.Target.Path == "scale" {
				continue
			}
			_, v, _ := g.channel(t, i, c.Target.Path)
			if c.Target.Path == "translation" {
				tr = [3]float64{v[3*k], v[3*k+1], v[3*k+2]}
			} else {
				q = quat{v[4*k], v[4*k+1], v[4*k+2], v[4*k+3]}
			}
		}
		return q.matrix(), tr
	}
	var walk func(i int, prot mat3, ppos [3]float64)
	walk = func(i int, prot mat3, ppos [3]float64) {
		r, tr := local(i)
		d := prot.apply(tr)
		rot[i], pos[i] = prot.mul(r), [3]float64{ppos[0] + d[0], ppos[1] + d[1], ppos[2] + d[2]}
		for _, c := range g.js.Nodes[i].Children {
			walk(c, rot[i], pos[i])
		}
	}
	walk(1, mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, [3]float64{})
	return rot, pos
}

// ---- Tests.

// The BVH's skeleton, posed by its channels as any BVH reader poses it, puts every joint where
// meshpipe's joints_3d have it (in the output frame) on every frame, within 1e-5 m: the
// mannequin, and an SMPL-layout body with betas.
func TestBVHJointsAreMeshpipes(t *testing.T) {
	for name, body := range testBodies(t) {
		t.Run(name, func(t *testing.T) {
			s := newSynth(4, body, 1)
			rec := record(t, 30, []*synth{s}, always)
			dir := t.TempDir()
			rep, err := rec.Write(dir, body, Options{FrameRate: 12.5})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Tracks) != 1 || rep.Tracks[0].BVH != "track_4.bvh" || rep.Tracks[0].MaxJointError > 1e-5 {
				t.Fatalf("report %+v", rep)
			}
			b := readBVH(t, filepath.Join(dir, "track_4.bvh"))
			if len(b.joints) != models.JointCount || len(b.frames) != 30 || b.frameTime != 0.08 {
				t.Fatalf("%d joints, %d frames, frame time %v; want 24, 30, 0.08", len(b.joints), len(b.frames), b.frameTime)
			}
			for j, jt := range b.joints {
				if jt.parent >= 0 && models.SMPLParents[jointIndex(t, jt.name)] != jointIndex(t, b.joints[jt.parent].name) {
					t.Fatalf("joint %d %s has parent %s", j, jt.name, b.joints[jt.parent].name)
				}
			}
			worst := 0.0
			for k := range b.frames {
				got := b.positions(k)
				want := s.sample(int64(k), Found).Joints3D
				for j := range want {
					worst = max(worst, dist(got[models.JointNames[j]], output32(want[j])))
				}
			}
			t.Logf("largest joint error over 30 frames: %.2g m", worst)
			if worst > 1e-5 {
				t.Errorf("BVH joints differ from meshpipe's by up to %.3g m (> 1e-5)", worst)
			}
		})
	}
}

func jointIndex(t *testing.T, name string) int {
	for j, n := range models.JointNames {
		if n == name {
			return j
		}
	}
	t.Fatalf("unknown joint %q", name)
	return -1
}

// testBodies returns the mannequin and a random SMPL-layout body file (300 vertices, with
// shape and pose blend shapes and a joint regressor), made by models/testdata/smpl_ref.py.
func testBodies(t *testing.T) map[string]*models.Body {
	t.Helper()
	return map[string]*models.Body{"mannequin": models.Mannequin(), "smpl": smplBody(t)}
}

// The glb's skeleton, posed by its animation's keys, puts every joint where meshpipe's
// joints_3d have it, and the skinned mesh (inverse bind matrices and weights) is meshpipe's
// posed mesh (the mannequin, which has no pose blend shapes), within 1e-5 m; keys are at frame
// / rate seconds; the root is scaled to 0 outside the track's frames.
func TestGLBMatchesMeshpipe(t *testing.T) {
	body := models.Mannequin()
	s := newSynth(9, body, 2)
	// The track starts on frame 3: frames 0..2 have nobody.
	rec := record(t, 25, []*synth{s}, func(_ *synth, f int64) int {
		if f < 3 {
			return -1
		}
		return int(Found)
	})
	dir := t.TempDir()
	if _, err := rec.Write(dir, body, Options{FrameRate: 30000.0 / 1001}); err != nil {
		t.Fatal(err)
	}
	g := readGLB(t, filepath.Join(dir, "track_9.glb"))
	if e := g.js.Asset.Extras; e.TrackID != 9 || e.FirstFrame != 3 || e.LastFrame != 24 {
		t.Errorf("asset extras %+v", e)
	}
	times, _, interp := g.channel(t, 1, "rotation")
	if len(times) != 22 || interp != "LINEAR" {
		t.Fatalf("%d rotation keys (%s), want 22 (LINEAR)", len(times), interp)
	}
	for k, tm := range times {
		if want := float64(float32(float64(k+3) * 1001 / 30000)); tm != want {
			t.Fatalf("key %d at %v s, want %v", k, tm, want)
		}
	}
	st, sv, interp := g.channel(t, 1, "scale")
	wantT := []float64{0, float64(float32(3 * 1001 / 30000.0)), float64(float32(25 * 1001 / 30000.0))}
	if interp != "STEP" || fmt.Sprint(st) != fmt.Sprint(wantT) || fmt.Sprint(sv) != "[0 0 0 1 1 1 0 0 0]" {
		t.Errorf("scale: %s keys at %v of %v; want STEP at %v of 0, 1, 0", interp, st, sv, wantT)
	}

	prim := g.js.Meshes[0].Primitives[0]
	restPos := g.floats(t, prim.Attributes["POSITION"])
	ibm := g.floats(t, g.js.Skins[0].InverseBindMatrices)
	jointsAttr, weightsAttr := g.floats(t, prim.Attributes["JOINTS_0"]), g.floats(t, prim.Attributes["WEIGHTS_0"])
	if _, two := prim.Attributes["JOINTS_1"]; two {
		t.Error("the mannequin has at most 3 joints a vertex, yet the glb has a second set")
	}
	skinJoints := g.js.Skins[0].Joints
	worstJ, worstV := 0.0, 0.0
	for k := range times {
		f := int64(k + 3)
		rot, pos := g.jointWorld(t, k)
		smp := s.sample(f, Found)
		for j := range models.JointCount {
			worstJ = max(worstJ, dist(pos[1+j], output32(smp.Joints3D[j])))
		}
		p := human.Pose{Betas: smp.Betas}
		for r := range 3 {
			copy(p.GlobalOrient[3*r:], smp.GlobalOrient[r][:])
		}
		for j := range smp.BodyPose {
			for r := range 3 {
				copy(p.BodyPose[9*j+3*r:], smp.BodyPose[j][r][:])
			}
		}
		_, verts := s.posed(&p, smp.CamT)
		for v := 0; v < len(restPos)/3; v++ {
			var got [3]float64
			for slot := range 4 {
				w := weightsAttr[4*v+slot]
				if w == 0 {
					continue
				}
				node := skinJoints[int(jointsAttr[4*v+slot])]
				m := ibm[16*(node-1):] // column-major: translation in 12..14
				local := [3]float64{restPos[3*v] + m[12], restPos[3*v+1] + m[13], restPos[3*v+2] + m[14]}
				q := rot[node].apply(local)
				for c := range 3 {
					got[c] += w * (q[c] + pos[node][c])
				}
			}
			want := output32([3]float32{verts[3*v], verts[3*v+1], verts[3*v+2]})
			worstV = max(worstV, dist(got, want))
		}
	}
	t.Logf("largest joint error %.2g m, vertex error %.2g m over %d keys", worstJ, worstV, len(times))
	if worstJ > 1e-5 || worstV > 1e-5 {
		t.Errorf("the glb's joints differ from meshpipe's by %.3g m and its skinned vertices by %.3g m (> 1e-5)", worstJ, worstV)
	}
}

// Frames without a found pose are left out with the time kept: the glb has keys only at found
// frames, at their times; the BVH has one line per frame from the first found to the last, and
// a line of a left-out frame is the pose interpolated between the found frames around it (each
// joint turned about the same axis by the interpolated angle, the root moved linearly).
// Held and missing frames and frames where the track is absent count alike.
func TestLeftOutFramesKeepTime(t *testing.T) {
	body := models.Mannequin()
	s := newSynth(2, body, 3)
	status := map[int64]int{0: -1, 1: -1, 8: int(Held), 9: int(Held), 10: int(Missing), 11: -1, 21: int(Held), 22: int(Missing)}
	rec := record(t, 23, []*synth{s}, func(_ *synth, f int64) int {
		if st, ok := status[f]; ok {
			return st
		}
		return int(Found)
	})
	dir := t.TempDir()
	rep, err := rec.Write(dir, body, Options{FrameRate: 10})
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tracks[0]
	if tr.FirstFrame != 2 || tr.LastFrame != 20 || tr.Found != 15 || tr.Held != 3 || tr.Missing != 2 || tr.StartSeconds != 0.2 {
		t.Fatalf("report %+v", tr)
	}
	g := readGLB(t, filepath.Join(dir, "track_2.glb"))
	times, _, _ := g.channel(t, 5, "rotation")
	var keyFrames []int64
	for _, tm := range times {
		keyFrames = append(keyFrames, int64(math.Round(tm*10)))
	}
	if fmt.Sprint(keyFrames) != "[2 3 4 5 6 7 12 13 14 15 16 17 18 19 20]" {
		t.Fatalf("glb keys at frames %v", keyFrames)
	}
	b := readBVH(t, filepath.Join(dir, "track_2.bvh"))
	if len(b.frames) != 19 {
		t.Fatalf("BVH has %d frames, want 19 (frames 2..20)", len(b.frames))
	}
	worst := 0.0
	for f := int64(2); f <= 20; f++ {
		var want [models.JointCount][3]float32
		if f >= 8 && f <= 11 {
			u := float64(f-7) / 5 // between frames 7 and 12
			var angles [models.JointCount]float64
			for j := range angles {
				angles[j] = s.angle(j, 7) + u*(s.angle(j, 12)-s.angle(j, 7))
			}
			p := s.pose(angles)
			joints, _ := s.posed(&p, [3]float32{})
			a, c := s.sample(7, Found).Joints3D[0], s.sample(12, Found).Joints3D[0]
			for j := range joints {
				for k := range 3 {
					root := float64(a[k]) + u*float64(c[k]-a[k])
					want[j][k] = float32(float64(joints[j][k]-joints[0][k]) + root)
				}
			}
		} else {
			want = s.sample(f, Found).Joints3D
		}
		got := b.positions(int(f - 2))
		for j := range want {
			worst = max(worst, dist(got[models.JointNames[j]], output32(want[j])))
		}
	}
	t.Logf("largest joint error over the BVH's 19 frames, 4 of them interpolated: %.2g m", worst)
	if worst > 1e-5 {
		t.Errorf("BVH joints differ by up to %.3g m (> 1e-5) from the found or interpolated poses", worst)
	}
}

// Tracks with fewer found frames than the minimum get no files, and tracks.json says why.
func TestShortTracksAreSkipped(t *testing.T) {
	body := models.Mannequin()
	short, long := newSynth(1, body, 4), newSynth(2, body, 5)
	rec := record(t, 12, []*synth{short, long}, func(s *synth, f int64) int {
		if s == short && f >= DefaultMinFrames-1 {
			return int(Held)
		}
		return int(Found)
	})
	dir := t.TempDir()
	rep, err := rec.Write(dir, body, Options{FrameRate: 25})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tracks[0].Skipped == "" || rep.Tracks[0].BVH != "" || rep.Tracks[1].Skipped != "" {
		t.Fatalf("report %+v", rep.Tracks)
	}
	for name, want := range map[string]bool{"track_1.bvh": false, "track_1.glb": false, "track_2.bvh": true, "track_2.glb": true, "tracks.json": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", name, err == nil, want)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "tracks.json"))
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || back.MinFrames != DefaultMinFrames || len(back.Tracks) != 2 ||
		!strings.Contains(back.Tracks[0].Skipped, "9 frames with a pose found, fewer than 10") {
		t.Fatalf("tracks.json: %v\n%s", err, raw)
	}
	dir2 := t.TempDir()
	if rep, err = rec.Write(dir2, body, Options{FrameRate: 25, MinFrames: 9}); err != nil || rep.Tracks[0].BVH == "" {
		t.Fatalf("MinFrames 9: %v, %+v", err, rep.Tracks)
	}
}

// Bad frames are refused with the frame, the track and the field at fault, and nothing of
// them is recorded.
func TestAddFrameErrors(t *testing.T) {
	body := models.Mannequin()
	good := newSynth(1, body, 6).sample(0, Found)
	bad := func(edit func(s *Sample)) []Sample {
		s := good
		edit(&s)
		return []Sample{s}
	}
	for _, c := range []struct {
		name   string
		frame  int64
		people []Sample
		want   string
	}{
		{"not after", 3, []Sample{good}, "frame 3 comes after frame 3"},
		{"negative", -1, nil, "frame -1: frame indices start at 0"},
		{"untracked", 5, bad(func(s *Sample) { s.TrackID = 0 }), "frame 5: person 0 has track id 0"},
		{"twice", 5, []Sample{good, good}, "frame 5: track 1 appears twice (people 0 and 1)"},
		{"scaled", 5, bad(func(s *Sample) { s.BodyPose[3][0][0] *= 2 }), "frame 5: track 1: body_pose[3] (joint 4, left_knee): not a rotation matrix"},
		{"mirror", 5, bad(func(s *Sample) {
			for c := range 3 {
				s.GlobalOrient[0][c] = -s.GlobalOrient[0][c]
			}
		}), "frame 5: track 1: global_orient: not a rotation matrix: a reflection"},
		{"nan", 5, bad(func(s *Sample) { s.CamT[2] = float32(math.NaN()) }), "frame 5: track 1: cam_t value 2 is NaN"},
		{"status", 5, bad(func(s *Sample) { s.Status = 7 }), "frame 5: track 1: unknown pose status 7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := NewRecorder()
			if err := rec.AddFrame(3, []Sample{good}); err != nil {
				t.Fatal(err)
			}
			err := rec.AddFrame(c.frame, c.people)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if rec.tracks[1].found != 1 || rec.last != 3 {
				t.Fatalf("the refused frame was recorded: %d found, last frame %d", rec.tracks[1].found, rec.last)
			}
		})
	}
	// A held or missing person's pose is not read: zeros are fine there.
	if err := NewRecorder().AddFrame(0, []Sample{{TrackID: 1, Status: Missing}, {TrackID: 2, Status: Held}}); err != nil {
		t.Fatal(err)
	}
}

// Write refuses a bad frame rate and reports a directory it cannot write, naming it.
func TestWriteErrors(t *testing.T) {
	body := models.Mannequin()
	rec := record(t, 10, []*synth{newSynth(1, body, 8)}, always)
	if _, err := rec.Write(t.TempDir(), body, Options{}); err == nil || !strings.Contains(err.Error(), "frame rate 0") {
		t.Errorf("rate 0: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := rec.Write(filepath.Join(file, "dir"), body, Options{FrameRate: 10}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a directory under a file: %v", err)
	}
}

// poseFileLine writes frame f's people as a -poses line (package poses' Record, with
// pose_status from status).
func poseFileLine(w *bufio.Writer, f int64, people []Sample, status []string) {
	rec := poses.Record{Frame: f, Camera: poses.Camera{FocalLength: 1000, PrincipalPoint: [2]float32{320, 240}}, People: []poses.Person{}}
	for i, p := range people {
		rec.People = append(rec.People, poses.Person{TrackID: p.TrackID, PoseStatus: status[i], BBox: [4]float32{1, 2, 3, 4}, Score: 0.9,
			CamT: p.CamT, GlobalOrient: p.GlobalOrient, BodyPose: p.BodyPose, Betas: p.Betas, Joints3D: p.Joints3D})
	}
	js, _ := json.Marshal(rec)
	w.Write(append(js, '\n'))
}

// A -poses file read back gives the same files as the same poses recorded directly; pose_status
// is read (absent: found).
func TestReadPoseFileGivesTheSameFiles(t *testing.T) {
	body := models.Mannequin()
	a, b := newSynth(3, body, 9), newSynth(5, body, 10)
	statusOf := func(s *synth, f int64) int {
		switch {
		case s == a && f == 4:
			return int(Held)
		case s == a && f == 5:
			return int(Missing)
		case s == b && f < 2:
			return -1
		}
		return int(Found)
	}
	direct := record(t, 14, []*synth{a, b}, statusOf)
	path := filepath.Join(t.TempDir(), "poses.jsonl")
	f, _ := os.Create(path)
	w := bufio.NewWriter(f)
	for fr := int64(0); fr < 14; fr++ {
		var people []Sample
		var status []string
		for _, s := range []*synth{a, b} {
			if st := statusOf(s, fr); st >= 0 {
				people = append(people, s.sample(fr, Status(st)))
				name := Status(st).String()
				if st == int(Found) && fr%2 == 0 {
					name = "" // an old file: no pose_status
				}
				status = append(status, name)
			}
		}
		poseFileLine(w, fr, people, status)
	}
	w.Flush()
	f.Close()
	read, err := ReadPoseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := t.TempDir(), t.TempDir()
	_, err1 := direct.Write(d1, body, Options{FrameRate: 25})
	r2, err2 := read.Write(d2, body, Options{FrameRate: 25})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if r2.Tracks[0].Held != 1 || r2.Tracks[0].Missing != 1 || r2.Tracks[1].FirstFrame != 2 {
		t.Fatalf("report from the file: %+v", r2.Tracks)
	}
	for _, name := range []string{"track_3.bvh", "track_3.glb", "track_5.bvh", "track_5.glb", "tracks.json"} {
		x, _ := os.ReadFile(filepath.Join(d1, name))
		y, _ := os.ReadFile(filepath.Join(d2, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: %d bytes recorded directly, %d from the file, not the same", name, len(x), len(y))
		}
	}
}

// A broken pose file gets an error naming the file and the line.
func TestReadPoseFileErrors(t *testing.T) {
	body := models.Mannequin()
	var good bytes.Buffer
	w := bufio.NewWriter(&good)
	poseFileLine(w, 0, []Sample{newSynth(1, body, 11).sample(0, Found)}, []string{""})
	w.Flush()
	for _, c := range []struct {
		name, text, want string
	}{
		{"truncated", good.String() + good.String()[:100], "pose file p.jsonl: line 2: unexpected EOF"},
		{"status", strings.Replace(good.String(), `"track_id":1,`, `"track_id":1,"pose_status":"lost",`, 1), `line 1: frame 0: person 0 (track 1): pose_status "lost": want found, held or missing`},
		{"order", good.String() + good.String(), "pose file p.jsonl: line 2: frame 0 comes after frame 0"},
		{"not json", "frame 0\n", "line 1: invalid character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadPoses(strings.NewReader(c.text), "p.jsonl")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := ReadPoseFile("/nonexistent/p.jsonl"); err == nil || !strings.Contains(err.Error(), "/nonexistent/p.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

// What a run records (Recorder.WritePoses: FromPerson on each frame's people) and what ReadPoseFile makes of the
// run's -poses file (package poses' Writer) give byte-identical motion files: the float32
// values survive the JSON round trip exactly.
func TestRunAndPoseFileAgree(t *testing.T) {
	body := models.Mannequin()
	synths := []*synth{newSynth(1, body, 41), newSynth(2, body, 42)}
	path := filepath.Join(t.TempDir(), "poses.jsonl")
	pw, err := poses.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	live := NewRecorder()
	for f := int64(0); f < 12; f++ {
		var people []human.Person
		for _, s := range synths {
			smp := s.sample(f, Found)
			var p human.Person
			p.TrackID, p.CamT, p.Joints = s.id, smp.CamT, smp.Joints3D
			p.Pose.Betas = smp.Betas
			for r := range 3 {
				copy(p.Pose.GlobalOrient[3*r:], smp.GlobalOrient[r][:])
			}
			for j := range smp.BodyPose {
				for r := range 3 {
					copy(p.Pose.BodyPose[9*j+3*r:], smp.BodyPose[j][r][:])
				}
			}
			people = append(people, p)
		}
		if err := pw.WritePoses(&rawvideo.Frame{Seq: f, Width: 640, Height: 480}, people); err != nil {
			t.Fatal(err)
		}
		if err := live.WritePoses(&rawvideo.Frame{Seq: f}, people); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	read, err := ReadPoseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := t.TempDir(), t.TempDir()
	if _, err := live.Write(d1, body, Options{FrameRate: 15}); err != nil {
		t.Fatal(err)
	}
	if _, err := read.Write(d2, body, Options{FrameRate: 15}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"track_1.bvh", "track_1.glb", "track_2.bvh", "track_2.glb", "tracks.json"} {
		x, _ := os.ReadFile(filepath.Join(d1, name))
		y, _ := os.ReadFile(filepath.Join(d2, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: %d bytes from the run, %d from its pose file, not the same", name, len(x), len(y))
		}
	}
}
