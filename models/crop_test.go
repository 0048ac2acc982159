package models

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Crops match an independent OpenCV/numpy reference of 4D-Humans' crop (testdata/crop_ref.py)
// within 1/255 of the 0..1 range, on a photo and on noise (the worst case for sampling
// positions), for windows that up-scale, down-scale without blur, down-scale with the blur
// (side > 563.2), and reach out of the frame.
func TestCropIntoMatchesReference(t *testing.T) {
	noise, _ := rawvideo.NewFrame(640, 480)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.IntN(256))
	}
	photo := testenv.LoadImage(t, testenv.Shared(t, "images/pexels-stretch.jpg"))
	for _, c := range []struct {
		name    string
		f       *rawvideo.Frame
		windows []Window
	}{
		{"noise", noise, []Window{
			{320, 240, 256}, {320.5, 240.25, 100}, {101.3, 377.7, 333.3}, {0, 0, 200},
			{320, 240, 563.2}, {320, 240, 564}, {321.7, 250.1, 700}, {600, 20, 900}, {320, 240, 1500},
		}},
		{"photo", photo, []Window{
			{512, 512, 1024}, {500.25, 480.5, 620}, {700.1, 300.9, 410}, {40, 1000, 1300}, {512, 512, 2600},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := referenceCrops(t, c.f, c.windows)
			const per = 3 * CropSize * CropSize
			got := make([]float32, per)
			for k, w := range c.windows {
				CropInto(got, c.f, w)
				worst, at := 0.0, 0
				for i := range got {
					ch := i / (CropSize * CropSize)
					// Back to 0..1 units: x = v*std + mean.
					d := math.Abs(float64(got[i]-want[k*per+i])) * float64(imageStd[ch])
					if d > worst {
						worst, at = d, i
					}
				}
				t.Logf("window %+v (blur sigma %.3f): largest difference %.2g of 1 at channel %d (%d, %d)",
					w, BlurSigma(w.Side), worst, at/(CropSize*CropSize), at%CropSize, at/CropSize%CropSize)
				if worst > 1.0/255 {
					t.Errorf("window %+v: crop differs from the reference by %.4f (> 1/255) at channel %d pixel (%d, %d)",
						w, worst, at/(CropSize*CropSize), at%CropSize, at/CropSize%CropSize)
				}
			}
		})
	}
}

// referenceCrops runs testdata/crop_ref.py on f and the windows and returns its crops,
// [len(windows)][3][256][256].
func referenceCrops(t *testing.T, f *rawvideo.Frame, windows []Window) []float32 {
	t.Helper()
	dir := t.TempDir()
	rgb := make([]byte, 0, f.Width*f.Height*3)
	for y := 0; y < f.Height; y++ {
		rgb = append(rgb, f.Pix[y*f.Stride:y*f.Stride+3*f.Width]...)
	}
	wins := make([][3]float32, len(windows))
	for i, w := range windows {
		wins[i] = [3]float32{w.CX, w.CY, w.Side}
	}
	js, _ := json.Marshal(wins)
	framePath, winPath, outPath := filepath.Join(dir, "frame.rgb"), filepath.Join(dir, "windows.json"), filepath.Join(dir, "crops.f32")
	if err := os.WriteFile(framePath, rgb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(winPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Python(t, filepath.Join("testdata", "crop_ref.py"), framePath, fmt.Sprint(f.Width), fmt.Sprint(f.Height), winPath, outPath)
	return readFloat32s(t, outPath, len(windows)*3*CropSize*CropSize)
}

// readFloat32s reads a file of n little-endian float32 values.
func readFloat32s(t *testing.T, path string, n int) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4*n {
		t.Fatalf("%s: %d bytes, want %d float32 values", path, len(raw), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// The blur starts where 4D-Humans starts it: side/256/2 > 1.1, sigma = (side/512 - 1)/2.
func TestBlurSigma(t *testing.T) {
	for _, c := range []struct {
		side float32
		want float64
	}{{256, 0}, {563, 0}, {563.3, (563.3/512.0 - 1) / 2}, {1024, 0.5}, {2048, 1.5}} {
		if got := BlurSigma(c.side); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("BlurSigma(%v) = %v, want %v", c.side, got, c.want)
		}
	}
	k := blurKernel(nil, 1.5) // radius int(6.5) = 6
	var sum float32
	for _, v := range k {
		sum += v
	}
	if len(k) != 13 || math.Abs(float64(sum-1)) > 1e-6 || k[6] <= k[5] || k[5] != k[7] {
		t.Errorf("blurKernel(1.5) = %v: want 13 symmetric weights summing to 1", k)
	}
}

func BenchmarkCropInto(b *testing.B) {
	f, _ := rawvideo.NewFrame(1920, 1080)
	for i := range f.Pix {
		f.Pix[i] = byte(i * 7)
	}
	dst := make([]float32, 3*CropSize*CropSize)
	for _, side := range []float32{400, 1000} {
		b.Run(fmt.Sprintf("side%.0f", side), func(b *testing.B) {
			for b.Loop() {
				CropInto(dst, f, Window{CX: 960, CY: 540, Side: side})
			}
		})
	}
}
