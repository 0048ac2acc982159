//go:build cgo

// Package preview shows video frames in a desktop window while a pipeline runs: an OpenGL
// window made with GLFW (github.com/go-gl/glfw) on an X11 display, into which each frame is
// uploaded as a texture and drawn scaled to fit, its aspect ratio kept.
//
// GLFW wants its calls made from the process's main thread (macOS insists; X11 accepts any one
// thread), so a Window must be opened and used from one goroutine locked to its OS thread for
// the whole time, the main goroutine of a program that calls runtime.LockOSThread from an init
// function. Other goroutines hand frames to that thread through a Feed.
//
// The window draws with OpenGL through github.com/go-gl/gl, whose function table is one per
// process and which package gl loads too: open the window before any gl.Renderer starts (Open
// loads the table; the renderers' loading, while the window thread waits, gives the same entry
// points of the GL dispatch library). The package needs cgo; built without it, Open fails.
package preview

import (
	"errors"
	"fmt"
	"os"

	ogl "github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// ErrNoDisplay is returned (wrapped) by Open when there is no display to open a window on:
// DISPLAY is unset or empty. (GLFW's own initialisation cannot be trusted to say so.)
var ErrNoDisplay = errors.New("preview: no display")

// Window is an on-screen window showing rgb24 frames of one size. Its methods must all be
// called from the goroutine, locked to its OS thread, that called Open (see the package doc).
// One Window may be open at a time: Close shuts GLFW down.
type Window struct {
	win      *glfw.Window
	w, h     int    // frame size, pixels
	tex, fbo uint32 // the frame's texture and the framebuffer that reads it
	shown    int64
	closed   bool // Close was called
}

// Open opens a window titled title for frames of w x h pixels (rawvideo.Frame's rgb24), sized
// to show them at full size, or scaled down to fit 1280x720 with their aspect ratio kept. It
// returns an error wrapping ErrNoDisplay when DISPLAY is unset, and an error naming the display
// when GLFW cannot start, the window cannot be made or it has no OpenGL 3.3 core context. The
// calling goroutine must be locked to its OS thread (see the package doc).
func Open(title string, w, h int) (win *Window, err error) {
	if _, err := rawvideo.FrameSize(w, h); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	display := os.Getenv("DISPLAY")
	if display == "" {
		return nil, fmt.Errorf("%w: DISPLAY is not set (run under an X server, for example with xvfb-run, or without the preview)", ErrNoDisplay)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("preview: display %s: GLFW: %v", display, p)
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, fmt.Errorf("preview: display %s: starting GLFW: %w", display, err)
	}
	ok := false
	defer func() {
		if !ok {
			glfw.Terminate()
		}
	}()
	glfw.WindowHint(glfw.ContextVersionMajor, 3)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	glfw.WindowHint(glfw.Resizable, glfw.True)
	ww, wh := windowSize(w, h)
	gw, err := glfw.CreateWindow(ww, wh, title, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("preview: display %s: opening a %dx%d OpenGL 3.3 core window: %w", display, ww, wh, err)
	}
	defer func() {
		if !ok {
			gw.Destroy()
		}
	}()
	gw.MakeContextCurrent()
	glfw.SwapInterval(0) // never wait for the screen's refresh: the pipeline sets the pace
	if err := ogl.InitWithProcAddrFunc(glfw.GetProcAddress); err != nil {
		return nil, fmt.Errorf("preview: display %s: loading OpenGL functions: %w", display, err)
	}
	win = &Window{win: gw, w: w, h: h}
	ogl.GenTextures(1, &win.tex)
	ogl.BindTexture(ogl.TEXTURE_2D, win.tex)
	ogl.TexParameteri(ogl.TEXTURE_2D, ogl.TEXTURE_MIN_FILTER, ogl.LINEAR)
	ogl.TexParameteri(ogl.TEXTURE_2D, ogl.TEXTURE_MAG_FILTER, ogl.LINEAR)
	ogl.TexImage2D(ogl.TEXTURE_2D, 0, ogl.RGB8, int32(w), int32(h), 0, ogl.RGB, ogl.UNSIGNED_BYTE, nil)
	ogl.GenFramebuffers(1, &win.fbo)
	ogl.BindFramebuffer(ogl.READ_FRAMEBUFFER, win.fbo)
	ogl.FramebufferTexture2D(ogl.READ_FRAMEBUFFER, ogl.COLOR_ATTACHMENT0, ogl.TEXTURE_2D, win.tex, 0)
	if s := ogl.CheckFramebufferStatus(ogl.READ_FRAMEBUFFER); s != ogl.FRAMEBUFFER_COMPLETE {
		return nil, fmt.Errorf("preview: display %s: %dx%d frame texture unusable (framebuffer status 0x%x)", display, w, h, s)
	}
	ogl.PixelStorei(ogl.UNPACK_ALIGNMENT, 1)
	ogl.ClearColor(0, 0, 0, 1)
	if e := ogl.GetError(); e != ogl.NO_ERROR {
		return nil, fmt.Errorf("preview: display %s: OpenGL error 0x%x setting up the window", display, e)
	}
	ok = true
	return win, nil
}

// Show draws f in the window, scaled to fit it (black bars where the aspect ratios differ),
// and handles pending window events. f must be rgb24 of the size given to Open. It returns an
// error naming the frame when f has another size or OpenGL fails, and an error after Close;
// once the user has closed the window it does nothing (see Closed).
func (win *Window) Show(f *rawvideo.Frame) (err error) {
	if win.closed {
		return errors.New("preview: window closed")
	}
	if f == nil || f.Width != win.w || f.Height != win.h || f.Stride < 3*f.Width || len(f.Pix) < (f.Height-1)*f.Stride+3*f.Width {
		return fmt.Errorf("preview: frame %d: %s, want %dx%d rgb24", seq(f), describe(f), win.w, win.h)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("preview: frame %d: GLFW: %v", f.Seq, p)
		}
	}()
	glfw.PollEvents()
	if win.win.ShouldClose() {
		return nil
	}
	ogl.BindTexture(ogl.TEXTURE_2D, win.tex)
	ogl.PixelStorei(ogl.UNPACK_ROW_LENGTH, int32(f.Stride/3))
	ogl.TexSubImage2D(ogl.TEXTURE_2D, 0, 0, 0, int32(win.w), int32(win.h), ogl.RGB, ogl.UNSIGNED_BYTE, ogl.Ptr(&f.Pix[0]))
	fw, fh := win.win.GetFramebufferSize()
	x0, y0, dw, dh := fit(win.w, win.h, fw, fh)
	ogl.BindFramebuffer(ogl.DRAW_FRAMEBUFFER, 0)
	ogl.Viewport(0, 0, int32(fw), int32(fh))
	ogl.Clear(ogl.COLOR_BUFFER_BIT)
	ogl.BindFramebuffer(ogl.READ_FRAMEBUFFER, win.fbo)
	// The texture's row 0 is the frame's top row; the window's row 0 is its bottom: flip.
	ogl.BlitFramebuffer(0, 0, int32(win.w), int32(win.h), int32(x0), int32(y0+dh), int32(x0+dw), int32(y0),
		ogl.COLOR_BUFFER_BIT, ogl.LINEAR)
	if e := ogl.GetError(); e != ogl.NO_ERROR {
		return fmt.Errorf("preview: frame %d: OpenGL error 0x%x drawing it", f.Seq, e)
	}
	win.win.SwapBuffers()
	win.shown++
	return nil
}

func seq(f *rawvideo.Frame) int64 {
	if f == nil {
		return -1
	}
	return f.Seq
}

func describe(f *rawvideo.Frame) string {
	if f == nil {
		return "nil frame"
	}
	return fmt.Sprintf("%dx%d, stride %d, %d bytes", f.Width, f.Height, f.Stride, len(f.Pix))
}

// Poll handles pending window events (moves, resizes, the close button) without drawing;
// call it while waiting for frames so that the window stays responsive.
func (win *Window) Poll() {
	if win.closed {
		return
	}
	defer func() { recover() }() // an event error is not worth stopping a pipeline for
	glfw.PollEvents()
}

// Closed reports whether the user has asked to close the window (its close button); Show does
// nothing from then on.
func (win *Window) Closed() bool { return win.closed || win.win.ShouldClose() }

// Shown returns how many frames Show has drawn.
func (win *Window) Shown() int64 { return win.shown }

// Close closes the window and shuts GLFW down. A second call does nothing.
func (win *Window) Close() {
	if win.closed {
		return
	}
	win.closed = true
	defer func() { recover() }()
	ogl.DeleteFramebuffers(1, &win.fbo)
	ogl.DeleteTextures(1, &win.tex)
	win.win.Destroy()
	glfw.Terminate()
}
