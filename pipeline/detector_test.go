package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshpipe/meshpipe/internal/testenv"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
)

// The detector names: the default is nanodet when its file is in the model folder, else
// bgsub; nanodet asked for by name and missing is an error that says where it looked; a model
// file is told YOLOX- or NanoDet-style by its outputs; the name for the log says which ran.
func TestOpenDetector(t *testing.T) {
	if err := ort.Init(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	nanoDet := testenv.Deps(t, "models/"+models.NanoDetFile)
	yolox := testenv.Shared(t, "models/yolox_nano.onnx")
	set, unset := filepath.Dir(nanoDet), t.TempDir()
	opt := ort.Options{IntraOpThreads: 1}
	for _, c := range []struct {
		spec, dir          string
		wantType, wantName string
	}{
		{"", set, "*models.NanoDet", "nanodet (" + nanoDet + ")"},
		{"nanodet", set, "*models.NanoDet", "nanodet (" + nanoDet + ")"},
		{"", unset, "*models.BackgroundSubtractor", "bgsub"},
		{"bgsub", set, "*models.BackgroundSubtractor", "bgsub"},
		{"full", set, "models.FullFrame", "full"},
		{"none", set, "models.Nobody", "none"},
		{yolox, unset, "*models.YOLOX", yolox + " (YOLOX-style)"},
		{nanoDet, unset, "*models.NanoDet", nanoDet + " (NanoDet-style)"},
	} {
		o := DefaultOptions()
		o.Detector, o.ModelDir = c.spec, c.dir
		det, closeDet, name, err := openDetector(&o, opt)
		if err != nil {
			t.Errorf("%q in %s: %v", c.spec, c.dir, err)
			continue
		}
		if got := fmt.Sprintf("%T", det); got != c.wantType || name != c.wantName {
			t.Errorf("%q in %s: %s named %q, want %s named %q", c.spec, c.dir, got, name, c.wantType, c.wantName)
		}
		if (closeDet != nil) != strings.HasSuffix(c.wantName, ")") {
			t.Errorf("%q: a closer %v for %q", c.spec, closeDet != nil, name)
		}
		if closeDet != nil {
			closeDet()
		}
	}
	o := DefaultOptions()
	o.Detector, o.ModelDir, o.Prefix = "nanodet", unset, "-"
	_, _, _, err := openDetector(&o, opt)
	if want := filepath.Join(unset, models.NanoDetFile); err == nil || !strings.HasPrefix(err.Error(), "-detector nanodet: nanodet.onnx not found") || !strings.Contains(err.Error(), want) {
		t.Errorf("nanodet missing: %v; want an error naming -detector and %s", err, want)
	}
	o.Detector = "hog"
	if _, _, _, err := openDetector(&o, opt); err == nil || !strings.Contains(err.Error(), `-detector "hog": want nanodet, bgsub`) {
		t.Errorf("hog: %v", err)
	}
}
