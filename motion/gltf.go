package motion

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/models"
)

// glTF 2.0 (Khronos, https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html) as meshpipe
// writes it: one binary .glb (section 4.4: a 12-byte header, a JSON chunk, a BIN chunk) holding
//
//   - node 0, the track's body: a mesh skinned by skin 0. Its vertices are the body's shaped
//     template at rest (the T-pose in the body frame, which at rest is the output frame), with
//     normals, the skin weights (JOINTS_0/WEIGHTS_0, and JOINTS_1/WEIGHTS_1 when some vertex has
//     more than 4 joints; at most 8, the largest, renormalised) and the triangles;
//   - nodes 1..24, the joints in SMPL order (node 1 + j is joint j, named as models.JointNames),
//     each translated from its parent by its rest offset; the inverse bind matrices undo the
//     rest joints' positions;
//   - one animation: the root joint's translation and every joint's rotation (quaternions,
//     LINEAR) at the found frames' times, and the root's scale (STEP): 0 before the first
//     found frame and from one frame after the last, 1 in between.
//
// Pose blend shapes (SMPL's posedirs) are not carried: a glTF viewer skins the rest mesh only.

// glTF enumerations (spec, section 5).
const (
	gltfFloat         = 5126
	gltfUnsignedByte  = 5121
	gltfUnsignedShort = 5123
	gltfUnsignedInt   = 5125
	gltfArrayBuffer   = 34962
	gltfElementBuffer = 34963
	gltfTriangles     = 4
)

// bodyColor is the glb material's base colour: 4D-Humans' light blue (DESIGN.md), as meshpipe
// draws by default.
var bodyColor = [4]float32{0.651, 0.741, 0.859, 1}

type gltfDoc struct {
	Asset       gltfAsset        `json:"asset"`
	Scene       int              `json:"scene"`
	Scenes      []gltfScene      `json:"scenes"`
	Nodes       []gltfNode       `json:"nodes"`
	Meshes      []gltfMesh       `json:"meshes"`
	Materials   []gltfMaterial   `json:"materials"`
	Skins       []gltfSkin       `json:"skins"`
	Animations  []gltfAnimation  `json:"animations"`
	Accessors   []gltfAccessor   `json:"accessors"`
	BufferViews []gltfBufferView `json:"bufferViews"`
	Buffers     []gltfBuffer     `json:"buffers"`
}

type gltfAsset struct {
	Version   string          `json:"version"`
	Generator string          `json:"generator"`
	Extras    gltfAssetExtras `json:"extras"`
}

// gltfAssetExtras tells tools which track and frames the file holds.
type gltfAssetExtras struct {
	TrackID    int     `json:"track_id"`
	FirstFrame int64   `json:"first_frame"`
	LastFrame  int64   `json:"last_frame"`
	FrameRate  float64 `json:"frame_rate"`
	Units      string  `json:"units"`
	Frame      string  `json:"frame"`
}

type gltfScene struct {
	Name  string `json:"name"`
	Nodes []int  `json:"nodes"`
}

type gltfNode struct {
	Name        string     `json:"name"`
	Mesh        *int       `json:"mesh,omitempty"`
	Skin        *int       `json:"skin,omitempty"`
	Children    []int      `json:"children,omitempty"`
	Translation []float32  `json:"translation,omitempty"`
	Rotation    []float32  `json:"rotation,omitempty"`
	Scale       []float32  `json:"scale,omitempty"`
	Extras      *nodeExtra `json:"extras,omitempty"`
}

type nodeExtra struct {
	SMPLJoint int `json:"smpl_joint"`
}

type gltfMesh struct {
	Name       string          `json:"name"`
	Primitives []gltfPrimitive `json:"primitives"`
}

type gltfPrimitive struct {
	Attributes map[string]int `json:"attributes"`
	Indices    int            `json:"indices"`
	Material   int            `json:"material"`
	Mode       int            `json:"mode"`
}

type gltfMaterial struct {
	Name string  `json:"name"`
	PBR  gltfPBR `json:"pbrMetallicRoughness"`
}

type gltfPBR struct {
	BaseColorFactor [4]float32 `json:"baseColorFactor"`
	MetallicFactor  float32    `json:"metallicFactor"`
	RoughnessFactor float32    `json:"roughnessFactor"`
}

type gltfSkin struct {
	Name                string `json:"name"`
	InverseBindMatrices int    `json:"inverseBindMatrices"`
	Skeleton            int    `json:"skeleton"`
	Joints              []int  `json:"joints"`
}

type gltfAnimation struct {
	Name     string        `json:"name"`
	Channels []gltfChannel `json:"channels"`
	Samplers []gltfSampler `json:"samplers"`
}

type gltfChannel struct {
	Sampler int        `json:"sampler"`
	Target  gltfTarget `json:"target"`
}

type gltfTarget struct {
	Node int    `json:"node"`
	Path string `json:"path"`
}

type gltfSampler struct {
	Input         int    `json:"input"`
	Interpolation string `json:"interpolation"`
	Output        int    `json:"output"`
}

type gltfAccessor struct {
	BufferView    int       `json:"bufferView"`
	ComponentType int       `json:"componentType"`
	Count         int       `json:"count"`
	Type          string    `json:"type"`
	Min           []float32 `json:"min,omitempty"`
	Max           []float32 `json:"max,omitempty"`
}

type gltfBufferView struct {
	Buffer     int `json:"buffer"`
	ByteOffset int `json:"byteOffset"`
	ByteLength int `json:"byteLength"`
	Target     int `json:"target,omitempty"`
}

type gltfBuffer struct {
	ByteLength int `json:"byteLength"`
}

// glbBuilder gathers the document and its binary buffer.
type glbBuilder struct {
	doc gltfDoc
	bin []byte
}

// add appends data as a new buffer view (at a 4-byte boundary, which every accessor component
// type needs) and an accessor over all of it, and returns the accessor's index. With minMax the
// accessor gets the per-component min and max of float data (required for POSITION and for
// animation inputs).
func (b *glbBuilder) add(data any, componentType, count int, typ string, target int, minMax []float32) int {
	for len(b.bin)%4 != 0 {
		b.bin = append(b.bin, 0)
	}
	off := len(b.bin)
	b.bin, _ = binary.Append(b.bin, binary.LittleEndian, data) // fixed-size slices only: never fails
	b.doc.BufferViews = append(b.doc.BufferViews, gltfBufferView{ByteOffset: off, ByteLength: len(b.bin) - off, Target: target})
	acc := gltfAccessor{BufferView: len(b.doc.BufferViews) - 1, ComponentType: componentType, Count: count, Type: typ}
	if minMax != nil {
		n := len(minMax) / count
		acc.Min, acc.Max = slices.Clone(minMax[:n]), slices.Clone(minMax[:n])
		for i := 0; i < len(minMax); i++ {
			acc.Min[i%n] = min(acc.Min[i%n], minMax[i])
			acc.Max[i%n] = max(acc.Max[i%n], minMax[i])
		}
	}
	b.doc.Accessors = append(b.doc.Accessors, acc)
	return len(b.doc.Accessors) - 1
}

// writeGLB writes a's glb with body's mesh (see the comment at the top of this file).
func writeGLB(w io.Writer, a *animation, body *models.Body, rate float64) error {
	name := fmt.Sprintf("track_%d", a.id)
	b := &glbBuilder{}
	b.doc.Asset = gltfAsset{Version: "2.0", Generator: "meshpipe", Extras: gltfAssetExtras{
		TrackID: a.id, FirstFrame: a.frames[0], LastFrame: a.frames[len(a.frames)-1], FrameRate: rate,
		Units: "metres", Frame: "meshpipe's camera frame turned 180 degrees about x: x right, y up, z towards the viewer; the camera at the origin looking along -z",
	}}
	b.doc.Buffers = []gltfBuffer{{}}

	// The mesh at rest.
	pos := make([]float32, len(body.Template))
	body.Shaped(&a.betas, pos)
	posAcc := b.add(pos, gltfFloat, len(pos)/3, "VEC3", gltfArrayBuffer, pos)
	normAcc := b.add(vertexNormals(pos, body.Faces), gltfFloat, len(pos)/3, "VEC3", gltfArrayBuffer, nil)
	attrs := map[string]int{"POSITION": posAcc, "NORMAL": normAcc}
	joints, weights := skinWeights(body.Weights, body.VertexCount())
	for s := range joints {
		attrs[fmt.Sprintf("JOINTS_%d", s)] = b.add(joints[s], gltfUnsignedByte, body.VertexCount(), "VEC4", gltfArrayBuffer, nil)
		attrs[fmt.Sprintf("WEIGHTS_%d", s)] = b.add(weights[s], gltfFloat, body.VertexCount(), "VEC4", gltfArrayBuffer, nil)
	}
	var idx int
	if body.VertexCount() <= math.MaxUint16 {
		i16 := make([]uint16, len(body.Faces))
		for i, f := range body.Faces {
			i16[i] = uint16(f)
		}
		idx = b.add(i16, gltfUnsignedShort, len(i16), "SCALAR", gltfElementBuffer, nil)
	} else {
		idx = b.add(body.Faces, gltfUnsignedInt, len(body.Faces), "SCALAR", gltfElementBuffer, nil)
	}
	b.doc.Materials = []gltfMaterial{{Name: "body", PBR: gltfPBR{BaseColorFactor: bodyColor, MetallicFactor: 0, RoughnessFactor: 0.8}}}
	b.doc.Meshes = []gltfMesh{{Name: name, Primitives: []gltfPrimitive{{Attributes: attrs, Indices: idx, Material: 0, Mode: gltfTriangles}}}}

	// The skeleton: node 1+j is joint j.
	meshIdx, skinIdx := 0, 0
	b.doc.Nodes = []gltfNode{{Name: name, Mesh: &meshIdx, Skin: &skinIdx}}
	kids := children()
	ibm := make([]float32, 0, 16*models.JointCount)
	jointNodes := make([]int, models.JointCount)
	for j := range models.JointCount {
		off := a.restOffset(j)
		n := gltfNode{Name: models.JointNames[j], Translation: []float32{float32(off[0]), float32(off[1]), float32(off[2])}, Extras: &nodeExtra{SMPLJoint: j}}
		for _, c := range kids[j] {
			n.Children = append(n.Children, 1+c)
		}
		b.doc.Nodes = append(b.doc.Nodes, n)
		jointNodes[j] = 1 + j
		r := a.rest[j] // the inverse of a translation to the rest joint, column-major
		ibm = append(ibm, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, -r[0], -r[1], -r[2], 1)
	}
	ibmAcc := b.add(ibm, gltfFloat, models.JointCount, "MAT4", 0, nil)
	b.doc.Skins = []gltfSkin{{Name: name + "_skeleton", InverseBindMatrices: ibmAcc, Skeleton: 1, Joints: jointNodes}}
	b.doc.Scenes = []gltfScene{{Name: name, Nodes: []int{0, 1}}}

	// The animation.
	n := len(a.frames)
	times := make([]float32, n)
	for i, f := range a.frames {
		times[i] = float32(float64(f) / rate)
	}
	timeAcc := b.add(times, gltfFloat, n, "SCALAR", 0, times)
	anim := gltfAnimation{Name: name}
	channel := func(node int, path string, input, output int, interp string) {
		anim.Samplers = append(anim.Samplers, gltfSampler{Input: input, Interpolation: interp, Output: output})
		anim.Channels = append(anim.Channels, gltfChannel{Sampler: len(anim.Samplers) - 1, Target: gltfTarget{Node: node, Path: path}})
	}
	tr := make([]float32, 0, 3*n)
	for i := range a.root {
		tr = append(tr, float32(a.root[i][0]), float32(a.root[i][1]), float32(a.root[i][2]))
	}
	channel(1, "translation", timeAcc, b.add(tr, gltfFloat, n, "VEC3", 0, nil), "LINEAR")
	for j := range models.JointCount {
		q := make([]float32, 0, 4*n)
		for i := range a.rot {
			r := a.rot[i][j]
			q = append(q, float32(r[0]), float32(r[1]), float32(r[2]), float32(r[3]))
		}
		channel(1+j, "rotation", timeAcc, b.add(q, gltfFloat, n, "VEC4", 0, nil), "LINEAR")
	}
	// Visibility: the root's scale, 0 while the person is not seen.
	var st, sv []float32
	if a.frames[0] > 0 {
		st, sv = append(st, 0), append(sv, 0, 0, 0)
	}
	st = append(st, times[0], float32(float64(a.frames[n-1]+1)/rate))
	sv = append(sv, 1, 1, 1, 0, 0, 0)
	channel(1, "scale", b.add(st, gltfFloat, len(st), "SCALAR", 0, st), b.add(sv, gltfFloat, len(st), "VEC3", 0, nil), "STEP")
	b.doc.Animations = []gltfAnimation{anim}
	b.doc.Buffers[0].ByteLength = len(b.bin)

	js, err := json.Marshal(&b.doc)
	if err != nil {
		return err
	}
	for len(js)%4 != 0 {
		js = append(js, ' ')
	}
	var out bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 0, 28)
	hdr = le.AppendUint32(hdr, 0x46546C67) // "glTF"
	hdr = le.AppendUint32(hdr, 2)
	hdr = le.AppendUint32(hdr, uint32(12+8+len(js)+8+len(b.bin)))
	hdr = le.AppendUint32(hdr, uint32(len(js)))
	hdr = le.AppendUint32(hdr, 0x4E4F534A) // "JSON"
	out.Write(hdr)
	out.Write(js)
	out.Write(le.AppendUint32(le.AppendUint32(nil, uint32(len(b.bin))), 0x004E4942)) // "BIN\0"
	out.Write(b.bin)
	_, err = w.Write(out.Bytes())
	return err
}

// vertexNormals returns unit vertex normals ([V*3]) of the triangle mesh: each the normalised
// sum of the normals of the triangles around it, weighted by their areas (the cross product's
// length); (0, 1, 0) for a vertex on no triangle of non-zero area.
func vertexNormals(pos []float32, faces []uint32) []float32 {
	acc := make([]float64, len(pos))
	for f := 0; f+2 < len(faces); f += 3 {
		a, b, c := faces[f], faces[f+1], faces[f+2]
		var e1, e2 [3]float64
		for k := range 3 {
			e1[k] = float64(pos[3*b+uint32(k)]) - float64(pos[3*a+uint32(k)])
			e2[k] = float64(pos[3*c+uint32(k)]) - float64(pos[3*a+uint32(k)])
		}
		n := [3]float64{e1[1]*e2[2] - e1[2]*e2[1], e1[2]*e2[0] - e1[0]*e2[2], e1[0]*e2[1] - e1[1]*e2[0]}
		for _, v := range []uint32{a, b, c} {
			for k := range 3 {
				acc[3*v+uint32(k)] += n[k]
			}
		}
	}
	out := make([]float32, len(pos))
	for v := 0; v < len(pos)/3; v++ {
		x, y, z := acc[3*v], acc[3*v+1], acc[3*v+2]
		l := math.Sqrt(x*x + y*y + z*z)
		if l < 1e-12 {
			out[3*v+1] = 1
			continue
		}
		out[3*v], out[3*v+1], out[3*v+2] = float32(x/l), float32(y/l), float32(z/l)
	}
	return out
}

// skinWeights turns weights ([V*24], rows summing to 1) into glTF's sets of four joints and
// weights: one set when no vertex has more than 4 joints of non-zero weight, else two (the 8
// largest). Each vertex's weights are sorted largest first (ties by joint index), scaled to sum
// to 1 and rounded to float32 with the rounding error given to the largest, so the float32 sum
// is 1 as closely as float32 allows; unused slots have joint 0 and weight 0. A vertex without
// any weight follows the root joint.
func skinWeights(weights []float32, v int) (joints [][]uint8, ws [][]float32) {
	type jw struct {
		j int
		w float32
	}
	most := 0
	rows := make([][]jw, v)
	for i := range v {
		var r []jw
		for j, w := range weights[i*models.JointCount : (i+1)*models.JointCount] {
			if w > 0 {
				r = append(r, jw{j, w})
			}
		}
		slices.SortStableFunc(r, func(a, b jw) int {
			switch {
			case a.w > b.w:
				return -1
			case a.w < b.w:
				return 1
			}
			return a.j - b.j
		})
		if len(r) > 8 {
			r = r[:8]
		}
		if len(r) == 0 { // no joint moves it: let it follow the root
			r = []jw{{0, 1}}
		}
		rows[i] = r
		most = max(most, len(r))
	}
	sets := 1
	if most > 4 {
		sets = 2
	}
	joints, ws = make([][]uint8, sets), make([][]float32, sets)
	for s := range sets {
		joints[s], ws[s] = make([]uint8, 4*v), make([]float32, 4*v)
	}
	for i, r := range rows {
		var sum float64
		for _, e := range r {
			sum += float64(e.w)
		}
		var got float64
		for k, e := range r {
			w := float32(float64(e.w) / sum)
			joints[k/4][4*i+k%4], ws[k/4][4*i+k%4] = uint8(e.j), w
			got += float64(w)
		}
		ws[0][4*i] = float32(float64(ws[0][4*i]) + 1 - got)
	}
	return joints, ws
}
