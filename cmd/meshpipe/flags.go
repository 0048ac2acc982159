package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// flagSet is a flag.FlagSet that also keeps, for the help text, each flag's group, aliases
// and argument name, in the order they were defined. Go's flag package takes -name and
// --name alike.
type flagSet struct {
	fs     *flag.FlagSet
	groups []flagGroup
}

type flagGroup struct {
	title string
	flags []flagDoc
}

type flagDoc struct {
	names      []string // the first is the main name, the rest aliases
	arg, usage string
	def        string // default shown in help; "" for none
}

func newFlags(name string, out io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &flagSet{fs: fs}
}

// group starts a new group of flags in the help text.
func (d *flagSet) group(title string) { d.groups = append(d.groups, flagGroup{title: title}) }

// define registers v under every name in names ("s,video_size") and documents it.
func (d *flagSet) define(v flag.Value, names, arg, usage, def string) {
	ns := strings.Split(names, ",")
	for _, n := range ns {
		d.fs.Var(v, n, usage)
	}
	g := &d.groups[len(d.groups)-1]
	g.flags = append(g.flags, flagDoc{names: ns, arg: arg, usage: usage, def: def})
}

// str, num, float and boolean bind a flag to *p, whose value on entry is the default.
func (d *flagSet) str(p *string, names, arg, usage string) {
	d.define((*stringValue)(p), names, arg, usage, *p)
}

func (d *flagSet) num(p *int, names, arg, usage string) {
	d.define((*intValue)(p), names, arg, usage, strconv.Itoa(*p))
}

func (d *flagSet) float(p *float64, names, arg, usage string) {
	d.define((*floatValue)(p), names, arg, usage, strconv.FormatFloat(*p, 'g', -1, 64))
}

func (d *flagSet) boolean(p *bool, names, usage string) {
	d.define((*boolValue)(p), names, "", usage, "")
}

// fn binds a flag to a function called with each value given, in command-line order.
func (d *flagSet) fn(names, arg, usage, def string, set func(string) error) {
	d.define(funcValue(set), names, arg, usage, def)
}

// boolFn binds a flag without a value to a function called each time it is given.
func (d *flagSet) boolFn(names, usage string, set func() error) {
	d.define(boolFuncValue(set), names, "", usage, "")
}

// usage writes the grouped help.
func (d *flagSet) usage(w io.Writer, head string) {
	fmt.Fprint(w, head)
	for _, g := range d.groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, f := range g.flags {
			name := "-" + strings.Join(f.names, ", -")
			if f.arg != "" {
				name += " " + f.arg
			}
			u := f.usage
			if f.def != "" && f.def != "0" {
				u += " (default " + f.def + ")"
			}
			if len(name) <= 22 {
				fmt.Fprintf(w, "  %-22s %s\n", name, u)
			} else {
				fmt.Fprintf(w, "  %s\n  %-22s %s\n", name, "", u)
			}
		}
	}
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.Itoa(int(*v))
}

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("want a number")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.FormatFloat(float64(*v), 'g', -1, 64)
}

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(v != nil && bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type funcValue func(string) error

func (f funcValue) Set(s string) error { return f(s) }
func (f funcValue) String() string     { return "" }

type boolFuncValue func() error

func (f boolFuncValue) Set(s string) error {
	if b, err := strconv.ParseBool(s); err != nil || !b {
		return fmt.Errorf("takes no value")
	}
	return f()
}
func (f boolFuncValue) String() string   { return "" }
func (f boolFuncValue) IsBoolFlag() bool { return true }
