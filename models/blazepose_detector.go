package models

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/meshpipe/meshpipe/human"
)

// PoseDetectorSize is the side in pixels of the square input of BlazePose's person detector
// (MediaPipe pose_detection_cpu.pbtxt: 224x224).
const PoseDetectorSize = 224

// poseAnchorCount is the number of SSD anchors of the detector: 28x28x2 + 14x14x2 + 7x7x6.
const poseAnchorCount = 2254

// The detector's input and output, as scripts/tfjs_to_onnx.py names them after the TF.js graph
// model's signature (-1: the dynamic batch B).
//   - input [B,224,224,3]: RGB, each value x/127.5 - 1 in [-1, 1], NHWC (MediaPipe
//     pose_detection_cpu.pbtxt: output_tensor_float_range -1..1).
//   - person [B,2254,13]: per anchor, the score logit, then the box (x centre, y centre, width,
//     height) and four keypoints (x, y), in pixels of the input relative to the anchor's
//     centre. Keypoint 0 is the middle of the hips, keypoint 1 the point whose distance and
//     direction from it give the body's size and rotation (MediaPipe pose_detection.pbtxt).
var (
	PoseDetectorInput  = TensorSpec{"input", []int64{-1, PoseDetectorSize, PoseDetectorSize, 3}}
	PoseDetectorOutput = TensorSpec{"person", []int64{-1, poseAnchorCount, 13}}
)

// CheckPoseDetectorContract returns an error unless input and outputs are those of the
// converted BlazePose person detector (PoseDetectorInput, and PoseDetectorOutput among the
// outputs). model names the file in the error.
func CheckPoseDetectorContract(model string, input TensorSpec, outputs []TensorSpec) error {
	if err := fits(model, "input", PoseDetectorInput, input); err != nil {
		return fmt.Errorf("%w (the BlazePose detector from scripts/tfjs_to_onnx.py)", err)
	}
	for _, o := range outputs {
		if o.Name == PoseDetectorOutput.Name {
			return fits(model, "output", PoseDetectorOutput, o)
		}
	}
	return fmt.Errorf("model %s: no output %v", model, PoseDetectorOutput)
}

// poseAnchors are the detector's anchor centres, normalised to [0, 1] of the input: MediaPipe's
// SsdAnchorsCalculator with 5 layers of strides 8, 16, 32, 32, 32 on 224 pixels, two anchors per
// layer, layers of one stride sharing their cells, every anchor's centre at its cell's centre
// and of fixed size 1 (pose_detection_cpu.pbtxt: num_layers 5, fixed_anchor_size true).
var poseAnchors = sync.OnceValue(func() [][2]float32 {
	strides := []int{8, 16, 32, 32, 32}
	var a [][2]float32
	for l := 0; l < len(strides); {
		per, last := 0, l
		for last < len(strides) && strides[last] == strides[l] {
			per += 2
			last++
		}
		cells := (PoseDetectorSize + strides[l] - 1) / strides[l]
		for y := 0; y < cells; y++ {
			for x := 0; x < cells; x++ {
				for k := 0; k < per; k++ {
					a = append(a, [2]float32{(float32(x) + 0.5) / float32(cells), (float32(y) + 0.5) / float32(cells)})
				}
			}
		}
		l = last
	}
	return a
})

// minDetectorScore is the detector's score threshold (MediaPipe pose_detection_cpu.pbtxt:
// min_score_thresh 0.5); scores are sigmoids of the logits clipped to [-100, 100]
// (score_clipping_thresh 100).
const minDetectorScore = 0.5

// detectorWindowScale is the side of the square the detector looks at around a person box, in
// box sides: BlazePose's detector is made for whole pictures, in which a person takes a part
// of the frame; a window 2.5 times the box's longer side gives it that context (our choice,
// from looking at vtest.avi, g1.avi and the test photos).
const detectorWindowScale = 2.5

// detectorWindow is the square the detector looks at for a person box: centred on the box,
// upright, with side detectorWindowScale times the box's longer side.
func detectorWindow(b human.Box) ROI {
	return ROI{CX: (b.X1 + b.X2) / 2, CY: (b.Y1 + b.Y2) / 2, Side: detectorWindowScale * max(b.Width(), b.Height())}
}

// detectorScratch is what one detector batch works in: its input crops and windows, its
// output, and what it found per region.
type detectorScratch struct {
	crops []float32
	shape [4]int64
	wins  []ROI
	out   map[string]Tensor
	rois  []ROI  // per region, the ROI the detector's keypoints give
	ok    []bool // per region, whether the detector found the person
}

// detect runs the detector on a window around each region's detection, in its frame (one
// batch), and sets, where it finds a person whose body centre lies within the detection's box
// (grown by a tenth), s.rois[i] to the region its keypoints give and s.ok[i] to true; the
// best-scoring such person is taken.
func (b *BlazePose) detect(s *detectorScratch, regs []region) error {
	const per = PoseDetectorSize * PoseDetectorSize * 3
	n := len(regs)
	s.crops = resize(s.crops, n*per)
	s.wins = slices.Grow(s.wins[:0], n)[:n]
	for i, r := range regs {
		s.wins[i] = detectorWindow(r.det.Box)
		cropSquare(s.crops[i*per:(i+1)*per], r.frame, s.wins[i], PoseDetectorSize, 1/127.5, -1)
	}
	s.shape = [4]int64{int64(n), PoseDetectorSize, PoseDetectorSize, 3}
	if err := runInto(b.opt.Detector, Tensor{Shape: s.shape[:], Data: s.crops}, s.out); err != nil {
		return err
	}
	t, ok := s.out[PoseDetectorOutput.Name]
	if want := n * poseAnchorCount * 13; !ok || len(t.Data) != want {
		return fmt.Errorf("pose detector: output %s has %d values for a batch of %d, want %d (shape %v)",
			PoseDetectorOutput.Name, len(t.Data), n, want, PoseDetectorOutput.Shape)
	}
	anchors := poseAnchors()
	s.rois = slices.Grow(s.rois[:0], n)[:n]
	s.ok = slices.Grow(s.ok[:0], n)[:n]
	for i, r := range regs {
		box := r.det.Box
		rows := t.Data[i*poseAnchorCount*13 : (i+1)*poseAnchorCount*13]
		// The box, grown by a tenth, where the body's centre must lie.
		mx, my := box.Width()/10, box.Height()/10
		best, bestLogit := -1, float32(math.Inf(-1))
		var centre, scale [2]float32
		for a := 0; a < poseAnchorCount; a++ {
			r := rows[13*a : 13*a+13]
			logit := max(-100, min(100, r[0]))
			if sigmoid(logit) < minDetectorScore || logit <= bestLogit {
				continue
			}
			at := func(k int) [2]float32 {
				x := (r[5+2*k]/PoseDetectorSize + anchors[a][0]) * BlazePoseSize
				y := (r[6+2*k]/PoseDetectorSize + anchors[a][1]) * BlazePoseSize
				fx, fy := s.wins[i].ToFrame(x, y)
				return [2]float32{fx, fy}
			}
			c := at(0)
			if c[0] < box.X1-mx || c[0] > box.X2+mx || c[1] < box.Y1-my || c[1] > box.Y2+my {
				continue
			}
			best, bestLogit, centre, scale = a, logit, c, at(1)
		}
		s.rois[i], s.ok[i] = ROI{}, best >= 0
		if best >= 0 {
			s.rois[i] = ROIOfKeypoints(centre, scale)
		}
	}
	return nil
}
