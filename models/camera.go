package models

import "github.com/meshpipe/meshpipe/human"

// CropSize is the side in pixels of the square crop HMR2 takes (input `img` [B,3,256,256]).
const CropSize = 256

// hmr2Focal is HMR2's focal length for a 256-pixel crop: 5000 px (4D-Humans config
// EXTRA.FOCAL_LENGTH = 5000, MODEL.IMAGE_SIZE = 256).
const hmr2Focal = 5000

// Camera is the pinhole camera of the pose-model contract (docs/design.md): focal length and
// principal point in pixels. The image frame has x right and y down; the camera frame has
// x right, y down and z forward, in metres.
type Camera struct {
	Focal, CX, CY float32
}

// NewCamera returns the contract's camera for a w x h image: f = 5000/256 * max(w, h), the
// principal point at the image centre (w/2, h/2). This is 4D-Humans' scaled_focal_length
// (demo.py: FOCAL_LENGTH / IMAGE_SIZE * max(img_size)).
func NewCamera(w, h int) Camera {
	return Camera{
		Focal: float32(hmr2Focal) / CropSize * float32(max(w, h)),
		CX:    float32(w) / 2,
		CY:    float32(h) / 2,
	}
}

// Project returns the pixel (u, v) where camera-frame point p (metres, z > 0) lands:
// u = f*x/z + cx, v = f*y/z + cy.
func (c Camera) Project(p [3]float32) (u, v float32) {
	return c.Focal*p[0]/p[2] + c.CX, c.Focal*p[1]/p[2] + c.CY
}

// Window is the square image region that becomes one 256x256 crop: centre (CX, CY) and side
// Side, in pixels of the frame.
type Window struct {
	CX, CY, Side float32
}

// WindowOf returns the crop window of a person box: centred on the box, widened to a 3:4
// (w:h) window, side b = max(h, 4w/3) (docs/design.md's crop; 4D-Humans expand_to_aspect_ratio
// with the 192x256 ViT window).
func WindowOf(b human.Box) Window {
	return Window{
		CX:   (b.X1 + b.X2) / 2,
		CY:   (b.Y1 + b.Y2) / 2,
		Side: max(b.Height(), b.Width()*4/3),
	}
}

// Translation converts HMR2's crop camera pred_cam = (s, tx, ty) into the camera translation
// T in metres for the full image (4D-Humans cam_crop_to_full): with bs = Side*s,
// T = (tx + 2(cx - W/2)/bs, ty + 2(cy - H/2)/bs, 2f/bs), where (W/2, H/2) is cam's principal
// point. A model-frame vertex X is then drawn at cam.Project(X + T). s must be positive;
// a non-positive s gives a non-finite or negative depth, which callers must reject.
func (c Camera) Translation(predCam [3]float32, w Window) [3]float32 {
	bs := w.Side * predCam[0]
	return [3]float32{
		predCam[1] + 2*(w.CX-c.CX)/bs,
		predCam[2] + 2*(w.CY-c.CY)/bs,
		2 * c.Focal / bs,
	}
}
