package models

import "github.com/meshpipe/meshpipe/rawvideo"

// ImageNet normalisation that HMR2 was trained with (4D-Humans config MODEL.IMAGE_MEAN and
// MODEL.IMAGE_STD, given there in 0..255 units): each channel becomes (x/255 - mean)/std.
var (
	imageMean = [3]float32{0.485, 0.456, 0.406}
	imageStd  = [3]float32{0.229, 0.224, 0.225}
)

// CropInto writes the crop of window w of frame f into dst, which must hold 3*256*256 values,
// in the contract's layout: channel-major RGB ([3,256,256]), each channel normalised as
// (x/255 - mean)/std with ImageNet's mean and std. Crop pixel (i, j) samples the frame
// bilinearly at its centre's position in the window; samples outside the frame are black
// (which normalises to -mean/std).
func CropInto(dst []float32, f *rawvideo.Frame, w Window) {
	const n = CropSize
	scale := w.Side / n
	x0 := w.CX - w.Side/2
	y0 := w.CY - w.Side/2
	var bias, gain [3]float32
	for c := 0; c < 3; c++ {
		gain[c] = 1 / (255 * imageStd[c])
		bias[c] = -imageMean[c] / imageStd[c]
	}
	for j := 0; j < n; j++ {
		// Pixel centres: crop (j + 0.5) maps to frame y0 + (j+0.5)*scale, whose sample grid
		// is offset by half a pixel.
		sy := y0 + (float32(j)+0.5)*scale - 0.5
		for i := 0; i < n; i++ {
			sx := x0 + (float32(i)+0.5)*scale - 0.5
			r, g, b := sampleRGB(f, sx, sy)
			k := j*n + i
			dst[k] = r*gain[0] + bias[0]
			dst[n*n+k] = g*gain[1] + bias[1]
			dst[2*n*n+k] = b*gain[2] + bias[2]
		}
	}
}

// sampleRGB samples f at (x, y) in pixel-index coordinates (pixel centres at integers),
// treating everything outside the frame as black.
func sampleRGB(f *rawvideo.Frame, x, y float32) (r, g, b float32) {
	fx, fy := floor(x), floor(y)
	ax, ay := x-float32(fx), y-float32(fy)
	for dy := 0; dy < 2; dy++ {
		yy := fy + dy
		if yy < 0 || yy >= f.Height {
			continue
		}
		wy := ay
		if dy == 0 {
			wy = 1 - ay
		}
		for dx := 0; dx < 2; dx++ {
			xx := fx + dx
			if xx < 0 || xx >= f.Width {
				continue
			}
			wx := ax
			if dx == 0 {
				wx = 1 - ax
			}
			wgt := wx * wy
			p := f.Pix[yy*f.Stride+xx*3:]
			r += wgt * float32(p[0])
			g += wgt * float32(p[1])
			b += wgt * float32(p[2])
		}
	}
	return r, g, b
}

func floor(v float32) int {
	i := int(v)
	if float32(i) > v {
		i--
	}
	return i
}
