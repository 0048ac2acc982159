package stages

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshpipe/meshpipe/internal/fakes"
	"github.com/meshpipe/meshpipe/rawvideo"
)

const fw, fh = 16, 8

// stamp writes seq into the first 8 bytes of f and fills the rest from it, so that any mix-up
// of frames or buffers shows.
func stamp(f *rawvideo.Frame, seq int64) {
	binary.LittleEndian.PutUint64(f.Pix, uint64(seq))
	for i := 8; i < len(f.Pix); i++ {
		f.Pix[i] = byte(seq*7 + int64(i))
	}
}

func stampOf(f *rawvideo.Frame) int64 { return int64(binary.LittleEndian.Uint64(f.Pix)) }

// stampedSource gives n stamped frames and counts how many are out (read, not yet written).
type stampedSource struct {
	n, next int64
	out     *atomic.Int64
	maxOut  atomic.Int64
}

func (s *stampedSource) Read(f *rawvideo.Frame) error {
	if s.next == s.n {
		return io.EOF
	}
	if cap(f.Pix) < fw*fh*3 {
		f.Pix = make([]byte, fw*fh*3)
	}
	f.Pix, f.Width, f.Height, f.Stride, f.Seq = f.Pix[:fw*fh*3], fw, fh, fw*3, s.next
	stamp(f, s.next)
	s.next++
	if o := s.out.Add(1); o > s.maxOut.Load() {
		s.maxOut.Store(o)
	}
	return nil
}

type checkSink struct {
	t      *testing.T
	frames []int64
	out    *atomic.Int64
	mark   bool // the render fake marked the frame: byte 8 = fakes.Mark
}

func (s *checkSink) Write(f *rawvideo.Frame) error {
	seq := stampOf(f)
	if seq != f.Seq {
		s.t.Errorf("frame %d carries stamp %d", f.Seq, seq)
	}
	if s.mark && f.Pix[8] != fakes.Mark {
		s.t.Errorf("frame %d was not rendered", seq)
	}
	s.frames = append(s.frames, seq)
	s.out.Add(-1)
	return nil
}

// newFakes returns a detector, a pose estimator and four renderers whose delays follow seed.
func newFakes(seed uint64) (*fakes.Detector, *fakes.Pose, []Renderer) {
	j := fakes.NewJitter(seed)
	rs := make([]Renderer, 4)
	for i := range rs {
		rs[i] = fakes.NewRenderer(j)
	}
	return fakes.NewDetector(), fakes.NewPose(j), rs
}

// Frames come out complete, once each and in order, whatever the workers' random delays.
func TestRunKeepsCountAndOrder(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		var out atomic.Int64
		src := &stampedSource{n: 300, out: &out}
		sink := &checkSink{t: t, out: &out, mark: true}
		det, pose, rs := newFakes(seed)
		stats, err := Run(context.Background(), Config{Detector: det, Pose: pose, PoseWorkers: 2, Renderers: rs, InFlight: 8}, src, sink)
		if err != nil {
			t.Fatal(err)
		}
		if len(sink.frames) != 300 || stats.Frames != 300 || stats.People != 300 {
			t.Fatalf("seed %d: %d frames written, stats %+v; want 300", seed, len(sink.frames), stats)
		}
		for i, s := range sink.frames {
			if s != int64(i) {
				t.Fatalf("seed %d: output %d is frame %d", seed, i, s)
			}
		}
		if det.OutOfOrder {
			t.Errorf("seed %d: the detector saw frames out of order", seed)
		}
		if m := src.maxOut.Load(); m > 8 {
			t.Errorf("seed %d: %d frames in flight, cap 8", seed, m)
		}
		if pose.MostAtOnce() < 2 {
			t.Errorf("seed %d: pose ran at most %d at once, want the 2 workers", seed, pose.MostAtOnce())
		}
	}
}

// A stage failing or panicking at frame k (the first, one in the middle, the last) ends the
// run with an error naming the stage and frame k, after frames 0..k-1 were written, in order,
// with a batch of 4 crops; nothing hangs.
func TestRunStageFailureWritesEverythingBefore(t *testing.T) {
	renderers := func(rs []Renderer, set func(*fakes.Renderer)) {
		for _, r := range rs {
			set(r.(*fakes.Renderer))
		}
	}
	for _, k := range []int64{0, 37, 99} {
		for _, c := range []struct {
			stage string
			set   func(*fakes.Detector, *fakes.Pose, []Renderer)
			want  string
		}{
			{"detect", func(d *fakes.Detector, _ *fakes.Pose, _ []Renderer) { d.Fail = k }, "detector broke"},
			{"detect", func(d *fakes.Detector, _ *fakes.Pose, _ []Renderer) { d.Panic = k },
				fmt.Sprintf("panic: runtime error: index out of range [%d] with length 0\ngoroutine ", k)},
			{"pose", func(_ *fakes.Detector, p *fakes.Pose, _ []Renderer) { p.Fail = k }, "pose broke"},
			{"pose", func(_ *fakes.Detector, p *fakes.Pose, _ []Renderer) { p.Panic = k }, "panic: assignment to entry in nil map\ngoroutine "},
			{"render", func(_ *fakes.Detector, _ *fakes.Pose, rs []Renderer) {
				renderers(rs, func(r *fakes.Renderer) { r.Fail = k })
			}, "renderer broke"},
			{"render", func(_ *fakes.Detector, _ *fakes.Pose, rs []Renderer) {
				renderers(rs, func(r *fakes.Renderer) { r.Panic = k })
			},
				"panic: runtime error: invalid memory address or nil pointer dereference\ngoroutine "},
		} {
			var out atomic.Int64
			src := &stampedSource{n: 100, out: &out}
			sink := &checkSink{t: t, out: &out}
			det, pose, rs := newFakes(uint64(k))
			c.set(det, pose, rs)
			_, err := Run(context.Background(), Config{Detector: det, Pose: pose, Batch: 4, Renderers: rs}, src, sink)
			want := fmt.Sprintf("%s: frame %d: %s", c.stage, k, c.want)
			var se *StageError
			if !errors.As(err, &se) || se.Frame != k || se.Stage != c.stage || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("%s at frame %d: err = %v, want %q", c.stage, k, err, want)
			}
			if len(sink.frames) != int(k) {
				t.Fatalf("%s at frame %d: %d frames written before the failure, want %d", c.stage, k, len(sink.frames), k)
			}
			for i, s := range sink.frames {
				if s != int64(i) {
					t.Fatalf("%s at frame %d: output %d is frame %d", c.stage, k, i, s)
				}
			}
		}
	}
}

// Frames in which the detector finds nobody skip pose and render and come out byte for byte
// as they went in, in order, among frames with people.
func TestRunZeroPeoplePassThrough(t *testing.T) {
	var out atomic.Int64
	_, pose, rs := newFakes(11)
	src := &stampedSource{n: 200, out: &out}
	sink := &keepSink{}
	stats, err := Run(context.Background(), Config{Detector: peopleDetector(), Pose: pose, Batch: 4, Renderers: rs}, src, sink)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Frames != 200 || len(sink.frames) != 200 {
		t.Fatalf("%d frames written, want 200", len(sink.frames))
	}
	want := &rawvideo.Frame{Pix: make([]byte, fw*fh*3)}
	for k, got := range sink.frames {
		stamp(want, int64(k))
		empty := k%4 == 0 // peopleDetector finds k%4 people in frame k
		if same := bytes.Equal(got, want.Pix); same != empty {
			t.Fatalf("frame %d (%d people): unchanged %v, want %v", k, k%4, same, empty)
		}
	}
	batches, _ := pose.Batches()
	for _, b := range batches {
		for _, seq := range b {
			if seq%4 == 0 {
				t.Fatalf("frame %d, without people, went to the pose model", seq)
			}
		}
	}
}

// keepSink keeps a copy of every frame written.
type keepSink struct{ frames [][]byte }

func (s *keepSink) Write(f *rawvideo.Frame) error {
	s.frames = append(s.frames, append([]byte(nil), f.Pix...))
	return nil
}

// A stream cut inside frame 5 gives frames 0..4 and an error naming frame 5.
func TestRunTruncatedLastFrame(t *testing.T) {
	const n = fw * fh * 3
	var in bytes.Buffer
	f := &rawvideo.Frame{Pix: make([]byte, n), Width: fw, Height: fh, Stride: fw * 3}
	for i := int64(0); i < 5; i++ {
		stamp(f, i)
		in.Write(f.Pix)
	}
	in.Write(make([]byte, 100))
	r, err := rawvideo.NewReader(&in, fw, fh)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	det, pose, rs := newFakes(3)
	stats, err := Run(context.Background(), Config{Detector: det, Pose: pose, Renderers: rs}, r, rawvideo.NewWriter(&out))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "read" || se.Frame != 5 {
		t.Fatalf("err = %v, want a read error at frame 5", err)
	}
	if !strings.Contains(err.Error(), "frame 5 is truncated: the input ended after 100 of its 384 bytes") {
		t.Errorf("error %q does not say how many bytes came", err)
	}
	if stats.Frames != 5 || out.Len() != 5*n {
		t.Fatalf("%d frames (%d bytes) written, want 5", stats.Frames, out.Len())
	}
	for i := 0; i < 5; i++ {
		if got := int64(binary.LittleEndian.Uint64(out.Bytes()[i*n:])); got != int64(i) {
			t.Fatalf("output %d is frame %d", i, got)
		}
	}
}

type blockedSource struct{ started chan struct{} }

func (b *blockedSource) Read(*rawvideo.Frame) error {
	close(b.started)
	select {} // like a silent stdin
}

// Cancelling the context stops the graph even while the reader is stuck in Read.
func TestRunCancelWhileReadBlocks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &blockedSource{started: make(chan struct{})}
	det, pose, rs := newFakes(1)
	done := make(chan error)
	go func() {
		_, err := Run(ctx, Config{Detector: det, Pose: pose, Renderers: rs}, src, &checkSink{t: t, out: new(atomic.Int64)})
		done <- err
	}()
	<-src.started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

type failSink struct{ after int }

func (s *failSink) Write(f *rawvideo.Frame) error {
	if s.after == 0 {
		return errors.New("broken pipe")
	}
	s.after--
	return nil
}

func TestRunWriteError(t *testing.T) {
	var out atomic.Int64
	det, pose, rs := newFakes(2)
	_, err := Run(context.Background(), Config{Detector: det, Pose: pose, Renderers: rs}, &stampedSource{n: 50, out: &out}, &failSink{after: 10})
	if err == nil || err.Error() != "write: frame 10: broken pipe" {
		t.Fatalf("err = %v, want write: frame 10: broken pipe", err)
	}
}

func TestReorder(t *testing.T) {
	r := NewReorder[int](4)
	if _, ok := r.Pop(); ok {
		t.Fatal("pop from empty")
	}
	for _, s := range []int64{2, 1, 3} {
		if err := r.Push(s, int(s)*10); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := r.Pop(); ok {
		t.Fatal("popped before item 0 came")
	}
	if err := r.Push(4, 40); err == nil {
		t.Fatal("push of item 4 with window [0,4): no error")
	}
	if err := r.Push(1, 10); err == nil {
		t.Fatal("push of item 1 twice: no error")
	}
	r.Push(0, 0)
	for want := 0; want < 4; want++ {
		v, ok := r.Pop()
		if !ok || v != want*10 {
			t.Fatalf("pop %d = %v %v", want, v, ok)
		}
	}
	if err := r.Push(2, 0); err == nil {
		t.Fatal("push of an item already popped: no error")
	}
	if err := r.Push(7, 70); err != nil || r.Next() != 4 {
		t.Fatalf("push 7 into window [4,8): %v, next %d", err, r.Next())
	}
}

// FramesInFlight is the number Run sizes its buffers by, and what meshpipe's -stats_file reports.
func TestFramesInFlight(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want int
	}{
		{Config{InFlight: 3}, 3},
		{Config{Renderers: make([]Renderer, 4)}, 2*1 + 4 + 4},
		{Config{PoseWorkers: 1, Batch: 16, Renderers: make([]Renderer, 2)}, 16 + 2 + 4},
	} {
		if got := c.cfg.FramesInFlight(); got != c.want {
			t.Errorf("%+v: %d, want %d", c.cfg, got, c.want)
		}
	}
}
