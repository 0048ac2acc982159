package stages

import (
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// TeePoses returns a PoseWriter that gives each frame's people to every one of ws in order (nil
// ones left out), and stops at the first error, which it returns: the -poses file and the
// -motion recorder of one run, for example. With one writer it returns that writer.
func TeePoses(ws ...PoseWriter) PoseWriter {
	var t teePoses
	for _, w := range ws {
		if w != nil {
			t = append(t, w)
		}
	}
	switch len(t) {
	case 0:
		return nil
	case 1:
		return t[0]
	}
	return t
}

type teePoses []PoseWriter

func (t teePoses) WritePoses(f *rawvideo.Frame, people []human.Person) error {
	for _, w := range t {
		if err := w.WritePoses(f, people); err != nil {
			return err
		}
	}
	return nil
}
