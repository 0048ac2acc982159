package models

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/internal/testenv"
)

var identity = [9]float32{1, 0, 0, 0, 1, 0, 0, 0, 1}

func restPose() *[23 * 9]float32 {
	var p [23 * 9]float32
	for j := 0; j < 23; j++ {
		copy(p[j*9:], identity[:])
	}
	return &p
}

func rotZ(deg float64) [9]float32 {
	c, s := float32(math.Cos(deg*math.Pi/180)), float32(math.Sin(deg*math.Pi/180))
	return [9]float32{c, -s, 0, s, c, 0, 0, 0, 1}
}

func TestMannequinIsWellFormed(t *testing.T) {
	b := Mannequin()
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < b.VertexCount(); i++ {
		var sum float32
		for _, w := range b.Weights[i*JointCount : (i+1)*JointCount] {
			sum += w
		}
		if math.Abs(float64(sum-1)) > 1e-6 {
			t.Fatalf("vertex %d weights sum to %v", i, sum)
		}
	}
	lo, hi := float32(1e9), float32(-1e9)
	for i := 1; i < len(b.Template); i += 3 {
		lo, hi = min(lo, b.Template[i]), max(hi, b.Template[i])
	}
	if h := hi - lo; h < 1.6 || h > 1.8 {
		t.Errorf("mannequin is %.2f m tall, want about 1.70", h)
	}
	t.Logf("mannequin: %d vertices, %d triangles", b.VertexCount(), len(b.Faces)/3)
}

// With every joint at identity, skinning leaves the template where it is.
func TestPoseRestIsTemplate(t *testing.T) {
	b := Mannequin()
	dst := make([]float32, len(b.Template))
	joints := b.Pose(&human.Pose{GlobalOrient: identity, BodyPose: *restPose()}, dst)
	for i := range dst {
		if math.Abs(float64(dst[i]-b.Template[i])) > 1e-6 {
			t.Fatalf("value %d: %v, want %v", i, dst[i], b.Template[i])
		}
	}
	for j := range joints {
		for k := 0; k < 3; k++ {
			if math.Abs(float64(joints[j][k]-b.Joints[j][k])) > 1e-6 {
				t.Fatalf("rest joint %d moved to %v", j, joints[j])
			}
		}
	}
}

// Turning the left shoulder by 90 degrees about z swings the left hand joint from
// (0.76, 0.21) to (0.17 + 0.02, 0.23 + 0.59) about the shoulder at (0.17, 0.23) -- worked by
// hand: the shoulder-to-hand offset (0.59, -0.02) turns to (0.02, 0.59). The right arm and the
// legs stay put, and the vertices skinned fully to the left hand move with it.
func TestPoseShoulderByHand(t *testing.T) {
	b := Mannequin()
	pose := restPose()
	r := rotZ(90)
	copy(pose[15*9:], r[:]) // body_pose row 15 is joint 16, the left shoulder
	dst := make([]float32, len(b.Template))
	joints := b.Pose(&human.Pose{GlobalOrient: identity, BodyPose: *pose}, dst)
	want := [3]float32{0.19, 0.82, -0.04}
	for k := range want {
		if math.Abs(float64(joints[22][k]-want[k])) > 1e-6 {
			t.Fatalf("left hand at %v, want %v", joints[22], want)
		}
	}
	if joints[23] != b.Joints[23] || joints[10] != b.Joints[10] {
		t.Fatalf("right hand or left foot moved: %v %v", joints[23], joints[10])
	}
	moved := 0
	for i := 0; i < b.VertexCount(); i++ {
		if b.Weights[i*JointCount+22] == 1 || b.Weights[i*JointCount+20] == 1 {
			p := [3]float32{dst[3*i], dst[3*i+1], dst[3*i+2]}
			if p[1] < 0.5 {
				t.Fatalf("left-hand vertex %d stayed low at %v", i, p)
			}
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no vertex is skinned to the left hand")
	}
}

// A root rotation turns the whole body rigidly about the rest pelvis.
func TestPoseGlobalOrientIsRigid(t *testing.T) {
	b := Mannequin()
	flip := [9]float32{1, 0, 0, 0, -1, 0, 0, 0, -1}
	dst := make([]float32, len(b.Template))
	b.Pose(&human.Pose{GlobalOrient: flip, BodyPose: *restPose()}, dst)
	j0 := b.Joints[0]
	for i := 0; i < b.VertexCount(); i++ {
		v := [3]float32{b.Template[3*i], b.Template[3*i+1], b.Template[3*i+2]}
		want := [3]float32{v[0], 2*j0[1] - v[1], 2*j0[2] - v[2]}
		for k := range want {
			if math.Abs(float64(dst[3*i+k]-want[k])) > 1e-5 {
				t.Fatalf("vertex %d at %v, want %v", i, dst[3*i:3*i+3], want)
			}
		}
	}
}

// The committed stand-in is what scripts/make_standin.py makes.
func TestStandInIsReproducible(t *testing.T) {
	root := testenv.Root(t)
	out := filepath.Join(t.TempDir(), "standin.onnx")
	cmd := exec.Command("/usr/bin/python3", filepath.Join(root, "scripts", "make_standin.py"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/make_standin.py (needs Debian's python3-onnx, installed by scripts/setup.sh): %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, StandIn) {
		t.Fatalf("models/standin.onnx (%d bytes) differs from the script's output (%d bytes): rerun the script", len(StandIn), len(got))
	}
}

// The stand-in's pred_cam (scripts/make_standin.py) rests on these extents of the mannequin.
func TestMannequinExtents(t *testing.T) {
	b := Mannequin()
	lo, hi := float32(1e9), float32(-1e9)
	for i := 1; i < len(b.Template); i += 3 {
		lo, hi = min(lo, b.Template[i]), max(hi, b.Template[i])
	}
	if math.Abs(float64(hi-0.53)) > 0.002 || math.Abs(float64(lo+1.17)) > 0.002 {
		t.Fatalf("mannequin spans y %.3f..%.3f m, want -1.17..0.53", lo, hi)
	}
}
