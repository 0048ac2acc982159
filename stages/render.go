package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Renderer draws people over a frame in place. Each render worker owns one Renderer and calls
// it from one goroutine.
type Renderer interface {
	Render(f *rawvideo.Frame, people []human.Person) error
}

// render is one render worker of the graph: it draws the people of each job from in over its
// frame with r and sends the job on to out. Frames without people pass untouched (r is not
// called). A failure marks the job's frame. It returns when in is closed or the graph is
// cancelled.
func (g *graph) render(r Renderer, in <-chan *job, out chan<- *job) error {
	for j := range in {
		g.renderJob(r, j)
		if !g.send(out, j) {
			return nil
		}
	}
	return nil
}

// renderJob draws j's people over its frame with r, unless j is to be skipped or has nobody,
// marking the frame as failed when that fails.
func (g *graph) renderJob(r Renderer, j *job) {
	if g.skip(j) || len(j.people) == 0 {
		return
	}
	t0 := g.rec.now()
	if err := guard(func() error { return r.Render(j.frame, j.people) }); err != nil {
		g.fail(j, "render", err)
	}
	g.rec.record(StageRender, t0)
}
