package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// longRun is the shape of TestLongRun's stream: small frames, a still textured background,
// and a bright block (a "person" for the background subtractor) walking across it in the
// first eighth of every cycle of frames.
const (
	longW, longH  = 64, 48
	longFrames    = 50000
	longCycle     = 200 // frames
	longWalk      = 25  // frames of each cycle with the block
	longEvery     = 5000
	longWarmUp    = 10000 // frames before the baseline sample
	longRSSSlack  = 24 << 20
	longFrameSize = longW * longH * 3
)

// longFrame writes frame k of the stream into p.
func longFrame(p []byte, k int) {
	for i := range p {
		p[i] = byte(90 + (i*37)%23)
	}
	if k%longCycle >= longWalk {
		return
	}
	x0 := 2 + k%longCycle%(longW-16)
	for y := 8; y < 42; y++ {
		for x := x0; x < x0+12; x++ {
			copy(p[3*(y*longW+x):], []byte{230, 200, 180})
		}
	}
}

// longSample is what TestLongRun measures at a frame.
type longSample struct {
	frame      int
	rss        int64  // VmRSS, bytes
	heap       uint64 // live Go heap after a collection, bytes
	goroutines int
}

// longSource makes the stream on the fly (50,000 frames are 460 MB) and samples the process
// every longEvery frames, from the graph's reader goroutine.
type longSource struct {
	frame   []byte
	k, off  int
	samples []longSample
}

func (s *longSource) Read(p []byte) (int, error) {
	if s.k == longFrames {
		if last := s.samples[len(s.samples)-1]; last.frame != longFrames {
			s.samples = append(s.samples, sample(longFrames))
		}
		return 0, io.EOF
	}
	if s.off == 0 {
		if s.k%longEvery == 0 {
			s.samples = append(s.samples, sample(s.k))
		}
		longFrame(s.frame, s.k)
	}
	n := copy(p, s.frame[s.off:])
	s.off += n
	if s.off == longFrameSize {
		s.off = 0
		s.k++
	}
	return n, nil
}

// longSink checks the frames written: their count, and that a frame long after the block left
// (the last quarter of a cycle: nobody there, and the background model has settled) is the
// background byte for byte.
type longSink struct {
	frame, want []byte
	k, off      int
	changed     int // frames that differ from their input
	stillBad    []int
}

func (s *longSink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := copy(s.frame[s.off:], p)
		p, s.off = p[c:], s.off+c
		if s.off == longFrameSize {
			longFrame(s.want, s.k)
			if !bytes.Equal(s.frame, s.want) {
				s.changed++
				if s.k%longCycle >= 3*longCycle/4 && len(s.stillBad) < 10 {
					s.stillBad = append(s.stillBad, s.k)
				}
			}
			s.k, s.off = s.k+1, 0
		}
	}
	return n, nil
}

// sample measures the process: resident memory (VmRSS in /proc/self/status), the live Go
// heap (after a collection, so that GC timing does not show) and the goroutines.
func sample(frame int) longSample {
	s := longSample{frame: frame, goroutines: runtime.NumGoroutine()}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heap = ms.HeapAlloc
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				s.rss = kb << 10
			}
		}
		f.Close()
	}
	return s
}

// 50,000 small frames through the whole graph (the background subtractor, the stand-in pose
// model through ONNX Runtime, four OpenGL renderers, reorder and write): every frame comes
// out, frames without anybody come out unchanged, and resident memory, the Go heap and the
// goroutine count stay flat after the first 10,000 frames. The figures are logged. Skipped
// with -short (it takes a while on two cores); make test runs it.
func TestLongRun(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 frames through the whole graph; make test runs it")
	}
	before := runtime.NumGoroutine()
	src := &longSource{frame: make([]byte, longFrameSize)}
	sink := &longSink{frame: make([]byte, longFrameSize), want: make([]byte, longFrameSize)}
	var stderr bytes.Buffer
	start := time.Now()
	code := Run(context.Background(), []string{"-s", fmt.Sprintf("%dx%d", longW, longH), "-device", "cpu", "-pose-model", "standin", "-detector", "bgsub"}, src, sink, &stderr)
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if sink.k != longFrames || sink.off != 0 {
		t.Fatalf("%d frames and %d bytes out, want %d frames", sink.k, sink.off, longFrames)
	}
	runtime.GC()
	after := sample(longFrames)
	t.Logf("%d frames of %dx%d in %.1f s (%.0f fps); %d changed by a mesh; %s", longFrames, longW, longH,
		elapsed.Seconds(), longFrames/elapsed.Seconds(), sink.changed, doneLine(stderr.String()))
	base := src.samples[longWarmUp/longEvery]
	var maxRSS, maxHeap int64
	minG, maxG := base.goroutines, base.goroutines
	for _, s := range src.samples {
		t.Logf("frame %6d: VmRSS %6.1f MiB, live Go heap %5.1f MiB, %d goroutines", s.frame, mib(s.rss), mib(int64(s.heap)), s.goroutines)
		if s.frame < longWarmUp {
			continue
		}
		maxRSS = max(maxRSS, s.rss-base.rss)
		maxHeap = max(maxHeap, int64(s.heap)-int64(base.heap))
		minG, maxG = min(minG, s.goroutines), max(maxG, s.goroutines)
	}
	t.Logf("after the run: VmRSS %.1f MiB, %d goroutines (%d before it)", mib(after.rss), after.goroutines, before)
	t.Logf("growth from frame %d to the end: VmRSS %+.1f MiB, Go heap %+.1f MiB; goroutines %d..%d",
		longWarmUp, mib(maxRSS), mib(maxHeap), minG, maxG)

	if frames := sink.changed; frames < longFrames/16 || frames > longFrames/4 {
		t.Errorf("%d frames changed; the block is in an eighth of them: the detector or renderer did not run as meant", frames)
	}
	if len(sink.stillBad) > 0 {
		t.Errorf("frames long after the block left changed: %v", sink.stillBad)
	}
	// Leaking a frame buffer (9 KB) or a person's mesh (53 KB) a frame would grow by hundreds
	// of MiB over 40,000 frames, and 1 KB a frame by 40 MiB; allocator and GC noise (pooled
	// crop batches of 3 MiB come and go) stays within a few MiB.
	if maxRSS > longRSSSlack {
		t.Errorf("resident memory grew by %.1f MiB after frame %d (allowed %d MiB)", mib(maxRSS), longWarmUp, longRSSSlack>>20)
	}
	if maxHeap > longRSSSlack/2 { // the crop pool alone holds 3 MiB batches, more or fewer by GC timing
		t.Errorf("the Go heap grew by %.1f MiB after frame %d", mib(maxHeap), longWarmUp)
	}
	if maxG != minG {
		t.Errorf("goroutines went from %d to %d during the run", minG, maxG)
	}
	if after.goroutines > before+1 {
		t.Errorf("%d goroutines after the run, %d before it: some were left running", after.goroutines, before)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// doneLine returns the fields of the closing "done" log line.
func doneLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if i := strings.Index(l, "msg=done "); i >= 0 {
			return l[i+len("msg=done "):]
		}
	}
	return "(no done line)"
}
