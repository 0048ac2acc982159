// Package gl draws 3D body meshes over video frames with OpenGL, headless: each Renderer owns
// one OpenGL 3.3 core context, made with EGL (no window, no display server) on one OS thread
// that it keeps for life, renders into an offscreen framebuffer, reads the pixels back and
// alpha-composites them over an rgb24 rawvideo.Frame in place.
//
// EGL platforms are tried in this order: the EGL device platform (EGL_EXT_device_enumeration,
// EGL_EXT_platform_device), Mesa's surfaceless platform (EGL_PLATFORM_SURFACELESS_MESA), then
// eglGetDisplay(EGL_DEFAULT_DISPLAY). On a machine without a GPU, Mesa's llvmpipe renders on
// the CPU. The package needs cgo; built without it, NewRenderer always fails.
//
// Coordinate frames used throughout: the image frame has x right and y down in pixels, with
// pixel (i, j) covering [i, i+1) x [j, j+1) (its centre at (i+0.5, j+0.5)); the camera frame
// has x right, y down and z forward, in metres.
package gl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Camera holds pinhole intrinsics in pixels. A camera-frame point (X, Y, Z) (metres, x right,
// y down, z forward) lands at the image point u = Focal*X/Z + CX, v = Focal*Y/Z + CY
// (continuous pixel coordinates, x right and y down from the frame's top-left corner).
// Focal must be positive and all three finite. Points closer than 0.1 m or farther than 1000 m are clipped.
type Camera struct {
	// Focal is the focal length in pixels, the same for x and y.
	Focal float32
	// CX and CY are the principal point in pixels (usually W/2, H/2).
	CX, CY float32
}

// Mesh is one body to draw. All meshes given to one Renderer share its faces and so have the
// same vertex count.
type Mesh struct {
	// Vertices holds the vertex positions in the camera frame, in metres, as xyz triples:
	// vertex i is (Vertices[3i], Vertices[3i+1], Vertices[3i+2]), and len(Vertices) must be
	// 3*vertexCount (the count given to NewRenderer).
	Vertices []float32
	// Color is the mesh's base colour, RGB, each in 0..1 (4D-Humans uses 0.651, 0.741,
	// 0.859). It is shaded by the lights before compositing.
	Color [3]float32
}

// DefaultColor is the light-blue mesh colour of 4D-Humans' renderer (renderer.py: LIGHT_BLUE =
// (0.65098039, 0.74117647, 0.85882353), RGB in 0..1), the colour people know HMR2's meshes by.
var DefaultColor = [3]float32{0.65098039, 0.74117647, 0.85882353}

// TrackColor returns the mesh colour of track id (human.Detection.TrackID): RGB in 0..1, the
// same for the same id in every frame, run and render worker. Ids below 1 (not tracked) get
// DefaultColor. Others get a light colour of their own: hue (0.6 + 0.618034*id) turns (the
// golden-ratio step, so that consecutive ids land far apart on the colour wheel), HSV saturation
// 0.5 and value 0.9, close to DefaultColor's brightness so the shading reads the same.
func TrackColor(id int) [3]float32 {
	if id < 1 {
		return DefaultColor
	}
	const golden = 0.6180339887498949                // (sqrt(5) - 1) / 2
	h := math.Mod(0.6+golden*float64(id%1000003), 1) // id folded so float64 keeps the fraction exact enough
	return hsv(h, 0.5, 0.9)
}

// hsv converts hue h (turns, in [0, 1)), saturation s and value v (both in [0, 1]) to RGB in
// 0..1 (the hexcone model, Smith 1978).
func hsv(h, s, v float64) [3]float32 {
	h6 := h * 6
	i := int(h6) % 6
	f := h6 - math.Floor(h6)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch i {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return [3]float32{float32(r), float32(g), float32(b)}
}

// DefaultSamples is the number of samples per pixel a Renderer draws with unless told
// otherwise: multisample anti-aliasing with 4 samples, the count every OpenGL 3.3 driver has.
const DefaultSamples = 4

// Options are a Renderer's settings (NewRendererOptions). The zero value gives the defaults.
type Options struct {
	// Samples is the number of samples per pixel for multisample anti-aliasing: 0 means
	// DefaultSamples, 1 turns anti-aliasing off (a frame then takes about a third of the CPU
	// time on a CPU renderer such as llvmpipe), and up to 16 may be asked; the driver gives at
	// most its GL_MAX_SAMPLES.
	Samples int
}

func (o Options) check() error {
	if o.Samples < 0 || o.Samples > 16 {
		return fmt.Errorf("gl: %d samples per pixel: want 0 (the default, %d) to 16", o.Samples, DefaultSamples)
	}
	return nil
}

func (o Options) samples() int {
	if o.Samples == 0 {
		return DefaultSamples
	}
	return o.Samples
}

// ErrClosed is returned (wrapped) by Render when the Renderer has been closed.
var ErrClosed = errors.New("gl: renderer closed")

// errNoEGL marks the failures that mean "this machine has no usable EGL at all" (built
// without cgo, or no EGL display could be initialised), as opposed to a broken set-up.
var errNoEGL = errors.New("no usable EGL")

// Depth range of the projection, in metres along the camera's z axis.
const (
	zNear = 0.1
	zFar  = 1000
)

// Shading: a little ambient light plus three directional lights arranged like pyrender's
// "Raymond" lights that 4D-Humans uses (30 degrees off the view axis, 120 degrees apart),
// scaled so that a surface facing the camera shows exactly its base colour.
const ambient = 0.3

// lightDirs are unit vectors from the surface toward each light, in the camera frame.
var lightDirs = [3][3]float32{
	{0.5, 0, -0.8660254},
	{-0.25, 0.4330127, -0.8660254},
	{-0.25, -0.4330127, -0.8660254},
}

// lightGain is each light's diffuse weight: ambient + 3*lightGain*cos(30deg) = 1.
const lightGain = (1 - ambient) / (3 * 0.8660254)

// shade returns the colour the fragment shader gives a surface of base colour c whose unit
// normal, already turned toward the viewer, is n (camera frame). Tests use it as reference.
func shade(c [3]float32, n [3]float32) [3]float32 {
	d := float32(ambient)
	for _, l := range lightDirs {
		d += lightGain * max(0, n[0]*l[0]+n[1]*l[1]+n[2]*l[2])
	}
	var out [3]float32
	for i := range out {
		out[i] = min(max(c[i]*d, 0), 1)
	}
	return out
}

// projection returns the column-major 4x4 matrix that maps camera-frame points (X, Y, Z, 1)
// to clip space for a w x h framebuffer: clip_x = (2F/W) X + (2CX/W - 1) Z,
// clip_y = (2F/H) Y + (2CY/H - 1) Z, clip_w = Z, and clip_z maps Z = zNear to NDC -1 and
// Z = zFar to +1. NDC y = -1 is image row 0, which is also glReadPixels' first row, so the
// read-back needs no flip.
func projection(cam Camera, w, h int) [16]float32 {
	fw, fh := float32(w), float32(h)
	var m [16]float32 // m[col*4+row]
	m[0] = 2 * cam.Focal / fw
	m[5] = 2 * cam.Focal / fh
	m[8] = 2*cam.CX/fw - 1
	m[9] = 2*cam.CY/fh - 1
	m[10] = (zFar + zNear) / (zFar - zNear)
	m[11] = 1
	m[14] = -2 * zFar * zNear / (zFar - zNear)
	return m
}

// vertexNormals writes, for each vertex of pos (xyz triples), its position and its smooth unit
// normal (area-weighted sum of its faces' normals) into out as 6 floats: x y z nx ny nz. acc
// is scratch of len(pos) floats. A vertex with no usable face gets (0, 0, -1), facing the
// camera. Winding is not assumed; the shader turns normals toward the viewer.
//
// It returns six times the signed volume the faces enclose, sum over faces of
// (a-o) . ((b-a) x (c-a)) with o the first vertex (the divergence theorem; o cancels out for a
// closed surface and keeps the sum well conditioned far from the camera). For a closed surface
// it is positive when the faces wind counter-clockwise seen from outside (their normals point
// outward) and negative for the opposite winding.
func vertexNormals(out, acc, pos []float32, faces []uint32) (volume6 float64) {
	clear(acc)
	var ox, oy, oz float32
	if len(pos) >= 3 {
		ox, oy, oz = pos[0], pos[1], pos[2]
	}
	for i := 0; i+2 < len(faces); i += 3 {
		a, b, c := 3*int(faces[i]), 3*int(faces[i+1]), 3*int(faces[i+2])
		ax, ay, az := pos[a], pos[a+1], pos[a+2]
		e1x, e1y, e1z := pos[b]-ax, pos[b+1]-ay, pos[b+2]-az
		e2x, e2y, e2z := pos[c]-ax, pos[c+1]-ay, pos[c+2]-az
		nx := e1y*e2z - e1z*e2y
		ny := e1z*e2x - e1x*e2z
		nz := e1x*e2y - e1y*e2x
		volume6 += float64((ax-ox)*nx + (ay-oy)*ny + (az-oz)*nz)
		acc[a] += nx
		acc[a+1] += ny
		acc[a+2] += nz
		acc[b] += nx
		acc[b+1] += ny
		acc[b+2] += nz
		acc[c] += nx
		acc[c+1] += ny
		acc[c+2] += nz
	}
	for v := 0; v < len(pos)/3; v++ {
		o := out[6*v : 6*v+6 : 6*v+6]
		p := pos[3*v : 3*v+3 : 3*v+3]
		n := acc[3*v : 3*v+3 : 3*v+3]
		o[0], o[1], o[2] = p[0], p[1], p[2]
		l := float32(math.Sqrt(float64(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])))
		if l > 0 && !math.IsInf(float64(l), 0) && !math.IsNaN(float64(l)) {
			o[3], o[4], o[5] = n[0]/l, n[1]/l, n[2]/l
		} else {
			o[3], o[4], o[5] = 0, 0, -1
		}
	}
	return volume6
}

// surface is what the faces alone say about whether back faces can be skipped: a mesh whose
// faces wind consistently (each directed edge used by one face at most) and close up (each
// edge's reverse used by another face) hides every back face behind a front face, wherever the
// vertices are. Edges whose reverse is missing are kept in open: the surface still closes up
// in a frame where each of them has zero length (a cap's ring of coincident vertices, as at
// the poles of meshpipe's mannequin).
type surface struct {
	consistent bool        // no directed edge is used twice (and no face repeats an index)
	open       [][2]uint32 // directed edges whose reverse no face uses
}

func analyseSurface(faces []uint32) surface {
	edges := make(map[uint64]bool, len(faces))
	key := func(a, b uint32) uint64 { return uint64(a)<<32 | uint64(b) }
	s := surface{consistent: true}
	for i := 0; i+2 < len(faces); i += 3 {
		f := faces[i : i+3 : i+3]
		for k := 0; k < 3; k++ {
			a, b := f[k], f[(k+1)%3]
			if a == b || edges[key(a, b)] {
				return surface{}
			}
			edges[key(a, b)] = true
		}
	}
	for e := range edges {
		if a, b := uint32(e>>32), uint32(e); !edges[key(b, a)] {
			s.open = append(s.open, [2]uint32{a, b})
		}
	}
	return s
}

// maxOpenEdge is the longest an open edge may be, in metres, for a mesh to count as closed.
const maxOpenEdge = 1e-6

// closed reports whether the mesh with vertices pos (xyz triples) is a closed surface in this
// frame: its faces wind consistently and every open edge has (about) zero length.
func (s *surface) closed(pos []float32) bool {
	if !s.consistent {
		return false
	}
	for _, e := range s.open {
		a, b := 3*int(e[0]), 3*int(e[1])
		dx, dy, dz := pos[a]-pos[b], pos[a+1]-pos[b+1], pos[a+2]-pos[b+2]
		if !(dx*dx+dy*dy+dz*dz <= maxOpenEdge*maxOpenEdge) {
			return false
		}
	}
	return true
}

// pixelBounds returns the pixel rectangle [x0, x1) x [y0, y1), clipped to a w x h frame, that
// holds every pixel the meshes can cover, with a one-pixel margin. ok is false when the
// rectangle is empty (everything off-screen). With every vertex in front of the camera a
// triangle's image lies within the hull of its projected vertices. When a vertex is nearer
// than zNear (or not finite) the projection of a triangle is no longer the hull of its
// projected vertices, and the whole frame is returned.
func pixelBounds(cam Camera, w, h int, meshes []Mesh) (x0, y0, x1, y1 int, ok bool) {
	minU, minV := float32(math.Inf(1)), float32(math.Inf(1))
	maxU, maxV := float32(math.Inf(-1)), float32(math.Inf(-1))
	seen := false
	for _, m := range meshes {
		p := m.Vertices
		for i := 0; i+2 < len(p); i += 3 {
			z := p[i+2]
			if !(z >= zNear) || math.IsInf(float64(z), 0) { // also catches NaN
				return 0, 0, w, h, true
			}
			u := cam.Focal*p[i]/z + cam.CX
			v := cam.Focal*p[i+1]/z + cam.CY
			if !(u == u && v == v) { // NaN
				return 0, 0, w, h, true
			}
			minU, maxU = min(minU, u), max(maxU, u)
			minV, maxV = min(minV, v), max(maxV, v)
			seen = true
		}
	}
	if !seen {
		return 0, 0, 0, 0, false
	}
	clamp := func(f float32, hi int) int {
		if f <= 0 {
			return 0
		}
		if f >= float32(hi) {
			return hi
		}
		return int(f)
	}
	x0, x1 = clamp(float32(math.Floor(float64(minU)))-1, w), clamp(float32(math.Ceil(float64(maxU)))+1, w)
	y0, y1 = clamp(float32(math.Floor(float64(minV)))-1, h), clamp(float32(math.Ceil(float64(maxV)))+1, h)
	if x0 >= x1 || y0 >= y1 {
		return 0, 0, 0, 0, false
	}
	return x0, y0, x1, y1, true
}

// rect is a pixel rectangle [x0, x1) x [y0, y1) of the image frame.
type rect struct{ x0, y0, x1, y1 int }

func (a rect) area() int { return (a.x1 - a.x0) * (a.y1 - a.y0) }

func (a rect) union(b rect) rect {
	return rect{min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1)}
}

// near reports whether a and b overlap or lie within gap pixels of each other.
func (a rect) near(b rect, gap int) bool {
	return a.x0 < b.x1+gap && b.x0 < a.x1+gap && a.y0 < b.y1+gap && b.y0 < a.y1+gap
}

// regionGap is how close two meshes' rectangles may come before they are handled as one: a
// separate rectangle costs a few GL calls, a thin strip of extra pixels costs less.
const regionGap = 16

// regions appends to dst the rectangles of a w x h frame that the meshes can cover (each
// mesh's pixelBounds), merged until no two lie within regionGap pixels of each other, so that
// they do not overlap and each mesh lies wholly inside one of them. When the rectangles fill
// most of their bounding box it is returned alone. No rectangle when nothing is on screen.
func regions(dst []rect, cam Camera, w, h int, meshes []Mesh) []rect {
	dst = dst[:0]
	for i := range meshes {
		if x0, y0, x1, y1, ok := pixelBounds(cam, w, h, meshes[i:i+1]); ok {
			dst = append(dst, rect{x0, y0, x1, y1})
		}
	}
	for merged := true; merged && len(dst) > 1; {
		merged = false
		for i := 0; i < len(dst) && !merged; i++ {
			for j := i + 1; j < len(dst); j++ {
				if dst[i].near(dst[j], regionGap) {
					dst[i] = dst[i].union(dst[j])
					dst = append(dst[:j], dst[j+1:]...)
					merged = true
					break
				}
			}
		}
	}
	if len(dst) > 1 {
		all, sum := dst[0], 0
		for _, b := range dst {
			all, sum = all.union(b), sum+b.area()
		}
		if 4*sum >= 3*all.area() {
			dst = append(dst[:0], all)
		}
	}
	return dst
}

// alphaMask picks the alpha bytes of two RGBA pixels read as one little-endian uint64.
const alphaMask = 0xff000000_ff000000

// composite blends src, a premultiplied RGBA8 image of rw x rh pixels (rows top to bottom,
// 4*rw bytes a row; the multisample resolve of shaded colour with alpha 1 over a cleared
// (0, 0, 0, 0) buffer, so each pixel's alpha byte is its coverage and its colour is already
// scaled by it), over the rgb24 pixels dst (stride bytes a row) with its top-left at (x0, y0):
// out = dst*(1 - coverage*alpha) + src*alpha (the "over" operator on premultiplied colour,
// Porter and Duff 1984). Pixels whose alpha byte is 0 are left byte-for-byte untouched. alpha
// must be in [0, 1]; it is applied in 8.8 fixed point, so a fully covered pixel at alpha 1
// gets src's colour exactly.
func composite(dst []byte, stride, x0, y0 int, src []byte, rw, rh int, alpha float32) {
	a := uint32(alpha*256 + 0.5) // alpha in 8.8 fixed point, 0..256
	for y := 0; y < rh; y++ {
		s := src[4*rw*y : 4*rw*(y+1)]
		d := dst[(y0+y)*stride+3*x0 : (y0+y)*stride+3*(x0+rw)]
		for len(s) >= 4 && len(d) >= 3 {
			// Skip uncovered pixels four at a time: their alpha bytes are all zero.
			if len(s) >= 16 && (binary.LittleEndian.Uint64(s)|binary.LittleEndian.Uint64(s[8:]))&alphaMask == 0 {
				s, d = s[16:], d[12:]
				continue
			}
			if c := uint32(s[3]); c != 0 {
				w := (c*a + 127) / 255 // coverage*alpha in 8.8 fixed point, 0..256; a when c = 255
				nw := 256 - w
				dp := d[:3:3]
				dp[0] = byte(min((uint32(dp[0])*nw+uint32(s[0])*a+128)>>8, 255))
				dp[1] = byte(min((uint32(dp[1])*nw+uint32(s[1])*a+128)>>8, 255))
				dp[2] = byte(min((uint32(dp[2])*nw+uint32(s[2])*a+128)>>8, 255))
			}
			s, d = s[4:], d[3:]
		}
	}
}
