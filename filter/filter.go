// Package filter is the frei0r plugin's work in pure Go: one Filter per plugin instance. It
// turns the instance's frei0r parameters into pipeline.Options (the same options, names and
// defaults as the pipe's flags: Params), makes the parts with pipeline.Open on the first frame
// and again after a parameter they are made from changes, and runs each frame through
// stages.OneFrame, the stage graph's code one frame at a time, so that every call returns its
// own frame with its own people drawn, as the pipe with -batch 1 draws them. Frames come and go
// in frei0r's RGBA8888 (rgba.go). plugin/frei0r holds only the C entry points that forward here.
//
// frei0r has no error channel: whatever keeps a Filter from drawing (a bad parameter value, a
// model file missing, no ONNX Runtime, no usable OpenGL) is said once through the Filter's log
// function, naming the parameter or the cause, and the frames pass through unchanged until it
// is put right.
package filter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/meshpipe/meshpipe/pipeline"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// Kind is a frei0r parameter type.
type Kind int

const (
	// String is F0R_PARAM_STRING: a text value. Whole numbers are strings too, since GStreamer's
	// frei0r wrapper limits doubles to 0..1.
	String Kind = iota
	// Double is F0R_PARAM_DOUBLE: a number within 0..1 (frei0r's convention).
	Double
)

// Param is one frei0r parameter.
type Param struct {
	// Name is the parameter's name: the pipe's flag without its "-".
	Name string
	// Kind is its frei0r type.
	Kind Kind
	// Explanation says what it does and its default, for the host's parameter list.
	Explanation string
	// Default is its value in a new instance: Text for a String, Number for a Double.
	Default Value

	field func(o *pipeline.Options) any
}

// Value is a parameter's value: Text for a String parameter, Number for a Double.
type Value struct {
	Text   string
	Number float64
}

// Params returns the plugin's parameters, in frei0r's index order: every option of
// pipeline.Shared, under its name, with the pipe's default.
func Params() []Param { return params }

var params = func() []Param {
	d := pipeline.DefaultOptions()
	var ps []Param
	for _, s := range pipeline.Shared {
		p := Param{Name: s.Name, Explanation: s.Usage, field: s.Field}
		switch v := s.Field(&d).(type) {
		case *string:
			p.Default.Text = *v
		case *int:
			p.Default.Text = strconv.Itoa(*v)
		case *float64:
			p.Kind, p.Default.Number = Double, *v
		}
		if def := p.Default.Text; p.Kind == Double {
			p.Explanation += fmt.Sprintf(" (default %g)", p.Default.Number)
		} else if def != "" {
			p.Explanation += " (default " + def + ")"
		}
		ps = append(ps, p)
	}
	return ps
}()

// Filter is one plugin instance: its parameters, the parts made from them, and its buffers.
// frei0r lets one thread into an instance at a time; a Filter is not safe for concurrent use.
type Filter struct {
	w, h      int
	values    []Value
	searchDir string           // pipeline.Options.SearchDir: the plugin's folder
	log       func(msg string) // says one message

	parts    *pipeline.Parts
	run      *stages.OneFrame
	builtFor string // the parameters the parts were made from, or the last failed try
	tried    bool

	rgb      rawvideo.Frame // the frame in rgb24, reused
	frames   int64          // frames seen
	failed   int64          // frames passed through because drawing them failed
	reported map[string]bool
}

// New returns a Filter for w x h frames with every parameter at its default. searchDir is
// where the searches for the ONNX Runtime library and the model files start (the plugin's
// folder; "" for the executable's); log says each message, one line without a newline. It
// fails for a size rawvideo cannot hold.
func New(w, h int, searchDir string, log func(msg string)) (*Filter, error) {
	if _, err := rawvideo.FrameSize(w, h); err != nil {
		return nil, err
	}
	f := &Filter{w: w, h: h, searchDir: searchDir, log: log, reported: map[string]bool{}}
	for _, p := range params {
		f.values = append(f.values, p.Default)
	}
	return f, nil
}

// Set sets parameter i (an index of Params) to v; the value is read at the next frame. An index
// out of range is ignored.
func (f *Filter) Set(i int, v Value) {
	if i >= 0 && i < len(f.values) {
		f.values[i] = v
	}
}

// Get returns parameter i's value as set (the zero Value for an index out of range).
func (f *Filter) Get(i int) Value {
	if i < 0 || i >= len(f.values) {
		return Value{}
	}
	return f.values[i]
}

// Update writes frame src, drawn over, into dst: both w x h RGBA8888 images (4*w bytes a row,
// no padding), which may be the same memory. The input's alpha channel is kept. When the
// frame cannot be drawn (see the package comment), src is copied to dst unchanged. A panic
// is caught and said, since it would take the host down.
func (f *Filter) Update(src, dst []byte) {
	seq := f.frames
	f.frames++
	ok := false
	defer func() {
		if r := recover(); r != nil {
			f.frameFailed(fmt.Errorf("frame %d: panic: %v", seq, r))
			ok = false
		}
		if !ok && &src[0] != &dst[0] {
			copy(dst, src)
		}
	}()
	ok = f.draw(src, dst, seq)
}

// draw draws the people of src into dst and reports whether it did; when it did not, the
// caller passes the frame through.
func (f *Filter) draw(src, dst []byte, seq int64) bool {
	o, err := f.options()
	if err != nil {
		f.once("%v; frames pass through unchanged until it is changed", err)
		return false
	}
	if !f.ensureParts(o) {
		return false
	}
	if err := f.parts.SetLook(o.Alpha, o.Color); err != nil {
		f.once("%v; frames pass through unchanged until it is changed", err)
		return false
	}
	if err := FromRGBA(&f.rgb, src, f.w, f.h); err != nil {
		f.frameFailed(err)
		return false
	}
	f.rgb.Seq = seq
	people, err := f.run.Run(&f.rgb)
	if err != nil {
		f.frameFailed(err)
		return false
	}
	if people == 0 {
		return false // nothing drawn: the frame passes as it came
	}
	if err := ToRGBA(dst, &f.rgb, src); err != nil {
		f.frameFailed(err)
		return false
	}
	return true
}

// options reads the parameters into pipeline.Options: an empty text keeps the option's default,
// whole numbers come from their text, with an error naming the parameter when one is not. The plugin runs one frame at a time with one
// render worker.
func (f *Filter) options() (pipeline.Options, error) {
	o := pipeline.DefaultOptions()
	for i, p := range params {
		v := f.values[i]
		if p.Kind == String && strings.TrimSpace(v.Text) == "" {
			continue // ffmpeg gives "" for a parameter left out among others: the default
		}
		switch field := p.field(&o).(type) {
		case *string:
			*field = v.Text
		case *float64:
			*field = v.Number
		case *int:
			t := strings.TrimSpace(v.Text)
			n, err := strconv.Atoi(t)
			if err != nil {
				return o, fmt.Errorf("%s %q: want a whole number", p.Name, v.Text)
			}
			*field = n
		}
	}
	o.RenderWorkers, o.SearchDir = 1, f.searchDir
	o.OverMaxPeople = func(seq int64, found int) {
		f.say(fmt.Sprintf("frame %d: %d people found, more than max-people %d: drawing the %d largest (said once)", seq, found, o.MaxPeople, o.MaxPeople))
	}
	return o, o.Check()
}

// ensureParts makes the parts for o unless they are made already for the same parameters
// (alpha and color aside: SetLook changes those); false when they cannot be made, said once
// per set of parameters.
func (f *Filter) ensureParts(o pipeline.Options) bool {
	key := f.buildKey()
	if f.tried && key == f.builtFor {
		return f.parts != nil
	}
	f.closeParts()
	f.tried, f.builtFor = true, key
	parts, err := pipeline.Open(o)
	if err == nil {
		f.run, err = stages.NewOneFrame(parts.Config)
		if err != nil {
			parts.Close()
		}
	}
	if err != nil {
		f.say("cannot start, so frames pass through unchanged: " + err.Error())
		return false
	}
	f.parts = parts
	return true
}

// buildKey is every parameter the parts are made from: all but alpha and color.
func (f *Filter) buildKey() string {
	var b strings.Builder
	for i, p := range params {
		if p.Name == "alpha" || p.Name == "color" {
			continue
		}
		fmt.Fprintf(&b, "%q %v|", f.values[i].Text, f.values[i].Number)
	}
	return b.String()
}

func (f *Filter) closeParts() {
	if f.parts == nil {
		return
	}
	if err := f.parts.Close(); err != nil {
		f.say("closing: " + err.Error())
	}
	f.parts, f.run = nil, nil
}

// Close releases the parts and says how many frames passed through because of errors.
// Calling it again does nothing more.
func (f *Filter) Close() {
	f.closeParts()
	if f.failed > 0 {
		f.say(fmt.Sprintf("%d of %d frames passed through unchanged because of errors", f.failed, f.frames))
		f.failed = 0
	}
}

// frameFailed says the first frame error of a Filter; later ones are only counted and summed
// up by Close.
func (f *Filter) frameFailed(err error) {
	f.failed++
	if f.failed == 1 {
		f.say(err.Error() + "; that frame passes through unchanged (later frame errors are only counted)")
	}
}

// once says a message the first time it comes up for this Filter.
func (f *Filter) once(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !f.reported[msg] {
		f.reported[msg] = true
		f.say(msg)
	}
}

func (f *Filter) say(msg string) {
	if f.log != nil {
		f.log(msg)
	}
}
