package tail

import (
	"strings"
	"testing"
)

// A Buffer keeps only the last Size bytes, trimmed.
func TestBufferKeepsTheEnd(t *testing.T) {
	var b Buffer
	for i := 0; i < 3; i++ {
		b.Write([]byte(strings.Repeat("x", Size)))
	}
	b.Write([]byte("the end\n"))
	s := b.String()
	if !strings.HasSuffix(s, "the end") || len(s) != Size-1 {
		t.Errorf("kept %d bytes ending %q; want %d ending in \"the end\"", len(s), s[max(0, len(s)-10):], Size-1)
	}
}
