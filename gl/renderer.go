//go:build cgo

package gl

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	ogl "github.com/go-gl/gl/v3.3-core/gl"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// glInit loads the OpenGL function pointers once per process, after the first context is
// current. The pointers eglGetProcAddress returns are dispatch stubs valid for every context.
var glInit struct {
	once sync.Once
	err  error
}

// Renderer draws meshes over frames with its own OpenGL context on its own locked OS thread.
// All its methods are safe to call from any goroutine; renders run one at a time. Call Close
// when done with it.
type Renderer struct {
	t       *thread
	name    string
	version string // GL_VERSION

	faces       []uint32 // copy of the faces given to NewRenderer
	vertexCount int
	surf        surface // whether back faces may be culled, from the faces alone
	noCull      bool    // tests: never cull

	// The fields below belong to the locked thread.
	egl                 eglContext
	prog, vao, vbo, ebo uint32
	// drawFBO is what the meshes are drawn into: multisampled colour and depth renderbuffers
	// (samples of them) when the driver has multisampling, else single-sample ones. With
	// multisampling, the drawn region is resolved (glBlitFramebuffer) into readFBO's
	// single-sample colour renderbuffer and read from there; without, readFBO == drawFBO.
	drawFBO, drawColor, drawDepth uint32
	readFBO, readColor            uint32
	samples                       int // samples per pixel of drawFBO; 1: no multisampling
	uProj, uColor                 int32
	fbW, fbH                      int       // current framebuffer size, 0 before the first frame
	vboBytes                      int       // current size of vbo's data store
	verts                         []float32 // interleaved position+normal, 6 floats a vertex, all meshes
	acc                           []float32 // normal accumulators, 3 floats a vertex
	pixels                        []byte    // RGBA read-back
	rects                         []rect    // the frame's regions (see regions)
	front                         []uint32  // per mesh of the frame: GL_CW or GL_CCW to cull back faces, or cullNone
	proj                          [16]float32
	req                           request // the frame being rendered, set under t's lock
	renderFn, destroyFn           func() error
}

// cullNone marks a mesh drawn with both sides (not a closed surface in this frame).
const cullNone = 0

type request struct {
	f      *rawvideo.Frame
	cam    Camera
	meshes []Mesh
	alpha  float32
}

// NewRenderer starts one worker goroutine locked to its OS thread for life, creates an OpenGL
// 3.3 core EGL context on it (surfaceless; the drawing goes to an offscreen framebuffer) and
// uploads faces once. faces holds triangles as triples of vertex indices (len a non-zero
// multiple of 3, every index below vertexCount); all meshes drawn by this renderer share them
// and have vertexCount vertices. Winding does not matter. Where the faces wind consistently
// and close up (SMPL's do; so do the mannequin's, whose caps end in rings of coincident
// vertices), Render skips each mesh's back faces, which cannot show.
//
// Edges are antialiased with DefaultSamples samples a pixel; NewRendererOptions sets another
// count. It returns an error, never panics, when the arguments are invalid or EGL/OpenGL is
// unusable; the error says which step failed on which EGL platform.
func NewRenderer(faces []uint32, vertexCount int) (*Renderer, error) {
	return NewRendererOptions(faces, vertexCount, Options{})
}

// NewRendererOptions is NewRenderer with settings other than the defaults (see Options).
func NewRendererOptions(faces []uint32, vertexCount int, o Options) (*Renderer, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if vertexCount <= 0 || vertexCount > 1<<24 {
		return nil, fmt.Errorf("gl: vertex count %d: must be in 1..%d", vertexCount, 1<<24)
	}
	if len(faces) == 0 || len(faces)%3 != 0 {
		return nil, fmt.Errorf("gl: %d face indices: need a non-zero multiple of 3", len(faces))
	}
	for i, v := range faces {
		if int64(v) >= int64(vertexCount) {
			return nil, fmt.Errorf("gl: face %d: vertex index %d is not below the vertex count %d", i/3, v, vertexCount)
		}
	}
	r := &Renderer{faces: append([]uint32(nil), faces...), vertexCount: vertexCount, surf: analyseSurface(faces), samples: o.samples()}
	r.renderFn, r.destroyFn = r.render, r.destroy
	t, err := startThread(r.setup)
	if err != nil {
		return nil, err
	}
	r.t = t
	return r, nil
}

// setup runs on the locked thread: context, GL function pointers, program, buffers.
func (r *Renderer) setup() (err error) {
	r.egl, err = newContext()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.destroy()
		}
	}()
	glInit.once.Do(func() {
		if e := ogl.InitWithProcAddrFunc(eglProcAddress); e != nil {
			glInit.err = fmt.Errorf("gl: loading OpenGL functions through eglGetProcAddress: %w", e)
		}
	})
	if glInit.err != nil {
		return glInit.err
	}
	r.name = fmt.Sprintf("%s (%s)", ogl.GoStr(ogl.GetString(ogl.RENDERER)), r.egl.platform)
	r.version = ogl.GoStr(ogl.GetString(ogl.VERSION))

	r.prog, err = buildProgram(vertexShader, fragmentShader())
	if err != nil {
		return err
	}
	r.uProj = ogl.GetUniformLocation(r.prog, ogl.Str("uProj\x00"))
	r.uColor = ogl.GetUniformLocation(r.prog, ogl.Str("uColor\x00"))

	ogl.GenVertexArrays(1, &r.vao)
	ogl.BindVertexArray(r.vao)
	ogl.GenBuffers(1, &r.vbo)
	ogl.BindBuffer(ogl.ARRAY_BUFFER, r.vbo)
	ogl.GenBuffers(1, &r.ebo)
	ogl.BindBuffer(ogl.ELEMENT_ARRAY_BUFFER, r.ebo)
	ogl.BufferData(ogl.ELEMENT_ARRAY_BUFFER, 4*len(r.faces), ogl.Ptr(&r.faces[0]), ogl.STATIC_DRAW)
	ogl.EnableVertexAttribArray(0)
	ogl.VertexAttribPointerWithOffset(0, 3, ogl.FLOAT, false, 24, 0)
	ogl.EnableVertexAttribArray(1)
	ogl.VertexAttribPointerWithOffset(1, 3, ogl.FLOAT, false, 24, 12)

	var maxSamples int32
	ogl.GetIntegerv(ogl.MAX_SAMPLES, &maxSamples)
	r.samples = max(1, min(r.samples, int(maxSamples)))
	ogl.GenFramebuffers(1, &r.drawFBO)
	ogl.GenRenderbuffers(1, &r.drawColor)
	ogl.GenRenderbuffers(1, &r.drawDepth)
	r.readFBO, r.readColor = r.drawFBO, r.drawColor
	if r.samples > 1 {
		ogl.GenFramebuffers(1, &r.readFBO)
		ogl.GenRenderbuffers(1, &r.readColor)
	}

	ogl.UseProgram(r.prog)
	ogl.Enable(ogl.DEPTH_TEST)
	ogl.DepthFunc(ogl.LESS)
	ogl.Disable(ogl.CULL_FACE)
	ogl.CullFace(ogl.BACK)
	ogl.Disable(ogl.BLEND)
	ogl.Disable(ogl.DITHER)
	ogl.PixelStorei(ogl.PACK_ALIGNMENT, 1)
	ogl.ClearColor(0, 0, 0, 0)
	ogl.ClearDepth(1)
	return glError("setting up")
}

// Render draws all meshes of one frame into one depth buffer, so that nearer surfaces hide
// farther ones whatever the order of meshes, each in its Color, with smooth per-vertex normals
// (computed from the faces every frame, turned toward the camera, so winding does not matter)
// and simple shading: ambient 0.3 plus three white directional lights 30 degrees off the view
// axis, like 4D-Humans' pyrender set-up, scaled so that a surface facing the camera shows
// exactly its base colour. Edges are antialiased by multisampling (Samples() samples a
// pixel; the samples are resolved to one colour and a coverage c in [0, 1] per pixel). It then
// blends the result over f in place:
// out = frame*(1 - c*alpha) + shaded*c*alpha (8.8 fixed point, rounded), so a pixel wholly
// inside the meshes gets frame*(1-alpha) + shaded*alpha, and pixels no sample of which a mesh
// covers (c = 0) are left byte-for-byte unchanged. alpha is clamped to [0, 1] (NaN is an
// error); at 0, or with no meshes, f is not touched.
//
// cam projects the camera-frame vertices (metres) to f's pixels as Camera describes. f must be
// rgb24 as rawvideo.Frame documents; every mesh must have 3*vertexCount coordinates.
//
// Per frame, only the vertex positions and normals go to the GL (one buffer for all meshes;
// the faces were uploaded once), and only the pixel rectangles the meshes can reach are
// cleared, resolved, read back and blended: one around each group of people within 16 pixels
// of each other. Back faces of closed meshes are skipped (see NewRenderer). The read-back is
// synchronous: Render returns a finished frame, and the overlap of drawing with reading back
// comes from running several Renderers (meshpipe's render workers) side by side.
//
// Render is safe to call from any goroutine: the work runs on the renderer's locked thread,
// one frame at a time, and a panic there comes back as an error. The framebuffers are
// reallocated when the frame size changes and reused otherwise. It returns ErrClosed (wrapped)
// after Close, and an error naming the frame (f.Seq) when the input is invalid or GL fails.
func (r *Renderer) Render(f *rawvideo.Frame, cam Camera, meshes []Mesh, alpha float32) error {
	if err := r.check(f, cam, meshes, alpha); err != nil {
		return err
	}
	if err := r.t.acquire(context.Background()); err != nil {
		return err
	}
	defer r.t.release()
	if r.t.closed {
		return fmt.Errorf("gl: render frame %d: %w", f.Seq, ErrClosed)
	}
	alpha = min(max(alpha, 0), 1)
	if len(meshes) == 0 || alpha == 0 {
		return nil
	}
	r.req = request{f: f, cam: cam, meshes: meshes, alpha: alpha}
	err := r.t.call(r.renderFn)
	r.req = request{}
	if err != nil {
		return fmt.Errorf("gl: render frame %d: %w", f.Seq, err)
	}
	return nil
}

func (r *Renderer) check(f *rawvideo.Frame, cam Camera, meshes []Mesh, alpha float32) error {
	if f == nil {
		return fmt.Errorf("gl: render: nil frame")
	}
	if f.Width <= 0 || f.Height <= 0 || f.Stride < rawvideo.BytesPerPixel*f.Width ||
		len(f.Pix) < (f.Height-1)*f.Stride+rawvideo.BytesPerPixel*f.Width {
		return fmt.Errorf("gl: render frame %d: bad frame: %dx%d, stride %d, %d bytes",
			f.Seq, f.Width, f.Height, f.Stride, len(f.Pix))
	}
	if !(cam.Focal > 0) || !finite(cam.Focal) || !finite(cam.CX) || !finite(cam.CY) {
		return fmt.Errorf("gl: render frame %d: bad camera %+v: focal must be positive, all finite", f.Seq, cam)
	}
	if alpha != alpha {
		return fmt.Errorf("gl: render frame %d: alpha is NaN", f.Seq)
	}
	for i, m := range meshes {
		if len(m.Vertices) != 3*r.vertexCount {
			return fmt.Errorf("gl: render frame %d: mesh %d has %d coordinates, want %d (3 x %d vertices)",
				f.Seq, i, len(m.Vertices), 3*r.vertexCount, r.vertexCount)
		}
	}
	return nil
}

func finite(x float32) bool { return x == x && x-x == 0 }

// render runs on the locked thread with r.req set.
func (r *Renderer) render() error {
	q := &r.req
	w, h := q.f.Width, q.f.Height
	if err := r.ensureFramebuffer(w, h); err != nil {
		return err
	}
	r.rects = regions(r.rects[:0], q.cam, w, h, q.meshes)
	if len(r.rects) == 0 {
		return nil // nothing can land on the frame
	}
	all := r.rects[0]
	for _, b := range r.rects[1:] {
		all = all.union(b)
	}

	// Positions and normals of every mesh into one buffer, uploaded at once.
	nv := r.vertexCount
	need := 6 * nv * len(q.meshes)
	if cap(r.verts) < need {
		r.verts = make([]float32, need)
	}
	r.verts = r.verts[:need]
	if len(r.acc) != 3*nv {
		r.acc = make([]float32, 3*nv)
	}
	if cap(r.front) < len(q.meshes) {
		r.front = make([]uint32, len(q.meshes))
	}
	r.front = r.front[:len(q.meshes)]
	for i, m := range q.meshes {
		v6 := vertexNormals(r.verts[6*nv*i:6*nv*(i+1)], r.acc, m.Vertices, r.faces)
		r.front[i] = cullNone
		if !r.noCull && r.surf.closed(m.Vertices) && math.Abs(v6) > 1e-12 {
			// Outward normals (v6 > 0) wind counter-clockwise seen from outside, so the faces
			// toward the camera wind clockwise in GL's window coordinates, whose y axis is the
			// image's v (down): the projection keeps image rows in GL's row order.
			r.front[i] = ogl.CW
			if v6 < 0 {
				r.front[i] = ogl.CCW
			}
		}
	}
	ogl.BindBuffer(ogl.ARRAY_BUFFER, r.vbo)
	if 4*need > r.vboBytes {
		ogl.BufferData(ogl.ARRAY_BUFFER, 4*need, ogl.Ptr(&r.verts[0]), ogl.DYNAMIC_DRAW)
		r.vboBytes = 4 * need
	} else {
		ogl.BufferSubData(ogl.ARRAY_BUFFER, 0, 4*need, ogl.Ptr(&r.verts[0]))
	}

	// Only the parts of the framebuffer the meshes can reach are cleared, drawn, resolved and
	// read: the scissor rectangle bounds all of them (glClear and glBlitFramebuffer included).
	ogl.BindFramebuffer(ogl.FRAMEBUFFER, r.drawFBO)
	ogl.Enable(ogl.SCISSOR_TEST)
	for _, b := range r.rects {
		b.scissor()
		ogl.Clear(ogl.COLOR_BUFFER_BIT | ogl.DEPTH_BUFFER_BIT)
	}
	// Each mesh draws only inside its own rectangle, so one scissor around all is enough.
	all.scissor()
	r.proj = projection(q.cam, w, h) // a field: a local would escape to the heap through cgo
	ogl.UniformMatrix4fv(r.uProj, 1, false, &r.proj[0])
	for i, m := range q.meshes {
		// A closed surface's back faces all lie behind its front faces: skipping them halves
		// the triangles rasterised and changes no pixel.
		if r.front[i] == cullNone {
			ogl.Disable(ogl.CULL_FACE)
		} else {
			ogl.Enable(ogl.CULL_FACE)
			ogl.FrontFace(r.front[i])
		}
		ogl.Uniform3f(r.uColor, m.Color[0], m.Color[1], m.Color[2])
		ogl.DrawElementsBaseVertexWithOffset(ogl.TRIANGLES, int32(len(r.faces)), ogl.UNSIGNED_INT, 0, int32(i*nv))
	}
	for _, b := range r.rects {
		b.scissor()
		if r.readFBO != r.drawFBO {
			// Multisample resolve: each pixel gets the mean of its samples. Samples no mesh
			// covers hold the clear colour (0, 0, 0, 0), so the result is premultiplied by
			// coverage.
			ogl.BindFramebuffer(ogl.READ_FRAMEBUFFER, r.drawFBO)
			ogl.BindFramebuffer(ogl.DRAW_FRAMEBUFFER, r.readFBO)
			ogl.BlitFramebuffer(int32(b.x0), int32(b.y0), int32(b.x1), int32(b.y1), int32(b.x0), int32(b.y0), int32(b.x1), int32(b.y1),
				ogl.COLOR_BUFFER_BIT, ogl.NEAREST)
			ogl.BindFramebuffer(ogl.READ_FRAMEBUFFER, r.readFBO)
		}
		rw, rh := b.x1-b.x0, b.y1-b.y0
		n := 4 * rw * rh
		if cap(r.pixels) < n {
			r.pixels = make([]byte, n)
		}
		r.pixels = r.pixels[:n]
		ogl.ReadPixels(int32(b.x0), int32(b.y0), int32(rw), int32(rh), ogl.RGBA, ogl.UNSIGNED_BYTE, ogl.Ptr(&r.pixels[0]))
		if err := glError("drawing"); err != nil {
			return err
		}
		composite(q.f.Pix, q.f.Stride, b.x0, b.y0, r.pixels, rw, rh, q.alpha)
	}
	return nil
}

// scissor sets the GL scissor box to b (window coordinates are image coordinates here: the
// projection keeps image rows in GL's row order).
func (b rect) scissor() {
	ogl.Scissor(int32(b.x0), int32(b.y0), int32(b.x1-b.x0), int32(b.y1-b.y0))
}

// ensureFramebuffer (re)allocates the renderbuffers for a w x h frame: colour and depth of
// drawFBO (multisampled when r.samples > 1) and the resolve target of readFBO.
func (r *Renderer) ensureFramebuffer(w, h int) error {
	if w == r.fbW && h == r.fbH {
		return nil
	}
	var maxSize int32
	ogl.GetIntegerv(ogl.MAX_RENDERBUFFER_SIZE, &maxSize)
	if w > int(maxSize) || h > int(maxSize) {
		return fmt.Errorf("frame %dx%d is larger than GL_MAX_RENDERBUFFER_SIZE %d", w, h, maxSize)
	}
	r.fbW, r.fbH = 0, 0
	storage := func(rb uint32, samples int, format uint32) {
		ogl.BindRenderbuffer(ogl.RENDERBUFFER, rb)
		if samples > 1 {
			ogl.RenderbufferStorageMultisample(ogl.RENDERBUFFER, int32(samples), format, int32(w), int32(h))
		} else {
			ogl.RenderbufferStorage(ogl.RENDERBUFFER, format, int32(w), int32(h))
		}
	}
	ogl.BindFramebuffer(ogl.FRAMEBUFFER, r.drawFBO)
	storage(r.drawColor, r.samples, ogl.RGBA8)
	ogl.FramebufferRenderbuffer(ogl.FRAMEBUFFER, ogl.COLOR_ATTACHMENT0, ogl.RENDERBUFFER, r.drawColor)
	storage(r.drawDepth, r.samples, ogl.DEPTH_COMPONENT24)
	ogl.FramebufferRenderbuffer(ogl.FRAMEBUFFER, ogl.DEPTH_ATTACHMENT, ogl.RENDERBUFFER, r.drawDepth)
	if s := ogl.CheckFramebufferStatus(ogl.FRAMEBUFFER); s != ogl.FRAMEBUFFER_COMPLETE {
		return fmt.Errorf("%d-sample framebuffer %dx%d incomplete (status 0x%x)", r.samples, w, h, s)
	}
	ogl.DrawBuffer(ogl.COLOR_ATTACHMENT0)
	ogl.ReadBuffer(ogl.COLOR_ATTACHMENT0)
	if r.readFBO != r.drawFBO {
		ogl.BindFramebuffer(ogl.FRAMEBUFFER, r.readFBO)
		storage(r.readColor, 1, ogl.RGBA8)
		ogl.FramebufferRenderbuffer(ogl.FRAMEBUFFER, ogl.COLOR_ATTACHMENT0, ogl.RENDERBUFFER, r.readColor)
		if s := ogl.CheckFramebufferStatus(ogl.FRAMEBUFFER); s != ogl.FRAMEBUFFER_COMPLETE {
			return fmt.Errorf("resolve framebuffer %dx%d incomplete (status 0x%x)", w, h, s)
		}
		ogl.DrawBuffer(ogl.COLOR_ATTACHMENT0)
		ogl.ReadBuffer(ogl.COLOR_ATTACHMENT0)
	}
	ogl.Viewport(0, 0, int32(w), int32(h))
	if err := glError(fmt.Sprintf("allocating a %dx%d framebuffer", w, h)); err != nil {
		return err
	}
	r.fbW, r.fbH = w, h
	return nil
}

// Samples returns the samples per pixel the renderer draws with: the count asked for (see
// Options), at most the driver's GL_MAX_SAMPLES (4 on Mesa's llvmpipe); 1 means no
// multisampling.
func (r *Renderer) Samples() int { return r.samples }

// Name returns the OpenGL renderer string (GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256
// bits)") followed, in parentheses, by the EGL platform and version in use.
func (r *Renderer) Name() string { return r.name }

// Version returns the OpenGL version string of the context (GL_VERSION, e.g. "4.5 (Core
// Profile) Mesa 22.3.6").
func (r *Renderer) Version() string { return r.version }

// Close deletes the GL objects, destroys the context and ends the worker goroutine (and its OS
// thread). It waits for a Render in progress to finish. Calling it again does nothing and
// returns nil. The process's EGL display stays initialised for later renderers.
func (r *Renderer) Close() error {
	return r.t.stop(r.destroyFn)
}

// destroy runs on the locked thread.
func (r *Renderer) destroy() error {
	if r.egl.ctx == nil {
		return nil
	}
	if glInit.err == nil && r.prog != 0 {
		if r.readFBO != r.drawFBO {
			ogl.DeleteFramebuffers(1, &r.readFBO)
			ogl.DeleteRenderbuffers(1, &r.readColor)
		}
		ogl.DeleteFramebuffers(1, &r.drawFBO)
		ogl.DeleteRenderbuffers(1, &r.drawColor)
		ogl.DeleteRenderbuffers(1, &r.drawDepth)
		ogl.DeleteBuffers(1, &r.vbo)
		ogl.DeleteBuffers(1, &r.ebo)
		ogl.DeleteVertexArrays(1, &r.vao)
		ogl.DeleteProgram(r.prog)
		ogl.Finish()
	}
	r.egl.destroy()
	r.verts, r.acc, r.pixels = nil, nil, nil
	return nil
}

// glError returns the pending OpenGL errors, if any, as one error.
func glError(during string) error {
	var codes []string
	for i := 0; i < 8; i++ {
		e := ogl.GetError()
		if e == ogl.NO_ERROR {
			break
		}
		codes = append(codes, glErrorName(e))
	}
	if len(codes) == 0 {
		return nil
	}
	return fmt.Errorf("OpenGL error while %s: %s", during, strings.Join(codes, ", "))
}

func glErrorName(e uint32) string {
	switch e {
	case ogl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case ogl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case ogl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case ogl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	case ogl.OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY"
	}
	return fmt.Sprintf("GL error 0x%x", e)
}

const vertexShader = `#version 330 core
layout(location = 0) in vec3 aPos;
layout(location = 1) in vec3 aNormal;
uniform mat4 uProj;
out vec3 vPos;
out vec3 vNormal;
void main() {
	vPos = aPos;
	vNormal = aNormal;
	gl_Position = uProj * vec4(aPos, 1.0);
}
`

// fragmentShader mirrors shade: the normal is turned toward the viewer, then lit.
func fragmentShader() string {
	l := lightDirs
	return fmt.Sprintf(`#version 330 core
in vec3 vPos;
in vec3 vNormal;
uniform vec3 uColor;
out vec4 fragColor;
void main() {
	vec3 v = normalize(-vPos);
	float nl = length(vNormal);
	vec3 n = nl > 1e-12 ? vNormal / nl : v;
	if (dot(n, v) < 0.0) n = -n;
	float d = %g
		+ %g * max(dot(n, vec3(%g, %g, %g)), 0.0)
		+ %g * max(dot(n, vec3(%g, %g, %g)), 0.0)
		+ %g * max(dot(n, vec3(%g, %g, %g)), 0.0);
	fragColor = vec4(clamp(uColor * d, 0.0, 1.0), 1.0);
}
`, float32(ambient),
		float32(lightGain), l[0][0], l[0][1], l[0][2],
		float32(lightGain), l[1][0], l[1][1], l[1][2],
		float32(lightGain), l[2][0], l[2][1], l[2][2])
}

func buildProgram(vs, fs string) (uint32, error) {
	v, err := compileShader(ogl.VERTEX_SHADER, vs)
	if err != nil {
		return 0, fmt.Errorf("vertex shader: %w", err)
	}
	defer ogl.DeleteShader(v)
	f, err := compileShader(ogl.FRAGMENT_SHADER, fs)
	if err != nil {
		return 0, fmt.Errorf("fragment shader: %w", err)
	}
	defer ogl.DeleteShader(f)
	p := ogl.CreateProgram()
	ogl.AttachShader(p, v)
	ogl.AttachShader(p, f)
	ogl.LinkProgram(p)
	var ok int32
	ogl.GetProgramiv(p, ogl.LINK_STATUS, &ok)
	if ok == ogl.FALSE {
		var n int32
		ogl.GetProgramiv(p, ogl.INFO_LOG_LENGTH, &n)
		log := make([]byte, n+1)
		ogl.GetProgramInfoLog(p, n, nil, &log[0])
		ogl.DeleteProgram(p)
		return 0, fmt.Errorf("gl: linking the shader program: %s", strings.TrimRight(string(log), "\x00"))
	}
	return p, nil
}

func compileShader(kind uint32, src string) (uint32, error) {
	s := ogl.CreateShader(kind)
	cs, free := ogl.Strs(src + "\x00")
	ogl.ShaderSource(s, 1, cs, nil)
	free()
	ogl.CompileShader(s)
	var ok int32
	ogl.GetShaderiv(s, ogl.COMPILE_STATUS, &ok)
	if ok == ogl.FALSE {
		var n int32
		ogl.GetShaderiv(s, ogl.INFO_LOG_LENGTH, &n)
		log := make([]byte, n+1)
		ogl.GetShaderInfoLog(s, n, nil, &log[0])
		ogl.DeleteShader(s)
		return 0, fmt.Errorf("gl: compiling: %s", strings.TrimRight(string(log), "\x00"))
	}
	return s, nil
}
