package gl_test

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

var update = flag.Bool("update", false, "rewrite the golden images in gl/testdata from this machine's renders")

// Golden-image tolerance: renderers differ a little in rounding and in how they sample edges, so
// a render matches its golden image when the mean absolute difference over all channels is at
// most goldenMeanTol levels and at most goldenFarFrac of the pixels differ by more than
// goldenFarTol levels in some channel (edge pixels, where sample patterns decide).
const (
	goldenMeanTol = 0.75
	goldenFarTol  = 24
	goldenFarFrac = 0.01
)

// background returns a w x h frame with a smooth colour gradient and a checkerboard of 6-pixel
// squares over it, so that blending and untouched pixels both show.
func background(w, h int) *rawvideo.Frame {
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		panic(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*f.Stride + 3*x
			d := byte(0)
			if (x/6+y/6)%2 == 0 {
				d = 30
			}
			f.Pix[i] = byte(40+150*x/w) + d
			f.Pix[i+1] = byte(60+100*y/h) + d
			f.Pix[i+2] = 90 + d
		}
	}
	return f
}

// person returns the posed mannequin standing in a box centred at (cx, cy), boxH pixels tall,
// placed by the contract's camera maths for cam.
func person(body *models.Body, cam models.Camera, yaw float64, cx, cy, boxH, s float32) []float32 {
	return placed(posedMannequin(body, yaw), cam, cx, cy, boxH, [3]float32{s, 0, 0})
}

type goldenScene struct {
	name   string
	alpha  float32
	meshes func(body *models.Body, cam models.Camera) []gl.Mesh
}

var goldenScenes = []goldenScene{
	{"one_person", 1, func(b *models.Body, cam models.Camera) []gl.Mesh {
		return []gl.Mesh{{Vertices: person(b, cam, 0.3, 48, 37, 66, 0.95), Color: gl.DefaultColor}}
	}},
	// Three tracked people at different depths: the nearer ones hide the farther ones whatever
	// the order, each in its track's colour, blended at -alpha 0.7.
	{"three_tracks_alpha", 0.7, func(b *models.Body, cam models.Camera) []gl.Mesh {
		return []gl.Mesh{
			{Vertices: person(b, cam, -0.4, 36, 34, 50, 0.9), Color: gl.TrackColor(1)}, // far
			{Vertices: person(b, cam, 0.2, 58, 36, 58, 0.95), Color: gl.TrackColor(2)},
			{Vertices: person(b, cam, 0.8, 46, 40, 68, 1.0), Color: gl.TrackColor(3)}, // near
		}
	}},
}

// TestGolden renders small scenes of posed mannequins and compares them with the images in
// testdata (see the tolerance above). go test ./gl -run Golden -update rewrites them.
func TestGolden(t *testing.T) {
	body := models.Mannequin()
	r := openRenderer(t, body.Faces, body.VertexCount())
	const w, h = 96, 72
	cam := models.NewCamera(w, h)
	for _, sc := range goldenScenes {
		t.Run(sc.name, func(t *testing.T) {
			f := background(w, h)
			if err := r.Render(f, gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, sc.meshes(body, cam), sc.alpha); err != nil {
				t.Fatal(err)
			}
			got := toImage(f)
			path := filepath.Join("testdata", "golden_"+sc.name+".png")
			if *update {
				if err := writePNG(path, got); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
				return
			}
			want, err := readPNG(path)
			if err != nil {
				t.Fatalf("%v (go test ./gl -run Golden -update writes it)", err)
			}
			mean, far := diff(got, want)
			t.Logf("%s: mean difference %.3f levels, %.2f%% of pixels off by more than %d", path, mean, 100*far, goldenFarTol)
			if mean > goldenMeanTol || far > goldenFarFrac {
				out := filepath.Join(os.TempDir(), "meshpipe-golden-"+sc.name+".png")
				if err := writePNG(out, got); err == nil {
					t.Logf("this render: %s", out)
				}
				t.Errorf("%s: render differs: mean %.3f levels (at most %g), %.2f%% of pixels off by more than %d (at most %g%%)",
					path, mean, goldenMeanTol, 100*far, goldenFarTol, 100*goldenFarFrac)
			}
		})
	}
}

// TestGoldenCanFail checks that the comparison catches a wrong render: the first scene drawn
// in another colour, and drawn a pixel to the right, both fail it.
func TestGoldenCanFail(t *testing.T) {
	body := models.Mannequin()
	r := openRenderer(t, body.Faces, body.VertexCount())
	const w, h = 96, 72
	want, err := readPNG(filepath.Join("testdata", "golden_one_person.png"))
	if err != nil {
		t.Skipf("no golden image yet: %v", err)
	}
	cam := models.NewCamera(w, h)
	for name, c := range map[string]struct {
		cam   gl.Camera
		color [3]float32
	}{
		"track colour":     {gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, gl.TrackColor(1)},
		"one pixel across": {gl.Camera{Focal: cam.Focal, CX: cam.CX + 1, CY: cam.CY}, gl.DefaultColor},
	} {
		f := background(w, h)
		m := goldenScenes[0].meshes(body, cam)
		m[0].Color = c.color
		if err := r.Render(f, c.cam, m, 1); err != nil {
			t.Fatal(err)
		}
		if mean, far := diff(toImage(f), want); mean <= goldenMeanTol && far <= goldenFarFrac {
			t.Errorf("%s: the wrong render passes (mean %.3f, far %.2f%%)", name, mean, 100*far)
		}
	}
}

func toImage(f *rawvideo.Frame) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			r, g, b := f.At(x, y)
			img.SetNRGBA(x, y, color.NRGBA{r, g, b, 255})
		}
	}
	return img
}

// diff returns the mean absolute difference of a and b over all RGB channels, in levels, and
// the fraction of pixels that differ by more than goldenFarTol in some channel. Images of
// different sizes differ completely.
func diff(a, b image.Image) (mean, far float64) {
	if a.Bounds() != b.Bounds() {
		return 255, 1
	}
	r := a.Bounds()
	var sum, n int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			worst := 0
			for _, d := range []int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B)} {
				d = max(d, -d)
				sum += d
				worst = max(worst, d)
			}
			if worst > goldenFarTol {
				n++
			}
		}
	}
	px := r.Dx() * r.Dy()
	return float64(sum) / float64(3*px), float64(n) / float64(px)
}

func writePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return img, nil
}
