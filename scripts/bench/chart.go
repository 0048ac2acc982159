package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Chart layout, in pixels.
const (
	chartWidth = 1100
	margin     = 16
	labelWidth = 330 // the row labels' column
	valueWidth = 190 // room right of the longest bar for its value
	rowHeight  = 20
	barHeight  = 14
	stageBar   = 5 // height of one stage's bar in a busy-share group
	titleGap   = 30
	headLines  = 5 // at most: the title, then the machine, GPU, OpenGL and ONNX Runtime lines
)

var (
	white     = color.RGBA{255, 255, 255, 255}
	ink       = color.RGBA{30, 30, 30, 255}
	grey      = color.RGBA{225, 225, 225, 255}
	barBlue   = color.RGBA{70, 120, 190, 255}
	barGrey   = color.RGBA{150, 150, 150, 255}
	barOrange = color.RGBA{230, 140, 40, 255}
	// stageColors colours read, detect, pose, render and write.
	stageColors = []color.RGBA{{140, 140, 140, 255}, {90, 170, 90, 255}, {200, 80, 70, 255}, {70, 120, 190, 255}, {180, 140, 200, 255}}
)

// bar is one row of a panel: a label, a value that sets the bar's length, the text shown
// after it, and its colour; stages, when set, draws the five stages' busy shares instead, and
// parts draws segments end to end (their sum is value).
type bar struct {
	label  string
	value  float64
	text   string
	color  color.RGBA
	stages []float64
	parts  []float64
}

// panel is a titled group of bars sharing one scale (the largest value, or 1 for shares),
// with a legend for the colours of stages or parts.
type panel struct {
	title  string
	bars   []bar
	shares bool
	legend []string
	colors []color.RGBA
}

func (p panel) height() int {
	h := titleGap
	for _, b := range p.bars {
		if b.stages != nil {
			h += len(b.stages)*stageBar + 8
		} else {
			h += rowHeight
		}
	}
	return h + 12
}

// panels builds the chart's panels from the report's sections.
func (r *report) panels() []panel {
	var ps []panel
	if rows := r.section("pipe"); len(rows) > 0 {
		p := panel{title: fmt.Sprintf("1. Pipe cost, %s rgb24: frames per second, first frame out to last (ratio to cat through the same pipes)", rows[0].size)}
		for _, res := range rows {
			fps := res.fps()
			c, text := barBlue, fmt.Sprintf("%.0f fps", fps)
			if res.cmd != nil {
				c = barGrey
			} else if cat := catFPS(rows, res.pipeSize); cat > 0 {
				text += fmt.Sprintf(" (%.3f)", fps/cat)
			}
			label := res.label
			if res.pipeSize > 0 {
				label += fmt.Sprintf(", %d KiB pipes", res.pipeSize>>10)
			}
			p.bars = append(p.bars, bar{label: label, value: fps, text: text, color: c})
		}
		ps = append(ps, p)
	}
	if rows := r.section("sizes"); len(rows) > 0 {
		p := panel{title: "2. Whole pipeline on vtest.avi: frames per second"}
		q := panel{title: "2. Busy share of each stage: read, detect, pose, render, write (0-100%)", shares: true,
			legend: allStages, colors: stageColors}
		for _, res := range rows {
			label := res.size.String() + ", " + res.model
			p.bars = append(p.bars, bar{label: label, value: res.fps(), text: fmt.Sprintf("%.1f fps", res.fps()), color: modelColor(res.model)})
			var sh []float64
			for _, s := range allStages {
				sh = append(sh, res.Fig.Stage(s).Busy)
			}
			q.bars = append(q.bars, bar{label: label, stages: sh, text: busiest(res.Fig)})
		}
		ps = append(ps, p, q)
	}
	if parts := r.cpuParts(); len(parts) > 0 {
		p := panel{title: "2. CPU per frame in ms, by part (stand-in pose model)", legend: []string{"read+graph+write", "detect+track+pose", "render"},
			colors: []color.RGBA{stageColors[0], stageColors[1], stageColors[3]}}
		for _, c := range parts {
			p.bars = append(p.bars, bar{label: c.size.String(), value: c.total, parts: []float64{c.io, c.detectPose, c.render},
				text: fmt.Sprintf("%.1f ms (ceiling %.0f fps)", c.total, float64(r.cores)*1000/c.total)})
		}
		ps = append(ps, p)
	}
	if rows := r.section("scaling"); len(rows) > 0 {
		p := panel{title: fmt.Sprintf("3. Scaling, %s: frames per second", rows[0].size)}
		for _, res := range rows {
			p.bars = append(p.bars, bar{label: res.label + ", " + res.model, value: res.fps(), text: fmt.Sprintf("%.1f fps", res.fps()), color: modelColor(res.model)})
		}
		ps = append(ps, p)
	}
	mem, grow := r.section("memory"), r.section("growth")
	if len(mem) > 0 || len(grow) > 0 {
		p := panel{title: "4. Memory: peak RSS in MiB against frames in flight; RSS during a long run"}
		for _, res := range mem {
			p.bars = append(p.bars, bar{label: res.label, value: kibToMiB(res.MaxRSS), text: fmt.Sprintf("%.0f MiB", kibToMiB(res.MaxRSS)), color: barBlue})
		}
		for _, res := range grow {
			for _, s := range res.RSS {
				p.bars = append(p.bars, bar{label: fmt.Sprintf("RSS after %d frames", s.Frames), value: kibToMiB(s.RSS),
					text: fmt.Sprintf("%.0f MiB", kibToMiB(s.RSS)), color: barGrey})
			}
		}
		ps = append(ps, p)
	}
	return ps
}

// modelColor colours a pose model's fps bars: blue for the stand-in, green for BlazePose,
// orange for HMR2 (and any other model).
func modelColor(model string) color.RGBA {
	switch {
	case model == "stand-in":
		return barBlue
	case strings.HasPrefix(model, "BlazePose"):
		return stageColors[1]
	}
	return barOrange
}

// chart draws the report's panels as a PNG.
func (r *report) chart() ([]byte, error) {
	ps := r.panels()
	face, err := chartFace()
	if err != nil {
		return nil, err
	}
	defer face.Close()
	nHead := min(1+len(r.machine), headLines)
	h := margin + nHead*18 + margin
	for _, p := range ps {
		h += p.height()
	}
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	text := func(x, y int, s string, c color.Color) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	width := func(s string) int { return font.MeasureString(face, s).Ceil() }
	fill := func(x0, y0, x1, y1 int, c color.Color) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	// The heading: the title, then the machine, OpenGL and ONNX Runtime lines.
	head := append([]string{r.title}, r.machine...)
	head = head[:nHead]
	for i, l := range head {
		for width(l) > chartWidth-2*margin && len(l) > 10 {
			l = l[:len(l)-4] + "..."
		}
		text(margin, margin+14+i*18, l, ink)
	}

	x0, x1 := margin+labelWidth, chartWidth-margin-valueWidth
	y := margin + nHead*18
	for _, p := range ps {
		y += 8
		text(margin, y+14, p.title, ink)
		y += titleGap - 8
		top := y
		scale := 1.0
		if !p.shares {
			scale = 0
			for _, b := range p.bars {
				scale = max(scale, b.value)
			}
		}
		end := y
		for _, b := range p.bars {
			if b.stages != nil {
				end += len(b.stages)*stageBar + 8
			} else {
				end += rowHeight
			}
		}
		// Grid lines at quarters of the scale.
		for k := 0; k <= 4; k++ {
			x := x0 + (x1-x0)*k/4
			fill(x, top, x+1, end, grey)
		}
		for _, b := range p.bars {
			label := b.label
			for width(label) > labelWidth-8 && len(label) > 4 {
				label = label[:len(label)-4] + "..."
			}
			if b.stages != nil {
				gh := len(b.stages) * stageBar
				text(margin, y+gh/2+5, label, ink)
				longest := x0
				for i, v := range b.stages {
					w := int(float64(x1-x0) * min(v, 1.05) / scale)
					fill(x0, y+i*stageBar, x0+w, y+(i+1)*stageBar-1, stageColors[i%len(stageColors)])
					longest = max(longest, x0+w)
				}
				text(longest+6, y+gh/2+5, b.text, ink)
				y += gh + 8
				continue
			}
			w := 0
			if scale > 0 {
				w = int(float64(x1-x0) * b.value / scale)
			}
			if b.parts != nil {
				x, sum := x0, 0.0
				for i, v := range b.parts {
					sum += max(v, 0)
					xe := x0 + int(float64(x1-x0)*sum/scale)
					fill(x, y+(rowHeight-barHeight)/2, xe, y+(rowHeight+barHeight)/2, p.colors[i%len(p.colors)])
					x = xe
				}
				w = x - x0
			} else {
				fill(x0, y+(rowHeight-barHeight)/2, x0+w, y+(rowHeight+barHeight)/2, b.color)
			}
			text(margin, y+rowHeight/2+5, label, ink)
			text(x0+w+6, y+rowHeight/2+5, b.text, ink)
			y += rowHeight
		}
		// The legend, right-aligned on the title's line.
		lx := chartWidth - margin
		for i := len(p.legend) - 1; i >= 0; i-- {
			lx -= width(p.legend[i]) + 22
			fill(lx, top-18, lx+12, top-8, p.colors[i%len(p.colors)])
			text(lx+15, top-8, p.legend[i], ink)
		}
		y += 12
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chartFace returns the Go Regular font at 13 pixels.
func chartFace() (font.Face, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: 13, DPI: 72, Hinting: font.HintingFull})
}
