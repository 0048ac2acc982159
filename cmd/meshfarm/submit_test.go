package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSubmitArgs(t *testing.T) {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "")
	wait := fs.Bool("wait", false, "")
	files, mp, err := parseSubmitArgs(fs, []string{"a.mp4", "-o", "/out", "b.mp4", "-wait", "c.mp4", "--", "-pose-model", "standin", "-o", "x"})
	if err != nil || *out != "/out" || !*wait || fmt.Sprint(files) != "[a.mp4 b.mp4 c.mp4]" || fmt.Sprint(mp) != "[-pose-model standin -o x]" {
		t.Errorf("files %q, meshpipe flags %q, -o %q, -wait %v, %v", files, mp, *out, *wait, err)
	}
}

// TestSubmitRefuses: what submit refuses before it dials the server, with exit status 2 and
// the reason.
func TestSubmitRefuses(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "x", "clip.mp4"), filepath.Join(dir, "y", "clip.avi")
	for _, f := range []string{a, b} {
		os.MkdirAll(filepath.Dir(f), 0o755)
		os.WriteFile(f, []byte("frames"), 0o644)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{a}, "-o DIR is required"},
		{[]string{"-o", dir}, "no files given"},
		{[]string{"-o", dir, a, b}, "would both write " + filepath.Join(dir, "clip.mp4")},
		{[]string{"-o", dir, a, "--", "-i", "other.mp4"}, "-i: not allowed here"},
		{[]string{"-o", dir, "-intermediate", "png", a}, "intermediate \"png\""},
		{[]string{"-o", dir, "-ext", ".mp4", a}, "-ext \".mp4\""},
		{[]string{"-o", filepath.Dir(a), "-ext", "mp4", a}, "is the input"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), append([]string{"submit", "-address", "127.0.0.1:1"}, c.args...), &out, &errs)
		if code != 2 || !strings.Contains(errs.String(), c.want) {
			t.Errorf("submit %q: exit %d, %q; want exit 2 saying %q", c.args, code, errs.String(), c.want)
		}
	}
}
