package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// PeopleFilter sees the posed people of every frame in frame order, after the pose stage and
// before rendering, and may change them in place: models.PoseHold keeps a track's last found
// pose through a short dropout (human.PoseHeld) and leaves the rest missing. The graph calls
// it from one goroutine, so it may keep state between frames; the people and their vertex
// buffers are the frame's, valid until the frame is written.
type PeopleFilter interface {
	FilterPeople(f *rawvideo.Frame, people []human.Person) error
}

// people is the graph's in-order step between pose and render: the pose workers finish frames
// in any order, so it puts them back in sequence (a Reorder of window slots), runs pf on each
// frame's people, and sends the jobs on to out, which it closes at the end. Without a filter
// the jobs go straight on, in the order they come. A failure marks the job's frame; the job
// still goes on. It returns when in is closed or the graph is cancelled.
func (g *graph) people(pf PeopleFilter, in <-chan *job, window int, out chan<- *job) error {
	defer close(out)
	if pf == nil {
		for j := range in {
			if !g.send(out, j) {
				return nil
			}
		}
		return nil
	}
	return g.reorder(in, window, func(j *job) error {
		g.peopleJob(pf, j)
		if !g.send(out, j) {
			return g.ctx.Err()
		}
		return nil
	})
}

// peopleJob runs pf on j's people unless j is to be skipped, has nobody or pf is nil, marking
// the frame as failed when that fails.
func (g *graph) peopleJob(pf PeopleFilter, j *job) {
	if pf == nil || g.skip(j) || len(j.people) == 0 {
		return
	}
	if err := guard(func() error { return pf.FilterPeople(j.frame, j.people) }); err != nil {
		g.fail(j, "people", err)
	}
}
