package gl_test

import (
	"errors"
	"math"
	"testing"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// The tests of this file check the renderer against meshpipe's Go camera maths (package
// models), which package gl itself does not import.

// openRenderer makes a renderer closed at the end of the test; it skips only where the
// machine has no usable EGL at all.
func openRenderer(t testing.TB, faces []uint32, n int) *gl.Renderer {
	t.Helper()
	r, err := gl.NewRenderer(faces, n)
	if errors.Is(err, gl.ErrNoEGL) {
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

// rot returns the row-major rotation matrix of angle rad about the unit axis (Rodrigues).
func rot(axis [3]float64, rad float64) [9]float32 {
	x, y, z := axis[0], axis[1], axis[2]
	l := math.Sqrt(x*x + y*y + z*z)
	x, y, z = x/l, y/l, z/l
	c, s := math.Cos(rad), math.Sin(rad)
	C := 1 - c
	m := [9]float64{
		c + x*x*C, x*y*C - z*s, x*z*C + y*s,
		y*x*C + z*s, c + y*y*C, y*z*C - x*s,
		z*x*C - y*s, z*y*C + x*s, c + z*z*C,
	}
	var out [9]float32
	for i, v := range m {
		out[i] = float32(v)
	}
	return out
}

func mul(a, b [9]float32) [9]float32 {
	var c [9]float32
	for r := 0; r < 3; r++ {
		for k := 0; k < 3; k++ {
			c[3*r+k] = a[3*r]*b[k] + a[3*r+1]*b[3+k] + a[3*r+2]*b[6+k]
		}
	}
	return c
}

var identity = [9]float32{1, 0, 0, 0, 1, 0, 0, 0, 1}

// SMPL joint indices used by the poses below.
const (
	jLeftHip, jRightHip           = 1, 2
	jLeftKnee, jRightKnee         = 4, 5
	jSpine2                       = 6
	jNeck                         = 12
	jLeftShoulder, jRightShoulder = 16, 17
	jLeftElbow, jRightElbow       = 18, 19
)

// posedMannequin poses the mannequin as a walker waving: turned a little away from facing the
// camera, one arm raised and bent, the other forward, one knee bent, the head turned. yaw
// (radians) turns the whole body about the vertical axis. The vertices are in the camera frame
// of the contract up to the translation (the pelvis at the origin).
func posedMannequin(body *models.Body, yaw float64) []float32 {
	// SMPL's body frame is y up, z forward; the camera's is y down, z forward, so a body facing
	// the camera is turned half a turn about x.
	global := mul(rot([3]float64{1, 0, 0}, math.Pi), rot([3]float64{0, 1, 0}, yaw))
	global = mul(global, rot([3]float64{0, 0, 1}, 0.08))
	var pose [23 * 9]float32
	for j := 0; j < 23; j++ {
		copy(pose[9*j:], identity[:])
	}
	set := func(joint int, m [9]float32) { copy(pose[9*(joint-1):], m[:]) }
	set(jLeftShoulder, rot([3]float64{0, 0, 1}, 1.1))  // left arm raised
	set(jLeftElbow, rot([3]float64{0, 1, 0}, 1.2))     // and bent
	set(jRightShoulder, rot([3]float64{0, 1, 0}, 0.9)) // right arm forward
	set(jRightElbow, rot([3]float64{0, 0, 1}, -0.5))   // a little bent
	set(jLeftHip, rot([3]float64{1, 0, 0}, -0.5))      // left leg forward
	set(jLeftKnee, rot([3]float64{1, 0, 0}, 0.9))      // knee bent
	set(jRightHip, rot([3]float64{0, 0, 1}, -0.15))    // right leg out
	set(jSpine2, rot([3]float64{0, 1, 0}, 0.25))       // twisted
	set(jNeck, rot([3]float64{1, 0.3, 0}, 0.35))       // head turned and bowed
	out := make([]float32, 3*body.VertexCount())
	body.Pose(&human.Pose{GlobalOrient: global, BodyPose: pose}, out)
	return out
}

// placed returns verts translated by the contract's camera translation for a person whose box
// is centred at (cx, cy) with height boxH pixels in a w x h frame, and HMR2 output
// pred_cam = (s, tx, ty).
func placed(verts []float32, cam models.Camera, cx, cy, boxH float32, predCam [3]float32) []float32 {
	win := models.WindowOf(human.Box{X1: cx - boxH/4, Y1: cy - boxH/2, X2: cx + boxH/4, Y2: cy + boxH/2})
	T := cam.Translation(predCam, win)
	out := make([]float32, len(verts))
	for i := 0; i < len(verts); i += 3 {
		out[i], out[i+1], out[i+2] = verts[i]+T[0], verts[i+1]+T[1], verts[i+2]+T[2]
	}
	return out
}

// coverage returns, for every pixel of a w x h frame, the fraction in [0, 1] of it that the
// meshes cover, as the renderer composites it: drawn at alpha 1 over black, a pixel becomes
// c*shaded; over white, 255*(1-c) + c*shaded; so c = 1 - (white - black)/255.
func coverage(t *testing.T, r *gl.Renderer, w, h int, cam models.Camera, meshes []gl.Mesh) []float32 {
	t.Helper()
	black, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	white, _ := rawvideo.NewFrame(w, h)
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	gcam := gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}
	for _, f := range []*rawvideo.Frame{black, white} {
		if err := r.Render(f, gcam, meshes, 1); err != nil {
			t.Fatal(err)
		}
	}
	c := make([]float32, w*h)
	for i := range c {
		var d int
		for k := 0; k < 3; k++ {
			d = max(d, int(white.Pix[3*i+k])-int(black.Pix[3*i+k]))
		}
		c[i] = 1 - float32(d)/255
	}
	return c
}

// rasterize is the reference: the pixels of a w x h frame whose centre (x+0.5, y+0.5) lies in
// (or on the edge of) the image of some triangle, every vertex projected by cam.Project.
// Winding does not matter. Every vertex must be in front of the camera.
func rasterize(w, h int, cam models.Camera, verts []float32, faces []uint32) []bool {
	in := make([]bool, w*h)
	proj := make([][2]float64, len(verts)/3)
	for i := range proj {
		u, v := cam.Project([3]float32{verts[3*i], verts[3*i+1], verts[3*i+2]})
		proj[i] = [2]float64{float64(u), float64(v)}
	}
	for f := 0; f+2 < len(faces); f += 3 {
		a, b, c := proj[faces[f]], proj[faces[f+1]], proj[faces[f+2]]
		area := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
		if area == 0 {
			continue
		}
		if area < 0 {
			b, c = c, b
		}
		x0 := max(0, int(math.Floor(min(a[0], b[0], c[0])-0.5)))
		x1 := min(w-1, int(math.Ceil(max(a[0], b[0], c[0])-0.5)))
		y0 := max(0, int(math.Floor(min(a[1], b[1], c[1])-0.5)))
		y1 := min(h-1, int(math.Ceil(max(a[1], b[1], c[1])-0.5)))
		edge := func(p, q [2]float64, x, y float64) float64 {
			return (q[0]-p[0])*(y-p[1]) - (q[1]-p[1])*(x-p[0])
		}
		for y := y0; y <= y1; y++ {
			py := float64(y) + 0.5
			for x := x0; x <= x1; x++ {
				px := float64(x) + 0.5
				if edge(a, b, px, py) >= 0 && edge(b, c, px, py) >= 0 && edge(c, a, px, py) >= 0 {
					in[y*w+x] = true
				}
			}
		}
	}
	return in
}

// silhouetteIoU compares a rendered coverage map with a reference silhouette. A pixel more
// than half of whose samples a mesh covers counts as covered, one less than half as not; a
// pixel exactly half covered (2 of 4 samples: its coverage says nothing about where its centre
// lies) is left out of iou and counted in ties. plain is the IoU with those counted as covered.
func silhouetteIoU(cov []float32, ref []bool) (iou, plain float64, ties int) {
	var inter, union, pinter, punion int
	for i, c := range cov {
		g := c > 0.5
		if g && ref[i] {
			pinter++
		}
		if g || ref[i] {
			punion++
		}
		if math.Abs(float64(c)-0.5) <= 1.5/255 {
			ties++
			continue
		}
		if g && ref[i] {
			inter++
		}
		if g || ref[i] {
			union++
		}
	}
	return float64(inter) / float64(max(union, 1)), float64(pinter) / float64(max(punion, 1)), ties
}

// TestProjectionMatchesCameraMaths renders posed mannequins placed by the contract's camera
// maths and checks the silhouette against the Go projection: every vertex lands on a covered
// pixel, and the covered pixels match a reference rasterisation of the same triangles with IoU
// at least 0.99 (see silhouetteIoU), at 640x360 and at the odd size 641x479 (whose principal
// point falls mid-pixel).
func TestProjectionMatchesCameraMaths(t *testing.T) {
	body := models.Mannequin()
	r := openRenderer(t, body.Faces, body.VertexCount())
	for _, c := range []struct {
		w, h   int
		cx, cy float32 // box centre, pixels
		boxH   float32
		yaw    float64
		pred   [3]float32
	}{
		{640, 360, 300, 182, 340, 0.35, [3]float32{1.0, 0.03, 0.04}},
		{641, 479, 352.5, 246, 440, -0.6, [3]float32{1.05, -0.05, 0.06}},
	} {
		cam := models.NewCamera(c.w, c.h)
		verts := placed(posedMannequin(body, c.yaw), cam, c.cx, c.cy, c.boxH, c.pred)
		cov := coverage(t, r, c.w, c.h, cam, []gl.Mesh{{Vertices: verts, Color: gl.DefaultColor}})
		ref := rasterize(c.w, c.h, cam, verts, body.Faces)

		refN := 0
		for _, in := range ref {
			if in {
				refN++
			}
		}
		if refN < c.w*c.h/50 {
			t.Fatalf("%dx%d: the reference silhouette has only %d pixels; the scene is off", c.w, c.h, refN)
		}
		iou, plain, ties := silhouetteIoU(cov, ref)
		t.Logf("%dx%d: silhouette %d pixels; IoU %.4f (%d half-covered pixels left out; %.4f counting them as covered)",
			c.w, c.h, refN, iou, ties, plain)
		if iou < 0.99 {
			t.Errorf("%dx%d: IoU of the rendered and the reference silhouettes %.4f, want >= 0.99", c.w, c.h, iou)
		}
		// The measure can fail: the same body drawn half a pixel off (principal point moved)
		// must fall below the bar.
		off := cam
		off.CX += 0.5
		off.CY -= 0.5
		if shifted, _, _ := silhouetteIoU(coverage(t, r, c.w, c.h, off, []gl.Mesh{{Vertices: verts, Color: gl.DefaultColor}}), ref); shifted >= 0.99 {
			t.Errorf("%dx%d: drawn half a pixel off, the silhouette still scores IoU %.4f; the test cannot tell", c.w, c.h, shifted)
		} else {
			t.Logf("%dx%d: half a pixel off: IoU %.4f", c.w, c.h, shifted)
		}
		if iou < 0.99 {
			t.Errorf("%dx%d: IoU of the rendered and the reference silhouettes %.4f, want >= 0.99", c.w, c.h, iou)
		}

		// Every vertex lands on a covered pixel: its own pixel, or, for a vertex on the
		// silhouette's edge (whose pixel may be mostly outside), a pixel touching it.
		own, missed := 0, 0
		for i := 0; i < len(verts); i += 3 {
			u, v := cam.Project([3]float32{verts[i], verts[i+1], verts[i+2]})
			x, y := int(math.Floor(float64(u))), int(math.Floor(float64(v)))
			if x < 0 || y < 0 || x >= c.w || y >= c.h {
				t.Fatalf("%dx%d: vertex %d projects off the frame, to (%.1f, %.1f)", c.w, c.h, i/3, u, v)
			}
			if cov[y*c.w+x] > 0.5 {
				own++
				continue
			}
			near := false
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if xx, yy := x+dx, y+dy; xx >= 0 && yy >= 0 && xx < c.w && yy < c.h && cov[yy*c.w+xx] > 0.5 {
						near = true
					}
				}
			}
			if !near {
				if missed < 5 {
					t.Errorf("%dx%d: vertex %d projects to (%.2f, %.2f); no covered pixel there (coverage %.2f)",
						c.w, c.h, i/3, u, v, cov[y*c.w+x])
				}
				missed++
			}
		}
		n := len(verts) / 3
		t.Logf("%dx%d: %d of %d vertices on a covered pixel of their own, the rest next to one", c.w, c.h, own, n)
		if missed > 0 {
			t.Errorf("%dx%d: %d of %d vertices land on no covered pixel", c.w, c.h, missed, n)
		}
		// Vertices on the silhouette's edge are a minority: most land inside.
		if own < n*3/4 {
			t.Errorf("%dx%d: only %d of %d vertices land on a covered pixel of their own", c.w, c.h, own, n)
		}
	}
}

// TestCullingChangesNothing renders posed mannequins, one of them mirrored (which turns its
// winding inside out), with back faces skipped and without: the frames must match but for a
// few edge samples.
func TestCullingChangesNothing(t *testing.T) {
	body := models.Mannequin()
	r := openRenderer(t, body.Faces, body.VertexCount())
	const w, h = 320, 240
	cam := models.NewCamera(w, h)
	gcam := gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}
	a := person(body, cam, 0.4, 120, 120, 200, 0.95)
	b := person(body, cam, -1.1, 200, 125, 190, 0.9)
	// Mirror b about its own centre across x: same shape class, opposite winding.
	var cx float32
	for i := 0; i < len(b); i += 3 {
		cx += b[i]
	}
	cx /= float32(len(b) / 3)
	for i := 0; i < len(b); i += 3 {
		b[i] = 2*cx - b[i]
	}
	meshes := []gl.Mesh{{Vertices: a, Color: gl.TrackColor(1)}, {Vertices: b, Color: gl.TrackColor(2)}}
	culled, full := background(w, h), background(w, h)
	if err := r.Render(culled, gcam, meshes, 0.8); err != nil {
		t.Fatal(err)
	}
	gl.SetCulling(r, false)
	if err := r.Render(full, gcam, meshes, 0.8); err != nil {
		t.Fatal(err)
	}
	gl.SetCulling(r, true)
	differ, drawn, worst := 0, 0, 0
	bg := background(w, h)
	for i := 0; i < len(full.Pix); i += 3 {
		if [3]byte(culled.Pix[i:i+3]) != [3]byte(full.Pix[i:i+3]) {
			differ++
		}
		for k := 0; k < 3; k++ {
			worst = max(worst, int(culled.Pix[i+k])-int(full.Pix[i+k]), int(full.Pix[i+k])-int(culled.Pix[i+k]))
		}
		if [3]byte(bg.Pix[i:i+3]) != [3]byte(full.Pix[i:i+3]) {
			drawn++
		}
	}
	t.Logf("%d pixels drawn; with back faces skipped %d differ, by at most %d levels", drawn, differ, worst)
	if drawn < w*h/20 {
		t.Fatalf("only %d pixels drawn; the scene is off", drawn)
	}
	// At grazing silhouette edges a back face can win a sample from the front face it meets
	// there (equal depth), shading that sample a little differently; nothing else may change.
	if differ > drawn/100 || worst > 32 {
		t.Errorf("skipping back faces changed %d of the %d pixels drawn, by up to %d levels", differ, drawn, worst)
	}
}
