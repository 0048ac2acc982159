package models

import (
	"math"
	"slices"

	"github.com/meshpipe/meshpipe/rawvideo"
)

// ImageNet normalisation that HMR2 was trained with (4D-Humans config MODEL.IMAGE_MEAN and
// MODEL.IMAGE_STD, given there in 0..255 units): each channel becomes (x/255 - mean)/std.
var (
	imageMean = [3]float32{0.485, 0.456, 0.406}
	imageStd  = [3]float32{0.229, 0.224, 0.225}
)

// BlurSigma returns the standard deviation, in frame pixels, of the Gaussian blur that
// 4D-Humans applies to the frame before it warps a window of side b pixels down to the 256x256
// crop (hmr2/datasets/vitdet_dataset.py: with d = b/256/2, the frame is blurred with
// sigma = (d-1)/2 when d > 1.1), or 0 when it does not blur (b <= 563.2).
func BlurSigma(side float32) float64 {
	d := float64(side) / CropSize / 2
	if d > 1.1 {
		return (d - 1) / 2
	}
	return 0
}

// blurKernel returns the normalised 1-D Gaussian weights for sigma, from -r to r: the kernel
// of scipy.ndimage.gaussian_filter1d with its default truncate = 4, r = int(4*sigma + 0.5),
// which skimage.filters.gaussian (the blur 4D-Humans calls) uses. The weights are written over
// dst when its capacity holds them.
func blurKernel(dst []float32, sigma float64) []float32 {
	r := int(4*sigma + 0.5)
	weight := func(i int) float64 {
		x := float64(i - r)
		return math.Exp(-0.5 / (sigma * sigma) * x * x)
	}
	var sum float64
	for i := 0; i <= 2*r; i++ {
		sum += weight(i)
	}
	k := resize(dst, 2*r+1)
	for i := range k {
		k[i] = float32(weight(i) / sum)
	}
	return k
}

// cropWarp holds where each crop column and row samples the frame, the way OpenCV's
// warpAffine with INTER_LINEAR computes it: frame pixel index base (x0 or y0) and the
// fraction towards the next pixel in 1/32 steps (INTER_BITS = 5).
type cropWarp struct {
	x0, y0 [CropSize]int
	fx, fy [CropSize]int32
}

// Fixed-point constants of OpenCV's warpAffine (imgproc/src/imgwarp.cpp): sample positions are
// computed in 1/1024 pixel (AB_BITS) and rounded to 1/32 pixel (INTER_BITS).
const (
	abBits     = 10
	interBits  = 5
	interTab   = 1 << interBits
	roundDelta = (1 << abBits) / interTab / 2
)

// warpOf computes the sample positions of window w as 4D-Humans does: generate_image_patch_cv2
// (hmr2/datasets/utils.py) maps the window's centre and its points half a side right and down,
// as float32 points, onto the crop's centre (128, 128) and (256, 128), (128, 256)
// (cv2.getAffineTransform), and cv2.warpAffine inverts that map and samples frame position
// x = cx + (i - 128) * side/256 for crop column i (pixel-index coordinates, no half-pixel
// shift), in OpenCV's fixed point.
func warpOf(w Window) cropWarp {
	const n = CropSize
	half := w.Side * 0.5
	cx, cy := float64(w.CX), float64(w.CY)
	// The points are stored as float32 (np.float32 arrays), so cx + side/2 is rounded.
	x2 := float64(float32(cx + float64(half)))
	y1 := float64(float32(cy + float64(half)))
	// Forward map u = a x + c, v = e y + f, from the three point pairs.
	a := (n / 2) / (x2 - cx)
	c := n/2 - a*cx
	e := (n / 2) / (y1 - cy)
	f := n/2 - e*cy
	// warpAffine's inversion (D = 1/det).
	d := 1 / (a * e)
	ia, ie := e*d, a*d
	ic, iff := -ia*c, -ie*f
	var cw cropWarp
	x0 := int(math.RoundToEven(ic*(1<<abBits))) + roundDelta
	for i := 0; i < n; i++ {
		x := (x0 + int(math.RoundToEven(ia*float64(i)*(1<<abBits)))) >> (abBits - interBits)
		cw.x0[i], cw.fx[i] = x>>interBits, int32(x&(interTab-1))
	}
	for j := 0; j < n; j++ {
		y := (int(math.RoundToEven((ie*float64(j)+iff)*(1<<abBits))) + roundDelta) >> (abBits - interBits)
		cw.y0[j], cw.fy[j] = y>>interBits, int32(y&(interTab-1))
	}
	return cw
}

// CropInto writes the crop of window w of frame f into dst, which must hold 3*256*256 values,
// in the contract's layout: channel-major RGB ([3,256,256]), each channel normalised as
// (x/255 - mean)/std with ImageNet's mean and std.
//
// The crop is made as 4D-Humans' demo makes it (hmr2/datasets/vitdet_dataset.py and
// generate_image_patch_cv2 in hmr2/datasets/utils.py): when the window is more than 2.2 times
// the crop's side (BlurSigma), the frame is first blurred with a Gaussian (skimage.filters.gaussian:
// truncate 4, edges repeated); then crop pixel (i, j) samples frame position
// (cx + (i-128)*side/256, cy + (j-128)*side/256) bilinearly, positions rounded to 1/32 pixel as
// OpenCV's warpAffine rounds them. Samples outside the frame are black (which normalises to
// -mean/std). Without the blur the sampled value is rounded to an integer, as warpAffine does
// on 8-bit images; after the blur it is not, as 4D-Humans warps the blurred float64 frame.
func CropInto(dst []float32, f *rawvideo.Frame, w Window) {
	cw := warpOf(w)
	var gain, bias [3]float32
	for c := 0; c < 3; c++ {
		gain[c] = 1 / (255 * imageStd[c])
		bias[c] = -imageMean[c] / imageStd[c]
	}
	if sigma := BlurSigma(w.Side); sigma > 0 {
		s := blurPool.get()
		defer blurPool.put(s)
		s.kernel = blurKernel(s.kernel, sigma)
		cropBlurred(dst, f, &cw, s, gain, bias)
		return
	}
	const n = CropSize
	for j := 0; j < n; j++ {
		y0, fy := cw.y0[j], cw.fy[j]
		for i := 0; i < n; i++ {
			x0, fx := cw.x0[i], cw.fx[i]
			// Weights in 1/1024: OpenCV's INTER_REMAP_COEF_SCALE table for INTER_LINEAR is
			// 32 times these, exactly, so (sum + 512) >> 10 is its rounding.
			w00, w01 := (interTab-fx)*(interTab-fy), fx*(interTab-fy)
			w10, w11 := (interTab-fx)*fy, fx*fy
			var acc [3]int32
			tap := func(x, y int, wt int32) {
				if wt == 0 || x < 0 || y < 0 || x >= f.Width || y >= f.Height {
					return
				}
				p := f.Pix[y*f.Stride+3*x:]
				acc[0] += wt * int32(p[0])
				acc[1] += wt * int32(p[1])
				acc[2] += wt * int32(p[2])
			}
			tap(x0, y0, w00)
			tap(x0+1, y0, w01)
			tap(x0, y0+1, w10)
			tap(x0+1, y0+1, w11)
			k := j*n + i
			for c := 0; c < 3; c++ {
				dst[c*n*n+k] = float32((acc[c]+512)>>10)*gain[c] + bias[c]
			}
		}
	}
}

// blurScratch is reused between crops: the kernel, the blurred rows and the index tables.
type blurScratch struct {
	kernel  []float32 // the Gaussian's weights (blurKernel)
	rows    []float32 // vertically blurred frame rows, [len(rowIdx)][span*3]
	pix     []float32 // blurred samples at the crop's taps, [len(rowIdx)][len(colIdx)*3]
	rowSlot []int     // frame row -> index in rows, or -1
	colSlot []int     // frame column -> index in the tap columns, or -1
	rowIdx  []int     // the frame rows the taps read, ascending
	colIdx  []int     // the frame columns the taps read, ascending
}

// blurPool holds the blur scratch of the crops in progress (the pose workers').
var blurPool freeList[blurScratch]

// cropBlurred makes the crop from the frame blurred with the Gaussian s.kernel, in s's
// buffers. Only what the warp reads is blurred: the frame rows and columns that the crop's
// bilinear taps touch (at most 512 of each), each the same value as blurring the whole frame
// would give (the blur repeats the frame's edge pixels, mode 'nearest', whatever part of it is
// computed).
func cropBlurred(dst []float32, f *rawvideo.Frame, cw *cropWarp, s *blurScratch, gain, bias [3]float32) {
	const n = CropSize
	k := s.kernel
	r := len(k) / 2
	clamp := func(v, hi int) int { return min(max(v, 0), hi-1) }

	// The frame rows and columns that the taps read, in order.
	s.rowSlot = resetInts(s.rowSlot, f.Height)
	s.colSlot = resetInts(s.colSlot, f.Width)
	rowIdx, colIdx := s.rowIdx[:0], s.colIdx[:0]
	defer func() { s.rowIdx, s.colIdx = rowIdx, colIdx }()
	for j := 0; j < n; j++ {
		for _, y := range [2]int{cw.y0[j], cw.y0[j] + 1} {
			if y >= 0 && y < f.Height && s.rowSlot[y] < 0 {
				s.rowSlot[y] = 0
				rowIdx = append(rowIdx, y)
			}
		}
	}
	for i := 0; i < n; i++ {
		for _, x := range [2]int{cw.x0[i], cw.x0[i] + 1} {
			if x >= 0 && x < f.Width && s.colSlot[x] < 0 {
				s.colSlot[x] = 0
				colIdx = append(colIdx, x)
			}
		}
	}
	slices.Sort(rowIdx)
	slices.Sort(colIdx)
	for i, y := range rowIdx {
		s.rowSlot[y] = i
	}
	for i, x := range colIdx {
		s.colSlot[x] = i
	}
	if len(rowIdx) > 0 && len(colIdx) > 0 {
		// Vertical pass (scipy blurs axis 0 first) over the columns the horizontal pass reads.
		lo, hi := max(colIdx[0]-r, 0), min(colIdx[len(colIdx)-1]+r, f.Width-1)
		span := hi - lo + 1
		s.rows = resize(s.rows, len(rowIdx)*span*3)
		for ri, y := range rowIdx {
			out := s.rows[ri*span*3 : (ri+1)*span*3]
			clear(out)
			for t, kt := range k {
				off := clamp(y+t-r, f.Height)*f.Stride + 3*lo
				src := f.Pix[off : off+len(out)]
				for x, v := range src {
					out[x] += kt * float32(v)
				}
			}
		}
		// Horizontal pass at the tap columns only.
		nc := len(colIdx)
		s.pix = resize(s.pix, len(rowIdx)*nc*3)
		for ri := range rowIdx {
			row := s.rows[ri*span*3 : (ri+1)*span*3]
			out := s.pix[ri*nc*3 : (ri+1)*nc*3]
			for ci, x := range colIdx {
				var a0, a1, a2 float32
				for t, kt := range k {
					xx := clamp(x+t-r, f.Width) - lo
					a0 += kt * row[3*xx]
					a1 += kt * row[3*xx+1]
					a2 += kt * row[3*xx+2]
				}
				out[3*ci], out[3*ci+1], out[3*ci+2] = a0, a1, a2
			}
		}
	}
	nc := len(colIdx)
	for j := 0; j < n; j++ {
		y0, fy := cw.y0[j], float32(cw.fy[j])/interTab
		for i := 0; i < n; i++ {
			x0, fx := cw.x0[i], float32(cw.fx[i])/interTab
			var acc [3]float32
			tap := func(x, y int, wt float32) {
				if wt == 0 || x < 0 || y < 0 || x >= f.Width || y >= f.Height {
					return
				}
				p := s.pix[(s.rowSlot[y]*nc+s.colSlot[x])*3:]
				acc[0] += wt * p[0]
				acc[1] += wt * p[1]
				acc[2] += wt * p[2]
			}
			tap(x0, y0, (1-fx)*(1-fy))
			tap(x0+1, y0, fx*(1-fy))
			tap(x0, y0+1, (1-fx)*fy)
			tap(x0+1, y0+1, fx*fy)
			kk := j*n + i
			for c := 0; c < 3; c++ {
				dst[c*n*n+kk] = acc[c]*gain[c] + bias[c]
			}
		}
	}
}

func resetInts(s []int, n int) []int {
	if cap(s) < n {
		s = make([]int, n)
	}
	s = s[:n]
	for i := range s {
		s[i] = -1
	}
	return s
}

func resize(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
