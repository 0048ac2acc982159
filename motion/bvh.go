package motion

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/meshpipe/meshpipe/models"
)

// BVH (Biovision Hierarchy) as meshpipe writes it. The format has no formal specification;
// this is the common reading (M. Meredith and S. Maddock, "Motion capture file formats
// explained", University of Sheffield, 2001) that Blender's importer shares:
//
//   - HIERARCHY: ROOT and JOINT blocks nested as the skeleton, each with an OFFSET from its
//     parent at rest (metres here) and its CHANNELS; a leaf joint ends with an End Site.
//   - MOTION: "Frames: N", "Frame Time: seconds", then one line per frame with every channel's
//     value, joints in the order the hierarchy lists them.
//   - A joint's rotation channels, read left to right, compose its rotation relative to its
//     parent as R = R_first R_second R_third (angles in degrees); a joint's world transform is
//     its parent's, then its OFFSET, then R.
//
// meshpipe's root has OFFSET 0 0 0 and its position channels are the root joint's position in
// the output frame, so readers that add the channels to the offset and readers that replace the
// offset by them agree. The rest pose is the body's T-pose in the body frame, which at rest is
// the output frame (y up, the body facing +z).

// bvhOrder is the rotation channel order of each joint, chosen so that the middle angle (the
// one that can reach gimbal lock at +-90 degrees) turns about the joint's own bone, which
// rarely twists that far: y for the root (turning about the vertical axis is free), x for the
// arms (their bones lie along x at rest), y for the spine, legs, neck and head.
var bvhOrder = func() [models.JointCount]eulerOrder {
	var o [models.JointCount]eulerOrder
	for j := range o {
		o[j] = eulerOrder{2, 1, 0} // Zrotation Yrotation Xrotation
	}
	o[0] = eulerOrder{1, 0, 2} // Yrotation Xrotation Zrotation
	for _, j := range []int{13, 14, 16, 17, 18, 19, 20, 21, 22, 23} {
		o[j] = eulerOrder{2, 0, 1} // Zrotation Xrotation Yrotation
	}
	return o
}()

var axisName = [3]string{"X", "Y", "Z"}

// endSite returns the End Site offset of leaf joint j: 12 cm straight up for the head, else 6 cm
// on along the bone from the parent (the feet and hands). Importers use it only to size the
// last bone.
func (a *animation) endSite(j int) [3]float64 {
	if j == 15 {
		return [3]float64{0, 0.12, 0}
	}
	d := a.restOffset(j)
	n := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
	if n < 1e-6 {
		return [3]float64{0, 0.06, 0}
	}
	return [3]float64{0.06 * d[0] / n, 0.06 * d[1] / n, 0.06 * d[2] / n}
}

// writeBVH writes a's BVH: the hierarchy, then one line per frame from the first found frame to
// the last (frames between found ones interpolated, animation.pose).
func writeBVH(w io.Writer, a *animation, rate float64) error {
	bw := bufio.NewWriter(w)
	kids := children()
	var order []int // joints in the order the hierarchy lists them
	var block func(j, depth int)
	block = func(j, depth int) {
		order = append(order, j)
		in := strings.Repeat("\t", depth)
		if j == 0 {
			bw.WriteString("ROOT " + models.JointNames[j] + "\n")
		} else {
			bw.WriteString(in + "JOINT " + models.JointNames[j] + "\n")
		}
		bw.WriteString(in + "{\n")
		off := a.restOffset(j)
		if j == 0 {
			off = [3]float64{}
		}
		bw.WriteString(in + "\tOFFSET " + fixed3(off) + "\n")
		o := bvhOrder[j]
		rots := axisName[o[0]] + "rotation " + axisName[o[1]] + "rotation " + axisName[o[2]] + "rotation"
		if j == 0 {
			bw.WriteString(in + "\tCHANNELS 6 Xposition Yposition Zposition " + rots + "\n")
		} else {
			bw.WriteString(in + "\tCHANNELS 3 " + rots + "\n")
		}
		for _, c := range kids[j] {
			block(c, depth+1)
		}
		if len(kids[j]) == 0 {
			bw.WriteString(in + "\tEnd Site\n" + in + "\t{\n" + in + "\t\tOFFSET " + fixed3(a.endSite(j)) + "\n" + in + "\t}\n")
		}
		bw.WriteString(in + "}\n")
	}
	bw.WriteString("HIERARCHY\n")
	block(0, 0)

	first, last := a.frames[0], a.frames[len(a.frames)-1]
	bw.WriteString("MOTION\nFrames: " + strconv.FormatInt(last-first+1, 10) + "\n")
	bw.WriteString("Frame Time: " + strconv.FormatFloat(1/rate, 'f', 8, 64) + "\n")
	var prev [models.JointCount][3]float64 // last line's angles, degrees
	line := make([]byte, 0, 1024)
	for f := first; f <= last; f++ {
		root, rot := a.pose(f)
		line = appendFixed(line[:0], root[0])
		line = appendFixed(append(line, ' '), root[1])
		line = appendFixed(append(line, ' '), root[2])
		for _, j := range order {
			e := euler(rot[j].matrix(), bvhOrder[j])
			for k, rad := range e {
				deg := rad * 180 / math.Pi
				if f > first { // the same rotation, nearest to the last line's angle: no 360-degree jumps
					deg += 360 * math.Round((prev[j][k]-deg)/360)
				}
				prev[j][k] = deg
				line = appendFixed(append(line, ' '), deg)
			}
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	return bw.Flush()
}

// appendFixed appends v with 6 decimals (micrometres, micro-degrees), never as "-0.000000".
func appendFixed(b []byte, v float64) []byte {
	n := len(b)
	b = strconv.AppendFloat(b, v, 'f', 6, 64)
	if string(b[n:]) == "-0.000000" {
		b = append(b[:n], "0.000000"...)
	}
	return b
}

func fixed3(v [3]float64) string {
	b := appendFixed(nil, v[0])
	b = appendFixed(append(b, ' '), v[1])
	return string(appendFixed(append(b, ' '), v[2]))
}
