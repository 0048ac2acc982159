package gl

import "strings"

// DefaultWorkers returns how many render workers (Renderers drawing frames side by side, each
// with its own context) suit the OpenGL renderer named rendererName, as Renderer.Name gives it
// (GL_RENDERER, then the EGL platform): 2 for a software rasteriser (Mesa's llvmpipe, softpipe
// or swrast, or an EGL device marked "software"), 4 otherwise (a GPU, or a name it does not
// know). Call it with the first renderer's name, then make that many.
//
// On a software rasteriser the render workers share the CPU with everything else, and llvmpipe
// already rasterises each context on a thread per core (LP_NUM_THREADS), so beyond two
// contexts more workers only add threads contending for the cores. make bench's scaling
// section (scripts/bench -sections scaling -model none: 1280x720 frames of vtest.avi, about 4
// people a frame, the stand-in pose model, 4x multisampling, the fastest of 3 rounds each) on
// the development machine (2 cores, AMD EPYC; llvmpipe, LLVM 15.0.6, Mesa 22.3.6), in one run
// under load (load average 7.9 to 9.6), gave 21.0 fps with 1 worker, 26.4 with 2 (1.26x of 1)
// and 23.2 with 4 (1.10x of 1, 0.88x of 2); the README's earlier run on a quieter machine gave
// 60.8, 63.6 (1.05x) and 53.8 (0.88x), and an earlier run under heavier load 0.65x for 4
// against 1. Two was the fastest every time. On a GPU the workers overlap the GPU's drawing
// with the CPU's read-back and compositing, so the design's four stay.
func DefaultWorkers(rendererName string) int {
	if SoftwareRenderer(rendererName) {
		return 2
	}
	return 4
}

// SoftwareRenderer reports whether rendererName (Renderer.Name) names a renderer that draws on
// the CPU: Mesa's llvmpipe, softpipe or swrast ("Software Rasterizer"), or an EGL device that
// Mesa marks "(software)". Case is ignored.
func SoftwareRenderer(rendererName string) bool {
	name := strings.ToLower(rendererName)
	for _, s := range []string{"llvmpipe", "softpipe", "swrast", "software"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
