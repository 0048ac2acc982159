// Package fakes holds the stand-ins for meshpipe's parts that the stage graph's tests
// (stages) and the frei0r filter's tests (filter) share: a person detector, a pose estimator,
// a renderer and a pose writer that do little, record what they were given, and fail or panic
// on the frame a test asks. They implement the interfaces of package stages.
package fakes

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// Never is the frame number that no frame has: a Fail or Panic field set to it never fires.
const Never = -1

// Jitter sleeps a random 0 to 300 microseconds per call, from one seeded source shared by the
// fakes given it, so that a test's workers finish in shuffled order. A nil Jitter never sleeps.
type Jitter struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewJitter returns a Jitter whose delays follow seed.
func NewJitter(seed uint64) *Jitter { return &Jitter{r: rand.New(rand.NewPCG(seed, 1))} }

// Sleep sleeps the next random delay.
func (j *Jitter) Sleep() {
	if j == nil {
		return
	}
	j.mu.Lock()
	d := time.Duration(j.r.IntN(300)) * time.Microsecond
	j.mu.Unlock()
	time.Sleep(d)
}

// Box is the box of person i in every frame: 4x6 pixels at (i, 1).
func Box(i int) human.Box {
	return human.Box{X1: float32(i), Y1: 1, X2: float32(i) + 4, Y2: 7}
}

// Detector finds People(seq) people in frame seq (one when People is nil), person i in Box(i)
// with score 0.9. It fails at frame Fail and panics (an index out of range) at frame Panic; it
// notes frames that do not come in order. Use NewDetector; like a real detector, it is called
// from one goroutine.
type Detector struct {
	People      func(seq int64) int
	Fail, Panic int64
	// OutOfOrder is set when a frame came that was not the one after the last.
	OutOfOrder bool
	// Seen is the number of frames it was given.
	Seen int
	last int64
}

// NewDetector returns a Detector that finds one person a frame and never fails.
func NewDetector() *Detector { return &Detector{Fail: Never, Panic: Never, last: -1} }

// Detect returns frame f's people, as Detector says.
func (d *Detector) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	if f.Seq != d.last+1 {
		d.OutOfOrder = true
	}
	d.last = f.Seq
	d.Seen++
	if f.Seq == d.Fail {
		return nil, errors.New("detector broke")
	}
	if f.Seq == d.Panic {
		var dets []human.Detection
		_ = dets[f.Seq] // index out of range
	}
	n := 1
	if d.People != nil {
		n = d.People(f.Seq)
	}
	dets := make([]human.Detection, n)
	for i := range dets {
		dets[i] = human.Detection{Box: Box(i), Score: 0.9}
	}
	return dets, nil
}

// Pose gives each detection a Person that keeps the detection (its track id included) and one
// vertex, (Box.X1, Box.Y1, 1). A batch holding frame Fail fails whole, one holding frame Panic
// panics (an assignment to a nil map), as a failing model run would. It records every batch
// and how many ran at once, and is safe for concurrent use. Use NewPose.
type Pose struct {
	Fail, Panic int64
	Jitter      *Jitter

	mu         sync.Mutex
	batches    [][]int64
	crops      []int
	concurrent atomic.Int32
	most       atomic.Int32
}

// NewPose returns a Pose that never fails; jitter may be nil.
func NewPose(jitter *Jitter) *Pose { return &Pose{Fail: Never, Panic: Never, Jitter: jitter} }

// EstimateInto poses the detections of each frame into people[i] (reusing its buffers, as
// stages.PoseEstimator asks), as Pose says: each person's vertices are (x1, y1, 1) of its box.
func (p *Pose) EstimateInto(frames []*rawvideo.Frame, dets [][]human.Detection, people [][]human.Person) error {
	c := p.concurrent.Add(1)
	defer p.concurrent.Add(-1)
	for m := p.most.Load(); c > m && !p.most.CompareAndSwap(m, c); m = p.most.Load() {
	}
	seqs, n := make([]int64, len(frames)), 0
	for i, f := range frames {
		seqs[i] = f.Seq
		n += len(dets[i])
	}
	p.mu.Lock()
	p.batches = append(p.batches, seqs)
	p.crops = append(p.crops, n)
	p.mu.Unlock()
	p.Jitter.Sleep()
	for _, f := range frames {
		if f.Seq == p.Fail {
			return errors.New("pose broke")
		}
		if f.Seq == p.Panic {
			var m map[string]int
			m["boom"]++
		}
	}
	for i := range frames {
		people[i] = human.Reuse(people[i], len(dets[i]))
		for k, d := range dets[i] {
			people[i][k].Detection = d
			people[i][k].Vertices = append(people[i][k].Vertices, d.Box.X1, d.Box.Y1, 1)
		}
	}
	return nil
}

// Batches returns the frames of each call, in call order, and the people of each call.
func (p *Pose) Batches() (frames [][]int64, crops []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]int64(nil), p.batches...), append([]int(nil), p.crops...)
}

// MostAtOnce returns the most calls that ran at the same time.
func (p *Pose) MostAtOnce() int { return int(p.most.Load()) }

// Renderer "draws" by setting byte 8 of the frame to Mark, and records the people of its last
// frame. It fails at frame Fail and panics (a nil pointer dereference) at frame Panic. Each
// render worker owns one, as with real renderers. Use NewRenderer.
type Renderer struct {
	Fail, Panic int64
	Jitter      *Jitter
	// Frames is the number of frames drawn on; People the people of the last one.
	Frames int
	People []human.Person
}

// Mark is the byte a Renderer writes at index 8 of each frame it draws on.
const Mark = 0xAA

// NewRenderer returns a Renderer that never fails; jitter may be nil.
func NewRenderer(jitter *Jitter) *Renderer {
	return &Renderer{Fail: Never, Panic: Never, Jitter: jitter}
}

// Render marks f, as Renderer says.
func (r *Renderer) Render(f *rawvideo.Frame, people []human.Person) error {
	r.Jitter.Sleep()
	switch f.Seq {
	case r.Fail:
		return errors.New("renderer broke")
	case r.Panic:
		var nothing *Renderer
		nothing.Frames++ // nil pointer dereference
	}
	f.Pix[8] = Mark
	r.Frames++
	r.People = append(r.People[:0], people...)
	return nil
}

// Poses records, in call order, the frame and the number of people of each call of WritePoses
// (stages.PoseWriter), and fails at frame Fail. Use NewPoses.
type Poses struct {
	Fail   int64
	Frames []int64
	People []int
}

// NewPoses returns a Poses that never fails.
func NewPoses() *Poses { return &Poses{Fail: Never} }

// WritePoses records f's number and its people.
func (p *Poses) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	if f.Seq == p.Fail {
		return errors.New("disk full")
	}
	p.Frames = append(p.Frames, f.Seq)
	p.People = append(p.People, len(people))
	return nil
}
