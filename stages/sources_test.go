package stages

import (
	"errors"
	"io"
	"testing"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// countSource gives frames 0, 1, ... up to n, then io.EOF; fail, when set, is returned instead
// of frame failAt.
type countSource struct {
	next, n, failAt int64
	fail            error
	onRead          func()
}

func (c *countSource) Read(f *rawvideo.Frame) error {
	if c.onRead != nil {
		c.onRead()
	}
	if c.fail != nil && c.next == c.failAt {
		return c.fail
	}
	if c.next >= c.n {
		return io.EOF
	}
	f.Seq = c.next
	c.next++
	return nil
}

func readAll(src Source) (int64, error) {
	var f rawvideo.Frame
	n := int64(0)
	for {
		if err := src.Read(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

func TestLimit(t *testing.T) {
	for _, c := range []struct{ n, limit, want int64 }{{10, 3, 3}, {2, 5, 2}, {4, 0, 0}} {
		got, err := readAll(Limit(&countSource{n: c.n}, c.limit))
		if err != nil || got != c.want {
			t.Errorf("Limit(%d frames, %d): %d frames, %v; want %d", c.n, c.limit, got, err, c.want)
		}
	}
	// An error of the source comes through.
	boom := errors.New("boom")
	if _, err := readAll(Limit(&countSource{n: 10, failAt: 1, fail: boom}, 5)); !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}

func TestUntil(t *testing.T) {
	done := make(chan struct{})
	src := &countSource{n: 100}
	src.onRead = func() {
		if src.next == 4 {
			close(done)
		}
	}
	// done closes during the fifth read, which still delivers its frame; no read follows.
	if n, err := readAll(Until(src, done)); err != nil || n != 5 || src.next != 5 {
		t.Errorf("%d frames, %v, %d read; want 5: those read before done closed and the one in progress", n, err, src.next)
	}
	// A read that fails because of the stop ends the stream cleanly.
	done = make(chan struct{})
	failing := &countSource{n: 100, failAt: 2, fail: errors.New("read interrupted")}
	failing.onRead = func() {
		if failing.next == 2 {
			close(done)
		}
	}
	if n, err := readAll(Until(failing, done)); err != nil || n != 2 {
		t.Errorf("%d frames, %v; want 2 and a clean end", n, err)
	}
	// Without a stop, the error is the source's.
	if _, err := readAll(Until(&countSource{n: 100, failAt: 2, fail: errors.New("bad")}, make(chan struct{}))); err == nil {
		t.Error("a read error was lost")
	}
}
