package rawvideo

import (
	"bytes"
	"math"
)

// Colour conversions between rgb24 and the other pix_fmts.
//
// Y'CbCr is ITU-R BT.601-7: luma E'y = Kr R + Kg G + Kb B with Kr = 0.299, Kb = 0.114,
// Kg = 1 - Kr - Kb; colour differences Cb = (B - E'y)/(2(1-Kb)), Cr = (R - E'y)/(2(1-Kr)); the
// 8-bit limited-range quantisation Y' = 16 + 219 E'y, Cb/Cr = 128 + 224 Cb/Cr with R, G, B
// in 0..1 (BT.601-7 table 3, items 3.5). This is what ffmpeg's swscale uses for yuv420p when
// no colour matrix or range is given. gray is full range luma: gray = round(E'y*255) and back
// R = G = B = gray, as ffmpeg 5.1 converts gray.
//
// How the 4:2:0 conversions match ffmpeg's (`ffmpeg -f rawvideo -pix_fmt rgb24 ... -pix_fmt
// yuv420p`, swscale with the ffmpeg tool's default bicubic flags), measured against ffmpeg 5.1:
//   - yuv420p -> rgb24: each 2x2 block of pixels takes its own U and V (no interpolation).
//   - rgb24 -> yuv420p: Y' per pixel; chroma first averages each horizontal pair of pixels,
//     then filters vertically with swscale's default bicubic kernel (Mitchell-Netravali with
//     B = 0, C = 0.6, i.e. Keys' cubic with a = -0.6) stretched for the 2:1 reduction, chroma
//     row c sitting midway between luma rows 2c and 2c+1, rows beyond the edges repeating the
//     edge row. Eight luma rows weigh in each chroma row.
// Fixed-point here has 16 fraction bits; results are within 1 of ffmpeg's per channel
// (tested), the differences coming from swscale's own rounding and SIMD paths.

const (
	kr = 0.299
	kb = 0.114
	kg = 1 - kr - kb
)

// fix converts x to 16.16 fixed point, rounded to nearest.
func fix(x float64) int32 { return int32(math.Round(x * 65536)) }

// clamp8 turns a 16.16 fixed-point value into a byte, rounding down.
func clamp8(v int32) byte {
	return byte(min(max(v>>16, 0), 255))
}

// yuvMatrix holds the BT.601 conversions for one range: decode tables (per-value terms of
// yuv420p -> rgb24, 16.16 fixed point) and encode coefficients (16.16 over R, G, B in 0..255).
type yuvMatrix struct {
	y, rv, gu, gv, bu [256]int32
	// Y' = yOff + yR R + yG G + yB B; U and V without their 128 offset.
	yR, yG, yB, yOff int32
	uR, uG, uB       int32
	vR, vG, vB       int32
}

// The two ranges: limited (Y' 16..235, Cb/Cr 16..240; ffmpeg's default for yuv420p) and full
// (0..255 for all three, as JPEG and y4m's XCOLORRANGE=FULL).
var limitedRange, fullRange = newYUVMatrix(false), newYUVMatrix(true)

// matrix returns the conversions for a range.
func matrix(full bool) *yuvMatrix {
	if full {
		return fullRange
	}
	return limitedRange
}

// newYUVMatrix derives the tables from Kr and Kb. Decoding matches ffmpeg 5.1's x86 yuv2rgb
// exactly (tested): each of the Y' and chroma terms is its coefficient, rounded to 13
// fraction bits, times (Y'-16) or (C-128), rounded down to a whole number before the terms
// are added and clamped.
func newYUVMatrix(full bool) *yuvMatrix {
	m := &yuvMatrix{}
	ys, cs, yo := 219.0/255, 224.0/255, 16
	if full {
		ys, cs, yo = 1, 1, 0
	}
	q13 := func(c float64) int { return int(math.Round(c * 8192)) }
	term := func(c float64, x int) int32 { return int32(math.Floor(float64(x*q13(c))/8192)) << 16 }
	for i := 0; i < 256; i++ {
		c := i - 128
		m.y[i] = term(1/ys, i-yo)
		m.rv[i] = term(2*(1-kr)/cs, c)
		m.gu[i] = term(-2*(1-kb)*kb/kg/cs, c)
		m.gv[i] = term(-2*(1-kr)*kr/kg/cs, c)
		m.bu[i] = term(2*(1-kb)/cs, c)
	}
	m.yR, m.yG, m.yB, m.yOff = fix(ys*kr), fix(ys*kg), fix(ys*kb), int32(yo)<<16
	// Cb = cs (B - E'y)/(2(1-Kb)), Cr = cs (R - E'y)/(2(1-Kr)).
	m.uR, m.uG, m.uB = fix(-cs*kr/(2*(1-kb))), fix(-cs*kg/(2*(1-kb))), fix(cs/2)
	m.vR, m.vG, m.vB = fix(cs/2), fix(-cs*kg/(2*(1-kr))), fix(-cs*kb/(2*(1-kr)))
	return m
}

// full-range gray = E'y; the three coefficients sum to exactly 1<<16, so gray -> rgb -> gray
// is exact.
var (
	grayR, grayB = fix(kr), fix(kb)
	grayG        = 1<<16 - grayR - grayB
)

func (m *yuvMatrix) luma(r, g, b byte) byte {
	return byte((m.yR*int32(r) + m.yG*int32(g) + m.yB*int32(b) + m.yOff + 1<<15) >> 16)
}

func grayOf(r, g, b byte) byte {
	return byte((grayR*int32(r) + grayG*int32(g) + grayB*int32(b) + 1<<15) >> 16)
}

// chromaTaps returns the vertical chroma filter for a frame h rows high: chroma row c is
// sum_k taps[k] * (pair sums of luma row 2c+first+k), rows clamped into the frame, taps in
// 2.14 fixed point summing to exactly 1<<14. It is Keys' cubic (a = -0.6) at the distance in
// chroma rows from the sample (at luma 2c+0.5), halved for the 2:1 stretch, over swscale's
// window: 9 rows, or h-2 when that is fewer (at least 1), renormalised (libswscale/utils.c
// initFilter). For h >= 10 the ninth tap is 0 and eight rows weigh in.
func chromaTaps(h int) (first int, taps []int64) {
	const a = -0.6
	keys := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x <= 1:
			return (a+2)*x*x*x - (a+3)*x*x + 1
		case x < 2:
			return a*x*x*x - 5*a*x*x + 8*a*x - 4*a
		}
		return 0
	}
	n := max(min(9, h-2), 1)
	first = int(math.Floor(0.5 - float64(n-2)/2))
	ws := make([]float64, n)
	var sum float64
	for k := range ws {
		ws[k] = keys((float64(first+k) - 0.5) / 2)
		sum += ws[k]
	}
	taps = make([]int64, n)
	var isum int64
	big := 0
	for k, w := range ws {
		taps[k] = int64(math.Round(w / sum * (1 << 14)))
		isum += taps[k]
		if taps[k] > taps[big] {
			big = k
		}
	}
	taps[big] += 1<<14 - isum
	return first, taps
}

// decode converts a frame of pix_fmt p in src into f's rgb24 pixels (f.Width x f.Height,
// f.Stride = 3*f.Width, len(f.Pix) set by the caller). len(src) is p.FrameSize. full selects
// full-range yuv420p.
func decode(p PixFmt, f *Frame, src []byte, full bool) {
	w, h, dst := f.Width, f.Height, f.Pix
	switch p {
	case RGB24:
		copy(dst, src)
	case BGR24:
		for i := 0; i+2 < len(src); i += 3 {
			d := dst[i : i+3 : i+3]
			d[0], d[1], d[2] = src[i+2], src[i+1], src[i]
		}
	case RGBA, BGRA:
		ri, bi := 0, 2
		if p == BGRA {
			ri, bi = 2, 0
		}
		for i, j := 0, 0; j+3 < len(src); i, j = i+3, j+4 {
			d, s := dst[i:i+3:i+3], src[j:j+4:j+4]
			d[0], d[1], d[2] = s[ri], s[1], s[bi]
		}
	case Gray:
		for i, g := range src {
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = g, g, g
		}
	case YUV420P:
		t := matrix(full)
		cw := w / 2
		ys, us, vs := src[:w*h], src[w*h:w*h+cw*h/2], src[w*h+cw*h/2:]
		for y := 0; y < h; y++ {
			yr := ys[y*w : y*w+w]
			ur, vr := us[y/2*cw:y/2*cw+cw], vs[y/2*cw:y/2*cw+cw]
			d := dst[y*3*w : y*3*w+3*w]
			for cx := 0; cx < cw; cx++ {
				u, v := ur[cx], vr[cx]
				rc, gc, bc := t.rv[v], t.gu[u]+t.gv[v], t.bu[u]
				y0, y1 := t.y[yr[2*cx]], t.y[yr[2*cx+1]]
				p := d[6*cx : 6*cx+6 : 6*cx+6]
				p[0], p[1], p[2] = clamp8(y0+rc), clamp8(y0+gc), clamp8(y0+bc)
				p[3], p[4], p[5] = clamp8(y1+rc), clamp8(y1+gc), clamp8(y1+bc)
			}
		}
	}
}

// encoder converts rgb24 frames to another pix_fmt. It keeps scratch rows between frames;
// one goroutine uses it.
type encoder struct {
	m *yuvMatrix // the range of this frame's yuv420p
	// taps and first are chromaTaps(tapsH).
	taps         []int64
	first, tapsH int
	// pairs[y] holds, for luma row y, the U and V sums of each horizontal pixel pair
	// (interleaved U, V; 16.16 fixed point, twice the pair's mean), valid when pairGen[y] is gen.
	pairs   [][]int32
	pairGen []uint64
	gen     uint64
}

// encode converts f's rgb24 pixels into dst in pix_fmt p (len(dst) = p.FrameSize); full
// selects full-range yuv420p. When f carries what a Reader read (f.src), pixels that no stage
// changed are given back as read: alpha bytes come from an rgba or bgra source, and a yuv420p
// frame written as yuv420p of the same range keeps the Y', U and V bytes of every 2x2 block
// whose pixels are unchanged, re-encoding the rest.
func (e *encoder) encode(p PixFmt, dst []byte, f *Frame, full bool) {
	w, h, st := f.Width, f.Height, f.Stride
	src := &f.src
	if !src.matches(w, h) {
		src = &origin{}
	}
	switch p {
	case RGB24:
		for y := 0; y < h; y++ {
			copy(dst[3*w*y:3*w*(y+1)], f.Pix[st*y:st*y+3*w])
		}
	case BGR24:
		for y := 0; y < h; y++ {
			s, d := f.Pix[st*y:st*y+3*w], dst[3*w*y:3*w*(y+1)]
			for i := 0; i+2 < len(s); i += 3 {
				dd := d[i : i+3 : i+3]
				dd[0], dd[1], dd[2] = s[i+2], s[i+1], s[i]
			}
		}
	case RGBA, BGRA:
		ri, bi := 0, 2
		if p == BGRA {
			ri, bi = 2, 0
		}
		var alpha []byte // the source's pixels, 4 bytes each, alpha last
		if src.fmt == RGBA || src.fmt == BGRA {
			alpha = src.raw
		}
		for y := 0; y < h; y++ {
			s, d := f.Pix[st*y:st*y+3*w], dst[4*w*y:4*w*(y+1)]
			for x := 0; x < w; x++ {
				sp, dp := s[3*x:3*x+3:3*x+3], d[4*x:4*x+4:4*x+4]
				dp[ri], dp[1], dp[bi], dp[3] = sp[0], sp[1], sp[2], 255
				if alpha != nil {
					dp[3] = alpha[4*(y*w+x)+3]
				}
			}
		}
	case Gray:
		for y := 0; y < h; y++ {
			s, d := f.Pix[st*y:st*y+3*w], dst[w*y:w*(y+1)]
			for x := range d {
				d[x] = grayOf(s[3*x], s[3*x+1], s[3*x+2])
			}
		}
	case YUV420P:
		e.start(h, w)
		e.m = matrix(full)
		if src.fmt == YUV420P && src.full == full && len(src.rgb) == len(src.raw)*2 {
			e.yuvKeep(dst, f, src)
		} else {
			e.yuvAll(dst, f)
		}
	}
}

// start readies the pair cache for a w x h frame.
func (e *encoder) start(h, w int) {
	e.gen++
	if e.tapsH != h {
		e.first, e.taps = chromaTaps(h)
		e.tapsH = h
	}
	if len(e.pairs) != h || (h > 0 && len(e.pairs[0]) != w) {
		e.pairs = make([][]int32, h)
		for i := range e.pairs {
			e.pairs[i] = make([]int32, w) // w/2 pairs, U and V each
		}
		e.pairGen = make([]uint64, h)
	}
}

// pairRow returns the U, V pair sums of luma row y (clamped into the frame), computing them
// once per frame.
func (e *encoder) pairRow(f *Frame, y int) []int32 {
	y = min(max(y, 0), f.Height-1)
	row := e.pairs[y]
	if e.pairGen[y] == e.gen {
		return row
	}
	s, m := f.Pix[f.Stride*y:f.Stride*y+3*f.Width], e.m
	for i := 0; i+5 < len(s); i += 6 {
		r := int32(s[i]) + int32(s[i+3])
		g := int32(s[i+1]) + int32(s[i+4])
		b := int32(s[i+2]) + int32(s[i+5])
		row[i/3] = m.uR*r + m.uG*g + m.uB*b
		row[i/3+1] = m.vR*r + m.vG*g + m.vB*b
	}
	e.pairGen[y] = e.gen
	return row
}

// chromaRow computes U and V of chroma samples cx0 <= cx < cx1 of chroma row cy into u[cx]
// and v[cx].
func (e *encoder) chromaRow(f *Frame, cy, cx0, cx1 int, u, v []byte) {
	var rowsArr [9][]int32
	rows := rowsArr[:len(e.taps)]
	for k := range rows {
		rows[k] = e.pairRow(f, 2*cy+e.first+k)
	}
	// Each pair sum is 2*C<<16; the taps add 14 bits: C = sum >> 31, plus 128, rounded.
	const shift = 16 + 14 + 1
	const bias = 128<<shift + 1<<(shift-1)
	for cx := cx0; cx < cx1; cx++ {
		var su, sv int64 = bias, bias
		for k, t := range e.taps {
			su += t * int64(rows[k][2*cx])
			sv += t * int64(rows[k][2*cx+1])
		}
		u[cx] = byte(min(max(su>>shift, 0), 255))
		v[cx] = byte(min(max(sv>>shift, 0), 255))
	}
}

// yuvAll encodes every pixel of f.
func (e *encoder) yuvAll(dst []byte, f *Frame) {
	w, h, st := f.Width, f.Height, f.Stride
	cw, ch := w/2, h/2
	ys, us, vs := dst[:w*h], dst[w*h:w*h+cw*ch], dst[w*h+cw*ch:]
	for y := 0; y < h; y++ {
		s, d := f.Pix[st*y:st*y+3*w], ys[w*y:w*(y+1)]
		for x := range d {
			d[x] = e.m.luma(s[3*x], s[3*x+1], s[3*x+2])
		}
	}
	for cy := 0; cy < ch; cy++ {
		e.chromaRow(f, cy, 0, cw, us[cw*cy:cw*(cy+1)], vs[cw*cy:cw*(cy+1)])
	}
}

// yuvKeep encodes f keeping the bytes read (src.raw) of every 2x2 block whose rgb24 pixels
// equal those decoded from them (src.rgb). In a changed block, the changed pixels get a new Y'
// and the block new U and V, computed as yuvAll would from the frame as it is now.
func (e *encoder) yuvKeep(dst []byte, f *Frame, src *origin) {
	w, h, st := f.Width, f.Height, f.Stride
	cw, ch := w/2, h/2
	copy(dst, src.raw)
	ys, us, vs := dst[:w*h], dst[w*h:w*h+cw*ch], dst[w*h+cw*ch:]
	for cy := 0; cy < ch; cy++ {
		y0, y1 := 2*cy, 2*cy+1
		a0, a1 := f.Pix[st*y0:st*y0+3*w], f.Pix[st*y1:st*y1+3*w]
		b0, b1 := src.rgb[3*w*y0:3*w*(y0+1)], src.rgb[3*w*y1:3*w*(y1+1)]
		if bytes.Equal(a0, b0) && bytes.Equal(a1, b1) {
			continue
		}
		// Runs of changed blocks share one chromaRow call.
		for cx := 0; cx < cw; {
			if bytes.Equal(a0[6*cx:6*cx+6], b0[6*cx:6*cx+6]) && bytes.Equal(a1[6*cx:6*cx+6], b1[6*cx:6*cx+6]) {
				cx++
				continue
			}
			end := cx + 1
			for end < cw && !(bytes.Equal(a0[6*end:6*end+6], b0[6*end:6*end+6]) && bytes.Equal(a1[6*end:6*end+6], b1[6*end:6*end+6])) {
				end++
			}
			e.chromaRow(f, cy, cx, end, us[cw*cy:cw*(cy+1)], vs[cw*cy:cw*(cy+1)])
			for _, r := range [2]struct {
				a, b []byte
				y    int
			}{{a0, b0, y0}, {a1, b1, y1}} {
				for x := 2 * cx; x < 2*end; x++ {
					if p := r.a[3*x : 3*x+3]; !bytes.Equal(p, r.b[3*x:3*x+3]) {
						ys[w*r.y+x] = e.m.luma(p[0], p[1], p[2])
					}
				}
			}
			cx = end
		}
	}
}

// origin is what a Reader keeps of a frame besides its rgb24 pixels, so that a Writer can give
// back exactly what no stage changed.
type origin struct {
	fmt  PixFmt // pix_fmt of raw; 0 when nothing is kept (the frame came as rgb24)
	full bool   // raw is full-range yuv420p
	w, h int    // the frame size raw and rgb belong to
	raw  []byte // the frame as read, in fmt
	rgb  []byte // yuv420p only: Pix as decoded, before any stage changed it
}

// matches reports whether o holds a frame of size w x h.
func (o *origin) matches(w, h int) bool { return o.fmt != 0 && o.w == w && o.h == h }
