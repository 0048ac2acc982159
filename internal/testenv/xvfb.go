package testenv

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// XServer is a virtual X server (Xvfb) started for one test.
type XServer struct {
	// Display is the X display name, such as ":1", that DISPLAY is set to for the test.
	Display string
	fb      string // the screen's framebuffer file (Xvfb -fbdir), in XWD format
}

// Xvfb starts Xvfb (which scripts/setup.sh installs) on a display number it picks itself
// (-displayfd), with one w x h screen of depth 24 whose framebuffer it keeps in a file (-fbdir),
// sets DISPLAY to it for the rest of the test (t.Setenv, so the test must not be parallel) and
// stops it when the test ends. It fails the test when Xvfb is missing or not ready within 20 s.
func Xvfb(t testing.TB, w, h int) *XServer {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Fatalf("Xvfb missing (run scripts/setup.sh): %v", err)
	}
	dir := t.TempDir()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var stderr strings.Builder
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-fbdir", dir, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in Xvfb
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatalf("starting Xvfb: %v", err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// Xvfb writes its display number on fd 3 once it accepts connections.
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if n == "" {
			t.Fatalf("Xvfb gave no display number: %s", stderr.String())
		}
		x := &XServer{Display: ":" + n, fb: filepath.Join(dir, "Xvfb_screen0")}
		t.Setenv("DISPLAY", x.Display)
		return x
	case err := <-exited:
		t.Fatalf("Xvfb exited before it was ready (%v): %s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb not ready after 20 s: %s", stderr.String())
	}
	return nil
}

// Screen returns what the X server's screen shows now, read from its framebuffer file (XWD
// format: a header of big-endian 32-bit fields, the colour map, then the pixels; X11's xwd.h).
// It handles the 24-bit TrueColor screens Xvfb makes (32 bits a pixel, either byte order).
func (x *XServer) Screen(t testing.TB) *image.RGBA {
	t.Helper()
	b, err := os.ReadFile(x.fb)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 {
		t.Fatalf("%s: %d bytes, too short for an XWD header", x.fb, len(b))
	}
	field := func(i int) int { return int(binary.BigEndian.Uint32(b[4*i:])) }
	headerSize, width, height := field(0), field(4), field(5)
	byteOrder, bpp, stride, ncolors := field(7), field(11), field(12), field(19)
	redMask, greenMask, blueMask := uint32(field(14)), uint32(field(15)), uint32(field(16))
	if bpp != 32 {
		t.Fatalf("%s: %d bits a pixel; only 32 is handled", x.fb, bpp)
	}
	off := headerSize + 12*ncolors
	if off+stride*height > len(b) || stride < 4*width {
		t.Fatalf("%s: %dx%d, stride %d, pixels from byte %d: the file has %d bytes", x.fb, width, height, stride, off, len(b))
	}
	shift := func(mask uint32) uint {
		s := uint(0)
		for mask != 0 && mask&1 == 0 {
			mask >>= 1
			s++
		}
		return s
	}
	rs, gs, bs := shift(redMask), shift(greenMask), shift(blueMask)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		row := b[off+y*stride:]
		for i := 0; i < width; i++ {
			var p uint32
			if byteOrder == 0 { // LSBFirst
				p = binary.LittleEndian.Uint32(row[4*i:])
			} else {
				p = binary.BigEndian.Uint32(row[4*i:])
			}
			img.SetRGBA(i, y, color.RGBA{byte(p & redMask >> rs), byte(p & greenMask >> gs), byte(p & blueMask >> bs), 255})
		}
	}
	return img
}
