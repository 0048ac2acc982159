package gl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// bodyColor is the 4D-Humans mesh colour.
var bodyColor = DefaultColor

// newRenderer makes a renderer closed at the end of the test. It skips only when the machine
// has no usable EGL at all (or the build has no cgo); any other failure fails the test.
func newRenderer(t testing.TB, faces []uint32, n int) *Renderer {
	t.Helper()
	r, err := NewRenderer(faces, n)
	if errors.Is(err, errNoEGL) {
		t.Skipf("no EGL on this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// noiseFrame returns a w x h frame of deterministic pseudo-random bytes.
func noiseFrame(t testing.TB, w, h int, seed uint64) *rawvideo.Frame {
	t.Helper()
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range f.Pix {
		f.Pix[i] = byte(rng.Uint32())
	}
	return f
}

func clone(f *rawvideo.Frame) *rawvideo.Frame {
	c := new(rawvideo.Frame)
	c.CopyFrom(f)
	return c
}

// unproject returns the camera-frame point at depth z that projects to pixel point (u, v).
func unproject(cam Camera, u, v, z float32) [3]float32 {
	return [3]float32{(u - cam.CX) * z / cam.Focal, (v - cam.CY) * z / cam.Focal, z}
}

func project(cam Camera, p [3]float32) (u, v float32) {
	return cam.Focal*p[0]/p[2] + cam.CX, cam.Focal*p[1]/p[2] + cam.CY
}

var quadFaces = []uint32{0, 1, 2, 0, 2, 3}

// quad returns the 4 vertices of a rectangle at depth z, facing the camera, whose image is the
// pixel rectangle [u0, u1) x [v0, v1).
func quad(cam Camera, u0, v0, u1, v1, z float32) []float32 {
	var out []float32
	for _, c := range [][2]float32{{u0, v0}, {u1, v0}, {u1, v1}, {u0, v1}} {
		p := unproject(cam, c[0], c[1], z)
		out = append(out, p[:]...)
	}
	return out
}

func centredCamera(w, h int) Camera {
	return Camera{Focal: 5000.0 / 256 * float32(max(w, h)), CX: float32(w) / 2, CY: float32(h) / 2}
}

func rgb(c [3]float32) [3]byte {
	return [3]byte{byte(c[0]*255 + 0.5), byte(c[1]*255 + 0.5), byte(c[2]*255 + 0.5)}
}

func near(a, b byte, tol int) bool {
	d := int(a) - int(b)
	return d >= -tol && d <= tol
}

// checkRect checks that exactly the pixels of [x0, x1) x [y0, y1) changed between before and
// after, and that the changed ones hold want (within tol) when want is not nil.
func checkRect(t *testing.T, before, after *rawvideo.Frame, x0, y0, x1, y1 int, want *[3]byte, tol int) {
	t.Helper()
	bad := 0
	for y := 0; y < after.Height; y++ {
		for x := 0; x < after.Width; x++ {
			inside := x >= x0 && x < x1 && y >= y0 && y < y1
			r0, g0, b0 := before.At(x, y)
			r1, g1, b1 := after.At(x, y)
			changed := r0 != r1 || g0 != g1 || b0 != b1
			switch {
			case inside && !changed, !inside && changed:
				if bad < 5 {
					t.Errorf("pixel (%d,%d): inside=%v changed=%v (%v -> %v)", x, y, inside, changed,
						[]byte{r0, g0, b0}, []byte{r1, g1, b1})
				}
				bad++
			case inside && want != nil && !(near(r1, want[0], tol) && near(g1, want[1], tol) && near(b1, want[2], tol)):
				if bad < 5 {
					t.Errorf("pixel (%d,%d) = %v, want %v ± %d", x, y, []byte{r1, g1, b1}, want[:], tol)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d bad pixels", bad)
	}
}

func TestProjectionMatrix(t *testing.T) {
	cam := Camera{Focal: 812.5, CX: 301.25, CY: 170.75}
	w, h := 640, 360
	m := projection(cam, w, h)
	for _, p := range [][3]float32{{0.3, -0.2, 2.5}, {-1, 1, 7}, {0.01, 0.5, 0.4}} {
		var c [4]float32
		for row := 0; row < 4; row++ {
			c[row] = m[row]*p[0] + m[4+row]*p[1] + m[8+row]*p[2] + m[12+row]
		}
		// NDC to continuous pixel coordinates; NDC y = -1 is image row 0.
		u := (c[0]/c[3] + 1) / 2 * float32(w)
		v := (c[1]/c[3] + 1) / 2 * float32(h)
		wu, wv := project(cam, p)
		if math.Abs(float64(u-wu)) > 1e-3 || math.Abs(float64(v-wv)) > 1e-3 {
			t.Errorf("%v lands at (%g,%g), want (%g,%g)", p, u, v, wu, wv)
		}
	}
	for _, z := range []float32{zNear, zFar} {
		c2 := m[10]*z + m[14]
		if got, want := c2/z, float32(map[bool]float32{true: -1, false: 1}[z == zNear]); math.Abs(float64(got-want)) > 1e-4 {
			t.Errorf("z=%g: ndc z %g, want %g", z, got, want)
		}
	}
}

func TestCompositeFixedPoint(t *testing.T) {
	dst := []byte{10, 20, 30, 200, 100, 0}
	src := []byte{250, 0, 100, 255, 7, 7, 7, 0}
	composite(dst, 6, 0, 0, src, 2, 1, 1)
	if !bytes.Equal(dst, []byte{250, 0, 100, 200, 100, 0}) {
		t.Errorf("alpha 1: %v", dst)
	}
	dst = []byte{10, 20, 30}
	composite(dst, 3, 0, 0, []byte{250, 0, 100, 255}, 1, 1, 0.5)
	if !bytes.Equal(dst, []byte{130, 10, 65}) {
		t.Errorf("alpha 0.5: %v", dst)
	}
}

// TestCompositeCoverage checks the blend of partly covered (premultiplied) pixels against the
// formula in floating point: out = dst*(1 - c*alpha) + src*alpha with c = A/255.
func TestCompositeCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	for i := 0; i < 20000; i++ {
		cov := byte(1 + rng.IntN(255))
		src := []byte{byte(rng.IntN(int(cov) + 1)), byte(rng.IntN(int(cov) + 1)), byte(rng.IntN(int(cov) + 1)), cov}
		dst := []byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
		alpha := []float32{1, 0.5, 0.8, rng.Float32()}[i%4]
		a := float64(uint32(alpha*256+0.5)) / 256 // the 8.8 alpha composite works with
		got := append([]byte(nil), dst...)
		composite(got, 3, 0, 0, src, 1, 1, alpha)
		for c := 0; c < 3; c++ {
			want := float64(dst[c])*(1-float64(cov)/255*a) + float64(src[c])*a
			if d := float64(got[c]) - want; d < -1 || d > 1 {
				t.Fatalf("dst %v, src %v, alpha %g: channel %d = %d, want %.2f", dst, src, alpha, c, got[c], want)
			}
		}
	}
}

// TestCompositeMatchesNaive checks the four-pixels-at-a-time skipping against a plain loop,
// on rows of odd widths with covered runs of every length and a sub-rectangle offset.
func TestCompositeMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	for _, rw := range []int{1, 3, 4, 5, 8, 13, 31} {
		rh, stride, x0, y0 := 3, 3*(rw+5), 2, 1
		src := make([]byte, 4*rw*rh)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		for i := 3; i < len(src); i += 4 {
			if rng.IntN(3) == 0 {
				src[i] = 255
			} else {
				src[i] = 0
			}
		}
		dst := make([]byte, stride*(rh+2))
		for i := range dst {
			dst[i] = byte(rng.Uint32())
		}
		want := append([]byte(nil), dst...)
		for y := 0; y < rh; y++ {
			for x := 0; x < rw; x++ {
				s := src[4*(y*rw+x):]
				if s[3] == 0 {
					continue
				}
				d := want[(y0+y)*stride+3*(x0+x):]
				for c := 0; c < 3; c++ {
					d[c] = byte((uint32(d[c])*(256-192) + uint32(s[c])*192 + 128) >> 8)
				}
			}
		}
		composite(dst, stride, x0, y0, src, rw, rh, 0.75)
		if !bytes.Equal(dst, want) {
			t.Errorf("width %d: composite differs from the plain loop", rw)
		}
	}
}

func TestSurface(t *testing.T) {
	tetra := []uint32{0, 2, 1, 0, 1, 3, 1, 2, 3, 0, 3, 2} // closed, consistent
	if s := analyseSurface(tetra); !s.consistent || len(s.open) != 0 {
		t.Errorf("tetrahedron: %+v, want consistent and closed", s)
	}
	if s := analyseSurface(quadFaces); !s.consistent || len(s.open) != 4 {
		t.Errorf("quad: %+v, want consistent with 4 open edges", s)
	} else if s.closed(quad(centredCamera(10, 10), 1, 1, 5, 5, 2)) {
		t.Error("quad counted as closed")
	}
	flipped := append(append([]uint32(nil), tetra[:9]...), 0, 2, 3) // last face wound the other way
	if s := analyseSurface(flipped); s.consistent {
		t.Errorf("tetrahedron with a flipped face counted as consistent")
	}
	// A pyramid whose apex is a ring of three coincident vertices (3, 4, 5), built like the
	// mannequin's caps: its open edges have zero length, so it is closed while they coincide.
	ring := []uint32{3, 4, 0, 0, 4, 1, 4, 5, 1, 1, 5, 2, 5, 3, 2, 2, 3, 0, 0, 1, 2}
	s := analyseSurface(ring)
	verts := []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 0.3, 0.3, 1, 0.3, 0.3, 1, 0.3, 0.3, 1}
	if !s.consistent || len(s.open) != 3 || !s.closed(verts) {
		t.Errorf("pyramid with a ring apex: %+v, want closed", s)
	}
	verts[17] = 1.1
	if s.closed(verts) {
		t.Error("pyramid with its apex vertices apart counted as closed")
	}
	verts = []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}
	// Signed volume: 1/6 for the unit tetrahedron wound outward, -1/6 inward.
	pos := verts
	out, acc := make([]float32, 24), make([]float32, 12)
	if v6 := vertexNormals(out, acc, pos, tetra); math.Abs(v6-1) > 1e-6 {
		t.Errorf("6 x volume %g, want 1", v6)
	}
	inward := []uint32{0, 1, 2, 0, 3, 1, 1, 3, 2, 0, 2, 3}
	if v6 := vertexNormals(out, acc, pos, inward); math.Abs(v6+1) > 1e-6 {
		t.Errorf("6 x volume %g wound inward, want -1", v6)
	}
}

func TestTrackColor(t *testing.T) {
	if TrackColor(0) != DefaultColor || TrackColor(-3) != DefaultColor {
		t.Error("untracked people must get DefaultColor")
	}
	seen := map[[3]byte]int{}
	for id := 1; id <= 12; id++ {
		c := TrackColor(id)
		if c != TrackColor(id) {
			t.Fatalf("track %d: colour not stable", id)
		}
		lo, hi := min(c[0], c[1], c[2]), max(c[0], c[1], c[2])
		if hi < 0.89 || hi > 0.91 || lo < 0.44 || lo > 0.46 {
			t.Errorf("track %d: colour %v, want HSV value 0.9 and saturation 0.5", id, c)
		}
		if prev, ok := seen[rgb(c)]; ok {
			t.Errorf("tracks %d and %d share colour %v", prev, id, c)
		}
		seen[rgb(c)] = id
		// Consecutive ids differ clearly (at least 0.1 in some channel).
		d := TrackColor(id + 1)
		if max(abs32(c[0]-d[0]), abs32(c[1]-d[1]), abs32(c[2]-d[2])) < 0.1 {
			t.Errorf("tracks %d and %d look alike: %v, %v", id, id+1, c, d)
		}
	}
	if c := TrackColor(1 << 40); !(c[0] >= 0 && c[0] <= 1) {
		t.Errorf("huge track id: colour %v", c)
	}
}

func abs32(x float32) float32 { return max(x, -x) }

func BenchmarkNormals(b *testing.B) {
	verts, faces := body(60, 118)
	out := make([]float32, 2*len(verts))
	acc := make([]float32, len(verts))
	for i := 0; i < b.N; i++ {
		vertexNormals(out, acc, verts, faces)
	}
}

// BenchmarkComposite blends a 1280x720 read-back with a third of it covered.
func BenchmarkComposite(b *testing.B) {
	w, h := 1280, 720
	dst := make([]byte, 3*w*h)
	src := make([]byte, 4*w*h)
	for y := 0; y < h; y++ {
		for x := w / 3; x < 2*w/3; x++ {
			src[4*(y*w+x)+3] = 255
		}
	}
	for i := 0; i < b.N; i++ {
		composite(dst, 3*w, 0, 0, src, w, h, 0.8)
	}
}

// TestQuadCoverage draws a camera-facing rectangle whose corners sit on pixel corners: exactly
// the pixels inside must change, to the base colour (a face toward the camera is lit to
// exactly its colour), and every other pixel must keep its bytes.
func TestQuadCoverage(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	t.Logf("renderer: %s", r.Name())
	if !strings.Contains(r.Name(), "EGL") {
		t.Errorf("Name() = %q, want the EGL platform in it", r.Name())
	}
	w, h := 320, 180
	cam := centredCamera(w, h)
	cam.CX += 7.25 // off-centre principal point, to catch a mix-up of CX with W/2
	cam.CY -= 3.5
	before := noiseFrame(t, w, h, 1)
	f := clone(before)
	m := Mesh{Vertices: quad(cam, 100, 50, 200, 120, 3), Color: bodyColor}
	if err := r.Render(f, cam, []Mesh{m}, 1); err != nil {
		t.Fatal(err)
	}
	want := rgb(bodyColor)
	checkRect(t, before, f, 100, 50, 200, 120, &want, 2)
}

// TestSamples checks the sample count setting: the default multisamples, 1 draws aliased
// edges (every pixel wholly inside or untouched), and counts out of range are refused.
func TestSamples(t *testing.T) {
	for _, n := range []int{-1, 17} {
		if _, err := NewRendererOptions(quadFaces, 4, Options{Samples: n}); err == nil || !strings.Contains(err.Error(), "samples") {
			t.Errorf("%d samples: %v, want an error", n, err)
		}
	}
	r := newRenderer(t, quadFaces, 4)
	if r.Samples() != DefaultSamples {
		t.Logf("default: %d samples (the driver has fewer than %d)", r.Samples(), DefaultSamples)
	}
	one, err := NewRendererOptions(quadFaces, 4, Options{Samples: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if one.Samples() != 1 {
		t.Errorf("asked for 1 sample, got %d", one.Samples())
	}
	w, h := 80, 60
	cam := centredCamera(w, h)
	var verts []float32
	for _, c := range [][2]float32{{10, 10}, {40.5, 10}, {40.5, 50}, {10, 35}} {
		p := unproject(cam, c[0], c[1], 2)
		verts = append(verts, p[:]...)
	}
	f, _ := rawvideo.NewFrame(w, h)
	if err := one.Render(f, cam, []Mesh{{Vertices: verts, Color: [3]float32{1, 1, 1}}}, 1); err != nil {
		t.Fatal(err)
	}
	covered := 0
	for i, v := range f.Pix {
		if v != 0 && v != 255 {
			t.Fatalf("byte %d = %d: a partly covered pixel with one sample a pixel", i, v)
		}
		if v == 255 {
			covered++
		}
	}
	if covered == 0 {
		t.Error("nothing drawn")
	}
}

func TestRegions(t *testing.T) {
	cam := centredCamera(400, 300)
	a := Mesh{Vertices: quad(cam, 10, 10, 50, 60, 2)}
	b := Mesh{Vertices: quad(cam, 300, 200, 350, 280, 3)}
	c := Mesh{Vertices: quad(cam, 55, 20, 90, 70, 4)} // within regionGap of a
	got := regions(nil, cam, 400, 300, []Mesh{a, b})
	if len(got) != 2 || got[0] != (rect{9, 9, 51, 61}) || got[1] != (rect{299, 199, 351, 281}) {
		t.Errorf("two far apart: %v", got)
	}
	got = regions(got, cam, 400, 300, []Mesh{a, b, c})
	if len(got) != 2 || got[0] != (rect{9, 9, 91, 71}) {
		t.Errorf("two near, one far: %v", got)
	}
	// Rectangles that fill most of their bounding box become that box.
	d := Mesh{Vertices: quad(cam, 10, 80, 90, 150, 2)}
	got = regions(got, cam, 400, 300, []Mesh{a, c, d})
	if len(got) != 1 || got[0] != (rect{9, 9, 91, 151}) {
		t.Errorf("filling their box: %v", got)
	}
	if got := regions(got, cam, 400, 300, []Mesh{{Vertices: quad(cam, 500, 10, 600, 60, 2)}}); len(got) != 0 {
		t.Errorf("off screen: %v", got)
	}
}

// TestTwoRegions draws two rectangles far apart, each handled as its own region: exactly their
// pixels change, both to the base colour, and the pixels between them keep their bytes.
func TestTwoRegions(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	w, h := 300, 200
	cam := centredCamera(w, h)
	before := noiseFrame(t, w, h, 21)
	f := clone(before)
	meshes := []Mesh{
		{Vertices: quad(cam, 10, 20, 60, 90, 2), Color: bodyColor},
		{Vertices: quad(cam, 200, 120, 280, 190, 3), Color: bodyColor},
	}
	if err := r.Render(f, cam, meshes, 1); err != nil {
		t.Fatal(err)
	}
	want := rgb(bodyColor)
	bad := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			inside := (x >= 10 && x < 60 && y >= 20 && y < 90) || (x >= 200 && x < 280 && y >= 120 && y < 190)
			r0, g0, b0 := before.At(x, y)
			r1, g1, b1 := f.At(x, y)
			ok := inside && [3]byte{r1, g1, b1} == want || !inside && [3]byte{r0, g0, b0} == [3]byte{r1, g1, b1}
			if !ok {
				if bad < 5 {
					t.Errorf("pixel (%d,%d) inside=%v: %v -> %v", x, y, inside, []byte{r0, g0, b0}, []byte{r1, g1, b1})
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d bad pixels", bad)
	}
}

// TestAntialiasedEdge draws a white, camera-facing rectangle over black whose right edge
// runs through the middle of a pixel column and whose bottom edge is slanted: the split
// pixels must come out between black and white (multisampled coverage), the pixels wholly
// inside white, and every pixel no sample of which is covered unchanged.
func TestAntialiasedEdge(t *testing.T) {
	faces := []uint32{0, 1, 2, 0, 2, 3}
	r := newRenderer(t, faces, 4)
	if r.Samples() < 2 {
		t.Skipf("the driver has no multisampling (%d samples)", r.Samples())
	}
	w, h := 120, 90
	cam := centredCamera(w, h)
	var verts []float32
	// (20, 10) (60.5, 10) (60.5, 70) (20, 50): right edge at x = 60.5, bottom edge slanted.
	for _, c := range [][2]float32{{20, 10}, {60.5, 10}, {60.5, 70}, {20, 50}} {
		p := unproject(cam, c[0], c[1], 2)
		verts = append(verts, p[:]...)
	}
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Render(f, cam, []Mesh{{Vertices: verts, Color: [3]float32{1, 1, 1}}}, 1); err != nil {
		t.Fatal(err)
	}
	partial := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v, g, b := f.At(x, y)
			if v != g || g != b {
				t.Fatalf("pixel (%d,%d) = %v, want grey", x, y, []byte{v, g, b})
			}
			bottom := 50 + 20*(float32(x)-20)/40.5 // the slanted edge's v at x
			switch {
			case x < 20 || x > 60 || y < 10 || float32(y) > bottom+1.5:
				if v != 0 {
					t.Errorf("pixel (%d,%d) = %d outside the rectangle, want 0 (untouched)", x, y, v)
				}
			case x == 60 && y >= 12 && float32(y)+1 < bottom-1:
				// Half the column is inside: coverage about 1/2.
				if v < 64 || v > 192 {
					t.Errorf("pixel (%d,%d) on the mid-pixel edge = %d, want about 128", x, y, v)
				}
			case x > 20 && x < 60 && y > 10 && float32(y)+1 < bottom-1:
				if v != 255 {
					t.Errorf("pixel (%d,%d) inside = %d, want 255", x, y, v)
				}
			}
			if v > 0 && v < 255 {
				partial++
			}
		}
	}
	// Along the slanted edge (about 41 px long) most pixels are split.
	if partial < 41+20 {
		t.Errorf("%d partly covered pixels, want the 60 of the half-pixel edge and most of the slanted one", partial)
	}
}

// TestBox draws a rotated cube: the pixels at its projected centroid and near its projected
// corners change, and pixels away from its image keep their bytes.
func TestBox(t *testing.T) {
	var faces []uint32
	// cube corners: bit 0 = x, bit 1 = y, bit 2 = z
	for _, q := range [][4]uint32{{0, 1, 3, 2}, {4, 5, 7, 6}, {0, 1, 5, 4}, {2, 3, 7, 6}, {0, 2, 6, 4}, {1, 3, 7, 5}} {
		faces = append(faces, q[0], q[1], q[2], q[0], q[2], q[3])
	}
	r := newRenderer(t, faces, 8)
	w, h := 400, 300
	cam := Camera{Focal: 500, CX: 190, CY: 160}
	ca, sa := float32(math.Cos(0.5)), float32(math.Sin(0.5))
	cb, sb := float32(math.Cos(0.4)), float32(math.Sin(0.4))
	centre := [3]float32{0.3, -0.2, 4}
	var verts []float32
	for i := 0; i < 8; i++ {
		p := [3]float32{float32(i&1) - 0.5, float32(i>>1&1) - 0.5, float32(i>>2&1) - 0.5}
		p[0], p[2] = ca*p[0]+sa*p[2], -sa*p[0]+ca*p[2] // about y
		p[1], p[2] = cb*p[1]-sb*p[2], sb*p[1]+cb*p[2]  // about x
		verts = append(verts, p[0]*0.8+centre[0], p[1]*0.8+centre[1], p[2]*0.8+centre[2])
	}
	before := noiseFrame(t, w, h, 2)
	f := clone(before)
	if err := r.Render(f, cam, []Mesh{{Vertices: verts, Color: bodyColor}}, 1); err != nil {
		t.Fatal(err)
	}
	changed := func(x, y int) bool {
		r0, g0, b0 := before.At(x, y)
		r1, g1, b1 := f.At(x, y)
		return r0 != r1 || g0 != g1 || b0 != b1
	}
	cu, cv := project(cam, centre)
	if !changed(int(cu), int(cv)) {
		t.Errorf("centroid pixel (%d,%d) not covered", int(cu), int(cv))
	}
	minU, minV, maxU, maxV := float32(1e9), float32(1e9), float32(-1e9), float32(-1e9)
	for i := 0; i < 8; i++ {
		u, v := project(cam, [3]float32{verts[3*i], verts[3*i+1], verts[3*i+2]})
		minU, maxU, minV, maxV = min(minU, u), max(maxU, u), min(minV, v), max(maxV, v)
		// 2 px from the corner toward the centroid is inside the (convex) silhouette.
		du, dv := cu-u, cv-v
		l := float32(math.Hypot(float64(du), float64(dv)))
		x, y := int(u+2*du/l), int(v+2*dv/l)
		if !changed(x, y) {
			t.Errorf("vertex %d projects to (%.1f,%.1f); pixel (%d,%d) next to it not covered", i, u, v, x, y)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (float32(x) < minU-2 || float32(x) > maxU+2 || float32(y) < minV-2 || float32(y) > maxV+2) && changed(x, y) {
				t.Fatalf("pixel (%d,%d) outside the projected box [%.1f,%.1f]x[%.1f,%.1f] changed", x, y, minU, maxU, minV, maxV)
			}
		}
	}
}

func TestAlpha(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	w, h := 160, 120
	cam := centredCamera(w, h)
	before := noiseFrame(t, w, h, 3)
	m := Mesh{Vertices: quad(cam, 20, 30, 90, 100, 2), Color: bodyColor}
	col := shade(bodyColor, [3]float32{0, 0, -1})
	for _, alpha := range []float32{1, 0.5, 0.25} {
		f := clone(before)
		if err := r.Render(f, cam, []Mesh{m}, alpha); err != nil {
			t.Fatal(err)
		}
		checkRect(t, before, f, 20, 30, 90, 100, nil, 0)
		for y := 30; y < 100; y++ {
			for x := 20; x < 90; x++ {
				p := y*f.Stride + 3*x
				for c := 0; c < 3; c++ {
					want := float32(before.Pix[p+c])*(1-alpha) + col[c]*255*alpha
					if d := float32(f.Pix[p+c]) - want; d < -2 || d > 2 {
						t.Fatalf("alpha %g: pixel (%d,%d) channel %d = %d, want %.1f", alpha, x, y, c, f.Pix[p+c], want)
					}
				}
			}
		}
	}
	f := clone(before)
	if err := r.Render(f, cam, []Mesh{m}, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Pix, before.Pix) {
		t.Error("alpha 0 changed the frame")
	}
}

// TestDepth draws two overlapping rectangles: the nearer one must show in the overlap in
// either list order.
func TestDepth(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	w, h := 200, 150
	cam := centredCamera(w, h)
	nearM := Mesh{Vertices: quad(cam, 40, 40, 120, 110, 2), Color: [3]float32{1, 0, 0}}
	farM := Mesh{Vertices: quad(cam, 80, 20, 180, 90, 5), Color: [3]float32{0, 1, 0}}
	red, green := [3]byte{255, 0, 0}, [3]byte{0, 255, 0}
	for k, order := range [][]Mesh{{nearM, farM}, {farM, nearM}} {
		f := noiseFrame(t, w, h, 4)
		if err := r.Render(f, cam, order, 1); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			x, y int
			want [3]byte
		}{{100, 60, red}, {60, 100, red}, {150, 30, green}, {119, 89, red}, {120, 89, green}} {
			r, g, b := f.At(c.x, c.y)
			if [3]byte{r, g, b} != c.want {
				t.Errorf("near first=%v: pixel (%d,%d) = %v, want %v", k == 0, c.x, c.y, []byte{r, g, b}, c.want[:])
			}
		}
	}
}

// body returns an ellipsoid of about 14k triangles (stacks x slices x 2), 1.7 m tall, and its
// faces.
func body(stacks, slices int) (verts []float32, faces []uint32) {
	for i := 0; i <= stacks; i++ {
		th := math.Pi * float64(i) / float64(stacks)
		for j := 0; j < slices; j++ {
			ph := 2 * math.Pi * float64(j) / float64(slices)
			verts = append(verts,
				float32(0.25*math.Sin(th)*math.Cos(ph)),
				float32(-0.85*math.Cos(th)),
				float32(0.15*math.Sin(th)*math.Sin(ph)))
		}
	}
	for i := 0; i < stacks; i++ {
		for j := 0; j < slices; j++ {
			a := uint32(i*slices + j)
			b := uint32(i*slices + (j+1)%slices)
			c, d := a+uint32(slices), b+uint32(slices)
			faces = append(faces, a, b, d, a, d, c)
		}
	}
	return verts, faces
}

// place shifts a copy of verts by (x, y, z) metres.
func place(verts []float32, x, y, z float32) []float32 {
	out := make([]float32, len(verts))
	for i := 0; i < len(verts); i += 3 {
		out[i], out[i+1], out[i+2] = verts[i]+x, verts[i+1]+y, verts[i+2]+z
	}
	return out
}

// bodyScene returns two overlapping bodies standing in a w x h frame, at HMR2's camera.
func bodyScene(w, h int, verts []float32) (Camera, []Mesh) {
	cam := centredCamera(w, h)
	z := cam.Focal * 1.7 / (0.8 * float32(h))
	return cam, []Mesh{
		{Vertices: place(verts, -0.2, 0, z), Color: bodyColor},
		{Vertices: place(verts, 0.15, 0.1, z*1.1), Color: [3]float32{0.9, 0.6, 0.5}},
	}
}

func TestConcurrentRenderers(t *testing.T) {
	verts, faces := body(30, 40)
	n := len(verts) / 3
	w, h := 320, 240
	cam, meshes := bodyScene(w, h, verts)
	in := noiseFrame(t, w, h, 5)

	// The first one is made alone (and skips without EGL); the others concurrently.
	rs := make([]*Renderer, 4)
	rs[0] = newRenderer(t, faces, n)
	var made sync.WaitGroup
	for i := 1; i < len(rs); i++ {
		made.Add(1)
		go func() {
			defer made.Done()
			r, err := NewRenderer(faces, n)
			if err != nil {
				t.Error(err)
				return
			}
			rs[i] = r
		}()
	}
	made.Wait()
	for _, r := range rs[1:] {
		if r != nil {
			t.Cleanup(func() { r.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	ref := clone(in)
	if err := rs[0].Render(ref, cam, meshes, 0.8); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ref.Pix, in.Pix) {
		t.Fatal("the scene drew nothing")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(r *Renderer) {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				f := clone(in)
				if err := r.Render(f, cam, meshes, 0.8); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(f.Pix, ref.Pix) {
					errs <- fmt.Errorf("goroutine %d, frame %d: output differs from the reference", g, k)
					return
				}
			}
		}(rs[g%len(rs)])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseAndResize(t *testing.T) {
	r, err := NewRenderer(quadFaces, 4)
	if errors.Is(err, errNoEGL) {
		t.Skipf("no EGL on this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{64, 48}, {200, 100}, {64, 48}, {33, 77}} {
		w, h := size[0], size[1]
		cam := centredCamera(w, h)
		before := noiseFrame(t, w, h, uint64(w))
		f := clone(before)
		if err := r.Render(f, cam, []Mesh{{Vertices: quad(cam, 10, 5, 30, 40, 2), Color: bodyColor}}, 1); err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		checkRect(t, before, f, 10, 5, 30, 40, nil, 0)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	f := noiseFrame(t, 64, 48, 9)
	err = r.Render(f, centredCamera(64, 48), []Mesh{{Vertices: quad(centredCamera(64, 48), 1, 1, 9, 9, 2)}}, 1)
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Render after Close: %v, want ErrClosed", err)
	}
	if err := r.t.Do(context.Background(), func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	err := r.t.Do(context.Background(), func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v, want an error carrying the panic", err)
	}
	// The thread still serves.
	w, h := 50, 40
	cam := centredCamera(w, h)
	before := noiseFrame(t, w, h, 6)
	f := clone(before)
	if err := r.Render(f, cam, []Mesh{{Vertices: quad(cam, 5, 5, 20, 20, 2), Color: bodyColor}}, 1); err != nil {
		t.Fatal(err)
	}
	checkRect(t, before, f, 5, 5, 20, 20, nil, 0)
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		faces []uint32
		n     int
	}{{nil, 3}, {[]uint32{0, 1}, 3}, {[]uint32{0, 1, 3}, 3}, {[]uint32{0, 1, 2}, 0}} {
		if _, err := NewRenderer(c.faces, c.n); err == nil {
			t.Errorf("NewRenderer(%v, %d) succeeded", c.faces, c.n)
		}
	}
	r := newRenderer(t, quadFaces, 4)
	cam := centredCamera(20, 20)
	f := noiseFrame(t, 20, 20, 7)
	good := Mesh{Vertices: quad(cam, 1, 1, 9, 9, 2)}
	for name, err := range map[string]error{
		"short mesh": r.Render(f, cam, []Mesh{{Vertices: good.Vertices[:9]}}, 1),
		"nil frame":  r.Render(nil, cam, []Mesh{good}, 1),
		"zero focal": r.Render(f, Camera{CX: 10, CY: 10}, []Mesh{good}, 1),
		"NaN alpha":  r.Render(f, cam, []Mesh{good}, float32(math.NaN())),
		"short pix":  r.Render(&rawvideo.Frame{Width: 20, Height: 20, Stride: 60, Pix: f.Pix[:100]}, cam, []Mesh{good}, 1),
	} {
		if err == nil {
			t.Errorf("%s: Render succeeded", name)
		}
	}
}

// TestBehindCamera draws a rectangle that reaches behind the camera: near-plane clipping must
// keep it from wrapping around, and nothing may crash.
func TestBehindCamera(t *testing.T) {
	r := newRenderer(t, quadFaces, 4)
	w, h := 100, 80
	cam := Camera{Focal: 50, CX: 50, CY: 40}
	// A floor-like strip below the camera from z = -2 to z = 10.
	verts := []float32{-1, 1, -2, 1, 1, -2, 1, 1, 10, -1, 1, 10}
	before := noiseFrame(t, w, h, 8)
	f := clone(before)
	if err := r.Render(f, cam, []Mesh{{Vertices: verts, Color: bodyColor}}, 1); err != nil {
		t.Fatal(err)
	}
	if i := (h-1)*f.Stride + 3*(w/2); bytes.Equal(f.Pix[i:i+3], before.Pix[i:i+3]) {
		t.Error("the strip's near part, clipped at the near plane, does not cover the bottom row")
	}
	// Its far edge sits at v = CY + F*1/10; rows above it must be untouched.
	vFar := cam.CY + cam.Focal/10
	for y := 0; y < int(vFar)-1 && y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*f.Stride + 3*x
			if !bytes.Equal(f.Pix[i:i+3], before.Pix[i:i+3]) {
				t.Fatalf("pixel (%d,%d) above the strip's far edge (v=%.1f) changed", x, y, vFar)
			}
		}
	}
}

func BenchmarkRender(b *testing.B) {
	verts, faces := body(60, 118) // 14160 triangles, 7198 vertices
	n := len(verts) / 3
	for _, size := range [][2]int{{640, 360}, {1280, 720}, {1920, 1080}} {
		w, h := size[0], size[1]
		cam, meshes := bodyScene(w, h, verts)
		for _, people := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/people=%d", w, h, people), func(b *testing.B) {
				r := newRenderer(b, faces, n)
				in := noiseFrame(b, w, h, 10)
				f := clone(in)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					copy(f.Pix, in.Pix)
					if err := r.Render(f, cam, meshes[:people], 0.8); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
			})
		}
		b.Run(fmt.Sprintf("%dx%d/people=1/renderers=4", w, h), func(b *testing.B) {
			rs := make([]*Renderer, 4)
			for i := range rs {
				rs[i] = newRenderer(b, faces, n)
			}
			in := noiseFrame(b, w, h, 10)
			var wg sync.WaitGroup
			b.ResetTimer()
			for k, r := range rs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f := clone(in)
					for i := k; i < b.N; i += len(rs) {
						copy(f.Pix, in.Pix)
						if err := r.Render(f, cam, meshes[:1], 0.8); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}
