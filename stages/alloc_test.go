package stages

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// endlessSource gives stamped frames until the graph stops.
type endlessSource struct{ next int64 }

func (s *endlessSource) Read(f *rawvideo.Frame) error {
	if cap(f.Pix) < fw*fh*3 {
		f.Pix = make([]byte, fw*fh*3)
	}
	f.Pix, f.Width, f.Height, f.Stride, f.Seq = f.Pix[:fw*fh*3], fw, fh, fw*3, s.next
	s.next++
	return nil
}

// fourPeople finds the same four people in every frame.
type fourPeople []human.Detection

func (d fourPeople) Detect(*rawvideo.Frame) ([]human.Detection, error) { return d, nil }

// vertexPose poses every detection with a vertex buffer of 3*6890 values (SMPL's size),
// reusing the job's buffers as an allocation-free estimator does.
type vertexPose struct{}

func (vertexPose) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	for i := range frames {
		people[i] = human.Reuse(people[i], len(dets[i]))
		for k := range people[i] {
			people[i][k].Detection = dets[i][k]
			v := people[i][k].VertexBuffer(3 * 6890)
			v[0] = float32(frames[i].Seq)
		}
	}
	return nil
}

// vertexCheck is a renderer that checks each person's vertices belong to its frame.
type vertexCheck struct{ bad *int64 }

func (r vertexCheck) Render(f *rawvideo.Frame, people []human.Person) error {
	for _, p := range people {
		if len(p.Vertices) != 3*6890 || p.Vertices[0] != float32(f.Seq) {
			*r.bad = f.Seq
		}
	}
	return nil
}

// mallocSink counts the heap allocations of the whole process between frame from and frame
// to being written, then stops the graph with io.EOF.
type mallocSink struct {
	from, to int64
	start    uint64
	mallocs  uint64
}

func (s *mallocSink) Write(f *rawvideo.Frame) error {
	var m runtime.MemStats
	switch f.Seq {
	case s.from:
		runtime.ReadMemStats(&m)
		s.start = m.Mallocs
	case s.to:
		runtime.ReadMemStats(&m)
		s.mallocs = m.Mallocs - s.start
		return io.EOF
	}
	return nil
}

// In steady state the graph itself allocates nothing per frame: the jobs keep their frames,
// detections and people with their vertex buffers (each frame's people its own), the batches
// are recycled and the pose workers keep their argument lists. Counted over 500 frames of four
// people each, with an estimator and a renderer that allocate nothing (before, the batch, the
// estimator's argument lists, the people and each person's vertices were allocated every
// frame).
func TestGraphSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	var bad int64 = -1
	rs := []Renderer{vertexCheck{&bad}, vertexCheck{&bad}, vertexCheck{&bad}, vertexCheck{&bad}}
	dets := fourPeople{{Box: human.Box{X1: 1, Y1: 1, X2: 5, Y2: 7}}, {Box: human.Box{X1: 2, Y1: 1, X2: 6, Y2: 7}},
		{Box: human.Box{X1: 3, Y1: 1, X2: 7, Y2: 7}}, {Box: human.Box{X1: 4, Y1: 1, X2: 8, Y2: 7}}}
	cfg := Config{Detector: dets, Pose: vertexPose{}, PoseWorkers: 2, Batch: 4, Renderers: rs}
	warm := int64(4 * cfg.FramesInFlight())
	sink := &mallocSink{from: warm, to: warm + 500}
	if _, err := Run(context.Background(), cfg, &endlessSource{}, sink); err == nil || err.(*StageError).Err != io.EOF {
		t.Fatalf("Run: %v, want the sink's io.EOF", err)
	}
	if bad >= 0 {
		t.Errorf("frame %d was drawn with another frame's vertices", bad)
	}
	// The Go runtime's own bookkeeping (the records of goroutines waiting on channels, per-P
	// caches) allocates now and then: a few times in 500 frames, in some runs.
	if sink.mallocs > 10 {
		t.Errorf("%d heap allocations over 500 frames, want none but the runtime's few (at most 10)", sink.mallocs)
	}
}
