package filter

import "math"

// goldenRatioConjugate is (sqrt(5)-1)/2. Stepping the hue by it gives each new track a hue far
// from every recent one (the golden-angle sequence; Martin Ankerl, "How to Generate Random
// Colors Programmatically", 2009).
const goldenRatioConjugate = 0.6180339887498949

// TrackColor returns the mesh colour of track id, RGB in 0..1: hue (id * 0.618...) mod 1,
// saturation 0.5 and value 0.9 in HSV, so that colours stay light and shade like MeshColor
// does, and consecutive ids differ clearly. Id 0 (not tracked) gets MeshColor.
func TrackColor(id int) [3]float32 {
	if id == 0 {
		return MeshColor
	}
	_, h := math.Modf(float64(id) * goldenRatioConjugate)
	return hsv(h, 0.5, 0.9)
}

// hsv converts a colour from HSV (each in [0, 1]) to RGB in [0, 1] (Smith 1978, hexcone model).
func hsv(h, s, v float64) [3]float32 {
	h = 6 * (h - math.Floor(h))
	i := math.Floor(h)
	f := h - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch int(i) % 6 {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return [3]float32{float32(r), float32(g), float32(b)}
}
