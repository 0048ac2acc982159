package gl_test

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// benchScene returns four posed mannequins side by side in a w x h frame, partly overlapping,
// each about 70% of the frame's height, in their track colours: a street scene's worth of
// people, placed by the contract's camera maths.
func benchScene(body *models.Body, w, h int) (gl.Camera, []gl.Mesh) {
	cam := models.NewCamera(w, h)
	fw, fh := float32(w), float32(h)
	var meshes []gl.Mesh
	for i, yaw := range []float64{0.3, -0.5, 1.2, -0.1} {
		cx := fw * (0.2 + 0.2*float32(i))
		cy := fh * (0.5 + 0.04*float32(i%2))
		meshes = append(meshes, gl.Mesh{
			Vertices: person(body, cam, yaw, cx, cy, 0.8*fh, 0.9),
			Color:    gl.TrackColor(i + 1),
		})
	}
	return gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, meshes
}

// cpuTime returns the CPU time (user + system) the process has used so far, on every thread:
// Go's and the OpenGL driver's (llvmpipe renders on threads of its own).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRenderWorkers renders the four-person scene over a frame at 640x360, 1280x720 and
// 1920x1080 with 1, 2 and 4 renderers working at once, with DefaultSamples and with 1 sample a
// pixel (no anti-aliasing), each on its own frames (as meshpipe's
// render workers do), and reports frames per second over all of them (fps) and the mean time
// one frame takes a worker (ms/frame/worker), and the CPU time a frame costs, all threads
// together (cpu-ms/frame; with a software renderer, 1000 * cores / cpu-ms/frame is the most
// frames per second the machine could give, whatever the workers). Each frame starts as a fresh copy of the
// background, as frames from the decoder do. scripts/bench_render.sh prints it as a table.
func BenchmarkRenderWorkers(b *testing.B) {
	body := models.Mannequin()
	for _, samples := range []int{gl.DefaultSamples, 1} {
		rs := make([]*gl.Renderer, 4)
		for i := range rs {
			r, err := gl.NewRendererOptions(body.Faces, body.VertexCount(), gl.Options{Samples: samples})
			if errors.Is(err, gl.ErrNoEGL) {
				b.Skipf("no EGL on this machine: %v", err)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			rs[i] = r
		}
		b.Logf("renderer: %s, %d samples a pixel", rs[0].Name(), rs[0].Samples())
		for _, size := range [][2]int{{640, 360}, {1280, 720}, {1920, 1080}} {
			w, h := size[0], size[1]
			cam, meshes := benchScene(body, w, h)
			bg := background(w, h)
			frames := make([]*rawvideo.Frame, len(rs))
			for i, r := range rs {
				frames[i] = background(w, h)
				if err := r.Render(frames[i], cam, meshes, 1); err != nil { // sizes the framebuffers
					b.Fatal(err)
				}
			}
			for _, workers := range []int{1, 2, 4} {
				b.Run(fmt.Sprintf("samples=%d/%dx%d/workers=%d", samples, w, h, workers), func(b *testing.B) {
					b.ReportAllocs()
					cpu0 := cpuTime()
					b.ResetTimer()
					var wg sync.WaitGroup
					for k := 0; k < workers; k++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							f := frames[k]
							for i := k; i < b.N; i += workers {
								copy(f.Pix, bg.Pix)
								if err := rs[k].Render(f, cam, meshes, 1); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					s := b.Elapsed().Seconds()
					b.ReportMetric(float64(b.N)/s, "fps")
					b.ReportMetric(1000*s*float64(workers)/float64(b.N), "ms/frame/worker")
					b.ReportMetric(1000*(cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-ms/frame")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}
