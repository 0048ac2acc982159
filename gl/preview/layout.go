package preview

// Largest window Open makes for a frame, in screen pixels; larger frames are shown scaled down.
const (
	maxWindowW = 1280
	maxWindowH = 720
)

// windowSize returns the window size for w x h frames: the frame size, scaled down to fit
// maxWindowW x maxWindowH with the aspect ratio kept (at least 1 x 1).
func windowSize(w, h int) (int, int) {
	if w <= maxWindowW && h <= maxWindowH {
		return w, h
	}
	s := min(float64(maxWindowW)/float64(w), float64(maxWindowH)/float64(h))
	return max(1, int(float64(w)*s+0.5)), max(1, int(float64(h)*s+0.5))
}

// fit returns where a w x h frame goes in a fw x fh framebuffer: the largest rectangle of the
// frame's aspect ratio, centred, as x0, y0, width, height in framebuffer pixels.
func fit(w, h, fw, fh int) (x0, y0, dw, dh int) {
	if fw*h <= fh*w { // framebuffer relatively narrower: full width
		dw, dh = fw, max(1, (fw*h+w/2)/w)
	} else {
		dw, dh = max(1, (fh*w+h/2)/h), fh
	}
	return (fw - dw) / 2, (fh - dh) / 2, dw, dh
}
