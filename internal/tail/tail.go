// Package tail keeps the end of what a child process writes (its stderr), for error messages.
package tail

import (
	"bytes"
	"strings"
	"sync"
)

// Size is how many bytes a Buffer keeps: the last 8 KiB written, enough for ffmpeg's or
// meshpipe's last lines.
const Size = 8 << 10

// Buffer is an io.Writer that keeps the last Size bytes written to it. The zero value is ready;
// it is safe for concurrent use (a child's stderr copied in while an error is being made).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps p's end, and the end of what came before, up to Size bytes; it never fails.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - Size; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// String returns what is kept, without leading and trailing white space.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}
