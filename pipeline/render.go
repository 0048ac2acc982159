package pipeline

import (
	"errors"
	"fmt"

	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// openRenderers makes the render workers: RenderWorkers of them (0: gl.DefaultWorkers for
// the renderer the first one gets), each a meshRenderer with its own OpenGL context, or under
// NoRender pass-throughs (one when RenderWorkers is 0).
func (p *Parts) openRenderers(o *Options, body *models.Body) error {
	n := o.RenderWorkers
	if o.NoRender {
		p.Renderer = "none (" + o.Prefix + "no-render)"
		for i := 0; i < max(n, 1); i++ {
			p.Config.Renderers = append(p.Config.Renderers, passThrough{})
		}
		return nil
	}
	for i := 0; n == 0 || i < n; i++ {
		r, err := gl.NewRendererOptions(body.Faces, body.VertexCount(), gl.Options{Samples: o.Samples})
		if err != nil {
			return fmt.Errorf("render worker %d: %w", i, err)
		}
		p.closers = append(p.closers, r.Close)
		p.Renderer = r.Name()
		if n == 0 {
			n = gl.DefaultWorkers(r.Name())
		}
		m := &meshRenderer{r: r, alpha: float32(o.Alpha), trackColors: o.Color == "track"}
		p.meshes = append(p.meshes, m)
		p.Config.Renderers = append(p.Config.Renderers, m)
	}
	return nil
}

// SetLook changes the mesh opacity and colour (the Alpha and Color options, as Options
// documents them) of every render worker, from the next frame drawn. The plugin calls it between frames when its host changes
// them; it must not be called while the graph runs. A value out of range is refused with an
// error naming the option, and nothing changes.
func (p *Parts) SetLook(alpha float64, color string) error {
	if err := checkLook(alpha, color, p.prefix); err != nil {
		return err
	}
	for _, m := range p.meshes {
		m.alpha, m.trackColors = float32(alpha), color == "track"
	}
	return nil
}

// passThrough is a render worker under NoRender: it leaves the frame as it is.
type passThrough struct{}

func (passThrough) Render(*rawvideo.Frame, []human.Person) error { return nil }

// meshRenderer is one render worker: it turns each person into a gl.Mesh (the posed vertices,
// in gl.DefaultColor or its track's gl.TrackColor) and draws them over the frame with its
// gl.Renderer, under the pose-model contract's camera for the frame's size
// (models.NewCamera), blended with alpha. One goroutine calls Render.
type meshRenderer struct {
	r           *gl.Renderer
	alpha       float32
	trackColors bool
	meshes      []gl.Mesh // reused between frames
}

func (m *meshRenderer) Render(f *rawvideo.Frame, people []human.Person) error {
	if f == nil {
		return errors.New("nil frame")
	}
	cam := models.NewCamera(f.Width, f.Height)
	m.meshes = m.meshes[:0]
	for i := range people {
		c := gl.DefaultColor
		if m.trackColors {
			c = gl.TrackColor(people[i].TrackID)
		}
		m.meshes = append(m.meshes, gl.Mesh{Vertices: people[i].Vertices, Color: c})
	}
	return m.r.Render(f, gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, m.meshes, m.alpha)
}
