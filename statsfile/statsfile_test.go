package statsfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A document written is read back the same, under the README's field names.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.json")
	want := &Figures{Frames: 3, People: 5, Seconds: 1.5, FPS: 2, Device: "cpu", Batch: 4,
		Stages: []StageFigures{{Stage: "pose", Workers: 2, Frames: 3, Busy: 0.5, P50ms: Ms(2 * time.Millisecond), P95ms: 3}},
		Live:   &LiveFigures{Captured: 4, Dropped: 1, P50ms: 10, P95ms: 20}}
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{`"frames": 3`, `"cpu_seconds"`, `"pose_model"`, `"in_flight"`, `"p50_ms": 2`, `"latency_p95_ms": 20`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("the document lacks %s:\n%s", key, raw)
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Frames != 3 || got.Stage("pose").Busy != 0.5 || got.Live == nil || got.Live.Dropped != 1 {
		t.Errorf("read back %+v", got)
	}
	if s := got.Stage("render"); s.Stage != "render" || s.Frames != 0 {
		t.Errorf("a missing stage: %+v", s)
	}
	if s := (*Figures)(nil).Stage("pose"); s.Stage != "pose" {
		t.Errorf("a nil document's stage: %+v", s)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"frames": "many"}`), 0o644)
	for path, want := range map[string]string{filepath.Join(dir, "none.json"): "none.json", bad: "bad.json: json"} {
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Read(%s): %v, want an error with %q", path, err, want)
		}
	}
	if err := Write(filepath.Join(dir, "no", "s.json"), &Figures{}); err == nil || !strings.Contains(err.Error(), "s.json") {
		t.Errorf("Write into a missing folder: %v", err)
	}
}
