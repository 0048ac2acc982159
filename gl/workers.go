package gl

import "strings"

// DefaultWorkers returns how many render workers (Renderers drawing frames side by side, each
// with its own context) suit the OpenGL renderer named rendererName, as Renderer.Name gives it
// (GL_RENDERER, then the EGL platform): 1 for a software rasteriser (Mesa's llvmpipe, softpipe
// or swrast, or an EGL device marked "software"), 4 otherwise (a GPU, or a name it does not
// know). Call it with the first renderer's name, then make that many.
//
// On a software rasteriser the render workers share the CPU with everything else, and llvmpipe
// already rasterises each context on a thread per core (LP_NUM_THREADS), so more contexts
// mostly add threads contending for the same cores: each worker more costs CPU per frame. make
// bench's scaling section (scripts/bench -sections scaling -model none: 1280x720 frames of
// vtest.avi, about 4 people a frame, the stand-in pose model, 4x multisampling, the fastest of
// the rounds each) on the development machine (2 cores, AMD EPYC; llvmpipe, LLVM 15.0.6, Mesa
// 22.3.6, shared with other work), three runs of 1, 2 and 4 workers side by side:
//
//	run (load average)       1 worker        2 workers              4 workers
//	5 rounds (16 to 25)      17.2 fps        14.9 fps (0.87x)       13.2 fps (0.77x)
//	3 rounds (14 to 19)      18.1 fps        16.7 fps (0.92x)       14.1 fps (0.78x)
//	3 rounds (8 to 10)       21.0 fps        26.4 fps (1.26x)       23.2 fps (1.10x)
//
// with CPU per frame 43.1, 44.2 and 45.4 ms (5-round run), lowest with one worker in every
// run. One worker was the fastest in two runs of three, and issue 15 measured 4 workers at
// 0.65x the speed of 1 under load; the README's earlier run on a quieter machine had 2 at 1.05x
// and 4 at 0.88x of 1. On a GPU the workers overlap the GPU's drawing with the CPU's read-back
// and compositing, so the design's four stay.
func DefaultWorkers(rendererName string) int {
	if SoftwareRenderer(rendererName) {
		return 1
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
