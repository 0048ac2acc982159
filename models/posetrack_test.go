package models

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// brightCut is the crop value (x/255) above which the fake landmark model takes a pixel for
// part of a person: white rectangles are people, black and mid-grey backgrounds are not.
const brightCut = 0.75

// stickPoints places the 33 landmarks of an upright stick figure facing the camera in the box
// (x0, y0)-(x1, y1) as fractions (u across from the left, v down from the top): the eyes at the
// top, the hips' middle at the centre, the feet at the bottom, the hands at the sides. The
// person's left is the image's right.
var stickPoints = func() [LandmarkCount][2]float32 {
	var p [LandmarkCount][2]float32
	set := func(m int, u, v float32) { p[m] = [2]float32{u, v} }
	pair := func(left, right int, du, v float32) { set(left, 0.5+du, v); set(right, 0.5-du, v) }
	set(LmNose, 0.5, 0.05)
	pair(LmLeftEyeInner, LmRightEyeInner, 0.05, 0)
	pair(LmLeftEye, LmRightEye, 0.08, 0)
	pair(LmLeftEyeOuter, LmRightEyeOuter, 0.11, 0)
	pair(LmLeftEar, LmRightEar, 0.15, 0.02)
	pair(LmMouthLeft, LmMouthRight, 0.05, 0.08)
	pair(LmLeftShoulder, LmRightShoulder, 0.3, 0.2)
	pair(LmLeftElbow, LmRightElbow, 0.38, 0.35)
	pair(LmLeftWrist, LmRightWrist, 0.42, 0.48)
	pair(LmLeftPinky, LmRightPinky, 0.5, 0.52)
	pair(LmLeftIndex, LmRightIndex, 0.46, 0.53)
	pair(LmLeftThumb, LmRightThumb, 0.4, 0.51)
	pair(LmLeftHip, LmRightHip, 0.15, 0.5)
	pair(LmLeftKnee, LmRightKnee, 0.15, 0.73)
	pair(LmLeftAnkle, LmRightAnkle, 0.15, 0.94)
	pair(LmLeftHeel, LmRightHeel, 0.15, 0.97)
	pair(LmLeftFootIndex, LmRightFootIndex, 0.18, 1)
	return p
}()

// stickLandmarks is a fake BlazePose landmark model that sees the bright pixels of each crop
// of its batch as one upright person filling their bbox (stickPoints, in pixels of the crop;
// aux point 33, the body's centre, at the hips' middle and 34, the scale point, at the top
// middle; flag 0.9), and no body (flag 0.05) in a crop without bright pixels. It is safe for
// concurrent use and counts the crops it was given.
type stickLandmarks struct {
	mu    sync.Mutex
	crops int
}

func (r *stickLandmarks) Run(in Tensor) (map[string]Tensor, error) {
	if len(in.Shape) != 4 || in.Shape[1] != BlazePoseSize || in.Shape[2] != BlazePoseSize || in.Shape[3] != 3 {
		return nil, fmt.Errorf("stickLandmarks: input shape %v, want [B 256 256 3]", in.Shape)
	}
	b := int(in.Shape[0])
	r.mu.Lock()
	r.crops += b
	r.mu.Unlock()
	const n = LandmarkCount + blazePoseAux
	const per = BlazePoseSize * BlazePoseSize * 3
	ld := make([]float32, b*5*n)
	world := make([]float32, b*3*n)
	flag := make([]float32, b)
	for k := 0; k < b; k++ {
		crop := in.Data[k*per : (k+1)*per]
		x0, y0, x1, y1 := BlazePoseSize, BlazePoseSize, -1, -1
		for j := 0; j < BlazePoseSize; j++ {
			for i := 0; i < BlazePoseSize; i++ {
				o := 3 * (j*BlazePoseSize + i)
				if crop[o] > brightCut && crop[o+1] > brightCut && crop[o+2] > brightCut {
					x0, y0, x1, y1 = min(x0, i), min(y0, j), max(x1, i), max(y1, j)
				}
			}
		}
		if x1 < 0 {
			flag[k] = 0.05
			// An empty crop still gets finite landmarks: a small figure in the middle.
			x0, y0, x1, y1 = 120, 100, 135, 155
		} else {
			flag[k] = 0.9
		}
		// The bbox in crop pixels: pixel i spans [i, i+1).
		bx0, by0, bx1, by1 := float32(x0), float32(y0), float32(x1+1), float32(y1+1)
		w, h := bx1-bx0, by1-by0
		l := ld[k*5*n : (k+1)*5*n]
		wd := world[k*3*n : (k+1)*3*n]
		put := func(m int, x, y float32) {
			l[5*m], l[5*m+1], l[5*m+2] = x, y, 0
			l[5*m+3], l[5*m+4] = 10, 10 // visibility and presence logits: seen, present
			// World: a 1.7 m figure, metres around the hips' middle, nose towards the camera.
			wd[3*m] = (x - (bx0+bx1)/2) / h * 1.7
			wd[3*m+1] = (y - (by0+by1)/2) / h * 1.7
			if m == LmNose {
				wd[3*m+2] = -0.1
			}
		}
		for m, p := range stickPoints {
			put(m, bx0+p[0]*w, by0+p[1]*h)
		}
		put(LandmarkCount, (bx0+bx1)/2, (by0+by1)/2) // the body's centre: the hips' middle
		put(LandmarkCount+1, (bx0+bx1)/2, by0)       // the scale point: the top
		for m := LandmarkCount + 2; m < n; m++ {
			put(m, (bx0+bx1)/2, (by0+by1)/2)
		}
	}
	return map[string]Tensor{
		"ld_3d":           {Shape: []int64{int64(b), 5 * n}, Data: ld},
		"world_3d":        {Shape: []int64{int64(b), 3 * n}, Data: world},
		"output_poseflag": {Shape: []int64{int64(b), 1}, Data: flag},
	}, nil
}

// rectDetector is a fake person detector: on frame Seq it returns the boxes scene(Seq) gives
// (the rectangles drawn on it) followed by extra (boxes over nothing), nothing where miss
// says so, and an error or a panic on the frames fail or panicOn name. It records the frames
// it ran on.
type rectDetector struct {
	scene   func(seq int64) []human.Box
	extra   []human.Box
	miss    func(seq int64) bool
	fail    map[int64]bool
	panicOn map[int64]bool

	mu    sync.Mutex
	calls []int64
}

func (d *rectDetector) Detect(f *rawvideo.Frame) ([]human.Detection, error) {
	d.mu.Lock()
	d.calls = append(d.calls, f.Seq)
	d.mu.Unlock()
	if d.panicOn[f.Seq] {
		panic("detector blew up")
	}
	if d.fail[f.Seq] {
		return nil, errors.New("detector failed")
	}
	if d.miss != nil && d.miss(f.Seq) {
		return nil, nil
	}
	var dets []human.Detection
	for _, b := range d.scene(f.Seq) {
		dets = append(dets, human.Detection{Box: b, Score: 0.9})
	}
	for _, b := range d.extra {
		dets = append(dets, human.Detection{Box: b, Score: 0.6})
	}
	return dets, nil
}

// ran returns the frames the detector ran on, in order.
func (d *rectDetector) ran() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// rectFrame draws frame seq: w x h rgb24, every channel bg, with white rectangles rects.
func rectFrame(t *testing.T, seq int64, w, h int, bg byte, rects []human.Box) *rawvideo.Frame {
	t.Helper()
	f, err := rawvideo.NewFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	f.Seq = seq
	for i := range f.Pix {
		f.Pix[i] = bg
	}
	for _, r := range rects {
		for y := max(int(r.Y1), 0); y < min(int(r.Y2), h); y++ {
			for x := max(int(r.X1), 0); x < min(int(r.X2), w); x++ {
				o := y*f.Stride + 3*x
				f.Pix[o], f.Pix[o+1], f.Pix[o+2] = 255, 255, 255
			}
		}
	}
	return f
}

// walker is a 30 x 90 px rectangle at (x, y) that moves vx px a frame.
func walker(x, y, vx float32, seq int64) human.Box {
	x += vx * float32(seq)
	return human.Box{X1: x, Y1: y, X2: x + 30, Y2: y + 90}
}

// newStickTracker returns a tracker over det and the stick landmark model with the given
// settings.
func newStickTracker(det Detector, every, workers, maxLost int) (*PoseTracker, *stickLandmarks) {
	lm := &stickLandmarks{}
	tr := NewPoseTracker(det, NewBlazePose("stick", lm, Mannequin(), BlazePoseOptions{}))
	tr.Every, tr.Workers, tr.MaxLost = every, workers, maxLost
	return tr, lm
}

// centreOff returns how far apart the centres of a and b are, in pixels.
func centreOff(a, b human.Box) float64 {
	return math.Hypot(float64((a.X1+a.X2)/2-(b.X1+b.X2)/2), float64((a.Y1+a.Y2)/2-(b.Y1+b.Y2)/2))
}

// A person walking steadily is tracked by the landmark model's regions: the detector runs only
// on frames 0, 10 and 20 (Every 10), the person is found on every frame under one id, and the
// box follows the rectangle.
func TestPoseTrackerFollows(t *testing.T) {
	scene := func(seq int64) []human.Box { return []human.Box{walker(40, 60, 3, seq)} }
	det := &rectDetector{scene: scene}
	tr, lm := newStickTracker(det, 10, 1, 3)
	var people []human.Person
	id := 0
	for seq := int64(0); seq < 30; seq++ {
		var err error
		people, err = tr.TrackInto(rectFrame(t, seq, 320, 240, 0, scene(seq)), people)
		if err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		if len(people) != 1 {
			t.Fatalf("frame %d: %d people, want 1", seq, len(people))
		}
		p := people[0]
		if p.Status != human.PoseFound || p.TrackID == 0 {
			t.Fatalf("frame %d: status %v, track %d; want found and tracked", seq, p.Status, p.TrackID)
		}
		if id == 0 {
			id = p.TrackID
		} else if p.TrackID != id {
			t.Fatalf("frame %d: track %d, want %d throughout", seq, p.TrackID, id)
		}
		if d := centreOff(p.Box, scene(seq)[0]); d > 3 {
			t.Errorf("frame %d: box %v is %.1f px off the rectangle %v", seq, p.Box, d, scene(seq)[0])
		}
	}
	if got, want := det.ran(), []int64{0, 10, 20}; !slices.Equal(got, want) {
		t.Errorf("the detector ran on frames %v, want %v", got, want)
	}
	times := tr.Times()
	if times.Frames != 30 || times.DetectorRuns != 3 || times.SceneCuts != 0 || times.RegionsFound != 1 || times.Tracked != 29 {
		t.Errorf("times %+v: want 30 frames, 3 detector runs, no cut, 1 region placed, 29 tracked", times)
	}
	if lm.crops != 30 {
		t.Errorf("the landmark model saw %d crops, want 30 (one a frame)", lm.crops)
	}
}

// trackRun is one frame's people, as the tests compare them.
type trackRun struct {
	ids      []int
	statuses []human.PoseStatus
	boxes    []human.Box
}

// runTracker tracks frames 0..n-1 of scene (on background bg) and returns each frame's people.
func runTracker(t *testing.T, tr *PoseTracker, n int64, bg func(seq int64) byte, scene func(seq int64) []human.Box) []trackRun {
	t.Helper()
	var people []human.Person
	var runs []trackRun
	for seq := int64(0); seq < n; seq++ {
		var err error
		people, err = tr.TrackInto(rectFrame(t, seq, 320, 240, bg(seq), scene(seq)), people)
		if err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		var r trackRun
		for _, p := range people {
			r.ids = append(r.ids, p.TrackID)
			r.statuses = append(r.statuses, p.Status)
			r.boxes = append(r.boxes, p.Box)
		}
		runs = append(runs, r)
	}
	return runs
}

func black(int64) byte { return 0 }

// A person who vanishes for 3 frames (MaxLost 3) is missing under the same id on those frames,
// the detector looks at once on the frame after the loss, and the same id is found again when
// the person is back; after a gap longer than MaxLost the track ends and the person comes back
// under a new id.
func TestPoseTrackerDropout(t *testing.T) {
	for _, c := range []struct {
		gap     int64
		sameID  bool
		missing []int64 // the frames on which the first track is missing
	}{
		{gap: 3, sameID: true, missing: []int64{12, 13, 14}},
		{gap: 6, sameID: false, missing: []int64{12, 13, 14, 15}}, // lost 4 > MaxLost: ends on 15
	} {
		t.Run(fmt.Sprint("gap", c.gap), func(t *testing.T) {
			const from = 12
			gone := func(seq int64) bool { return seq >= from && seq < from+c.gap }
			scene := func(seq int64) []human.Box {
				if gone(seq) {
					return nil
				}
				return []human.Box{walker(40, 60, 2, seq)}
			}
			det := &rectDetector{scene: scene}
			tr, _ := newStickTracker(det, 10, 1, 3)
			runs := runTracker(t, tr, 30, black, scene)
			first := runs[0].ids[0]
			for seq, r := range runs {
				seq := int64(seq)
				switch {
				case slices.Contains(c.missing, seq):
					if len(r.ids) != 1 || r.ids[0] != first || r.statuses[0] != human.PoseMissing {
						t.Errorf("frame %d (gone): ids %v, statuses %v; want track %d missing", seq, r.ids, r.statuses, first)
					}
				case gone(seq):
					if len(r.ids) != 0 {
						t.Errorf("frame %d (gone, track ended): ids %v, want nobody", seq, r.ids)
					}
				default:
					if len(r.ids) != 1 || r.statuses[0] != human.PoseFound {
						t.Fatalf("frame %d: ids %v, statuses %v; want one person found", seq, r.ids, r.statuses)
					}
					if d := centreOff(r.boxes[0], scene(seq)[0]); d > 3 {
						t.Errorf("frame %d: box %v is %.1f px off the rectangle", seq, r.boxes[0], d)
					}
					if back := seq >= from+c.gap; back && (r.ids[0] == first) != c.sameID {
						t.Errorf("frame %d (back): track %d, first track %d; same id wanted: %v", seq, r.ids[0], first, c.sameID)
					}
				}
			}
			ran := det.ran()
			if !slices.Contains(ran, from+1) {
				t.Errorf("the detector ran on frames %v, not on %d, the frame after the loss", ran, from+1)
			}
			if c.sameID && slices.Contains(ran, from+2) {
				t.Errorf("the detector ran on frames %v: on %d too, though a track was lost only on %d", ran, from+2, from)
			}
		})
	}
}

// PoseHold after the tracker bridges a dropout of up to MaxLost frames: the lost track keeps
// its id on every frame of the gap, so that each of them is held, not only the first.
func TestPoseTrackerHeldThroughDropout(t *testing.T) {
	scene := func(seq int64) []human.Box {
		if seq >= 6 && seq < 9 {
			return nil
		}
		return []human.Box{walker(40, 60, 2, seq)}
	}
	tr, _ := newStickTracker(&rectDetector{scene: scene}, 10, 1, 3)
	hold := NewPoseHold(DefaultHoldFrames)
	var people []human.Person
	for seq := int64(0); seq < 12; seq++ {
		f := rectFrame(t, seq, 320, 240, 0, scene(seq))
		var err error
		if people, err = tr.TrackInto(f, people); err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		if err := hold.FilterPeople(f, people); err != nil {
			t.Fatal(err)
		}
		want := human.PoseFound
		if scene(seq) == nil {
			want = human.PoseHeld
		}
		if len(people) != 1 {
			t.Fatalf("frame %d: %d people, want 1", seq, len(people))
		}
		if p := people[0]; p.Status != want {
			t.Errorf("frame %d: track %d %v, want %v", seq, p.TrackID, p.Status, want)
		}
	}
}

// A detection over an empty area gives a PoseMissing person without a track (TrackID 0) on the
// frame it is made and on candidateTries frames after, then nothing until the detector runs
// again; the real person is found under one id throughout.
func TestPoseTrackerEmptyDetection(t *testing.T) {
	scene := func(seq int64) []human.Box { return []human.Box{walker(40, 60, 2, seq)} }
	empty := human.Box{X1: 240, Y1: 100, X2: 270, Y2: 190}
	det := &rectDetector{scene: scene, extra: []human.Box{empty}}
	tr, _ := newStickTracker(det, 10, 1, 3)
	runs := runTracker(t, tr, 14, black, scene)
	if got, want := det.ran(), []int64{0, 10}; !slices.Equal(got, want) {
		t.Errorf("the detector ran on frames %v, want %v", got, want)
	}
	real := runs[0].ids[0]
	for seq, r := range runs {
		tried := seq%10 <= candidateTries // the detection's frame and the tries after it
		want := 1
		if tried {
			want = 2
		}
		if len(r.ids) != want {
			t.Fatalf("frame %d: ids %v, statuses %v; want %d people", seq, r.ids, r.statuses, want)
		}
		if r.ids[0] != real || real == 0 || r.statuses[0] != human.PoseFound {
			t.Errorf("frame %d: the real person is track %d, %v; want track %d found", seq, r.ids[0], r.statuses[0], real)
		}
		if tried && (r.ids[1] != 0 || r.statuses[1] != human.PoseMissing) {
			t.Errorf("frame %d: the empty detection is track %d, %v; want 0, missing", seq, r.ids[1], r.statuses[1])
		}
	}
}

// A frame whose background turns from black to grey starts a new scene: it is counted, the
// detector runs on it, a person at the same place keeps their id, and a track no detection
// continues ends.
func TestPoseTrackerSceneCut(t *testing.T) {
	const cutAt = 5
	bg := func(seq int64) byte {
		if seq >= cutAt {
			return 128
		}
		return 0
	}
	// One person stays in place across the cut; another one stays drawn, but the detector
	// reports them only before the cut, so that the cut alone ends their track.
	stay := walker(40, 60, 0, 0)
	left := walker(220, 60, 0, 0)
	scene := func(seq int64) []human.Box { return []human.Box{stay, left} }
	det := &rectDetector{scene: func(seq int64) []human.Box {
		if seq >= cutAt {
			return []human.Box{stay}
		}
		return []human.Box{stay, left}
	}}
	tr, _ := newStickTracker(det, 10, 1, 3)
	runs := runTracker(t, tr, 9, bg, scene)
	if times := tr.Times(); times.SceneCuts != 1 {
		t.Errorf("%d scene cuts, want 1", times.SceneCuts)
	}
	if got, want := det.ran(), []int64{0, cutAt}; !slices.Equal(got, want) {
		t.Errorf("the detector ran on frames %v, want %v", got, want)
	}
	ids := runs[0].ids
	if len(ids) != 2 {
		t.Fatalf("frame 0: ids %v, want 2 people", ids)
	}
	for seq := cutAt; seq < len(runs); seq++ {
		r := runs[seq]
		if !slices.Equal(r.ids, ids[:1]) || r.statuses[0] != human.PoseFound {
			t.Errorf("frame %d: ids %v, statuses %v; want only track %d, found", seq, r.ids, r.statuses, ids[0])
		}
	}
}

// A detector error or panic comes back as an error naming the frame, with nobody; the next
// frame is tracked as if the failed one had not been.
func TestPoseTrackerErrors(t *testing.T) {
	scene := func(seq int64) []human.Box { return []human.Box{walker(40, 60, 2, seq)} }
	for _, c := range []struct {
		name string
		det  *rectDetector
		at   int64
		want string
	}{
		{"fails", &rectDetector{scene: scene, fail: map[int64]bool{10: true}}, 10, "frame 10: detector: detector failed"},
		{"panics", &rectDetector{scene: scene, panicOn: map[int64]bool{10: true}}, 10, "frame 10: panic: detector blew up"},
		{"fails first", &rectDetector{scene: scene, fail: map[int64]bool{0: true}}, 0, "frame 0: detector: detector failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, _ := newStickTracker(c.det, 10, 2, 3)
			people := make([]human.Person, 0, 4)
			id := 0
			for seq := int64(0); seq < 14; seq++ {
				var err error
				people, err = tr.TrackInto(rectFrame(t, seq, 320, 240, 0, scene(seq)), people)
				if seq == c.at {
					if err == nil || !strings.Contains(err.Error(), c.want) {
						t.Fatalf("frame %d: error %v, want %q", seq, err, c.want)
					}
					if len(people) != 0 {
						t.Errorf("frame %d: %d people with the error, want none", seq, len(people))
					}
					continue
				}
				if err != nil {
					t.Fatalf("frame %d: %v", seq, err)
				}
				if len(people) != 1 || people[0].Status != human.PoseFound {
					t.Fatalf("frame %d: %d people (%v), want one found", seq, len(people), people)
				}
				if id == 0 {
					id = people[0].TrackID
				} else if people[0].TrackID != id {
					t.Errorf("frame %d: track %d, want %d as before the error", seq, people[0].TrackID, id)
				}
				if d := centreOff(people[0].Box, scene(seq)[0]); d > 3 {
					t.Errorf("frame %d: box %v is %.1f px off the rectangle", seq, people[0].Box, d)
				}
			}
		})
	}
	bare := NewPoseTracker(nil, nil)
	f := rectFrame(t, 3, 32, 24, 0, nil)
	if _, err := bare.TrackInto(f, nil); err == nil || !strings.Contains(err.Error(), "frame 3") {
		t.Errorf("a tracker without models: error %v, want one naming frame 3", err)
	}
}

// Two people side by side are two tracks with distinct ids, and two landmark workers give the
// same people (boxes, ids, statuses) as one.
func TestPoseTrackerTwoPeople(t *testing.T) {
	scene := func(seq int64) []human.Box {
		return []human.Box{walker(40, 60, 2, seq), walker(220, 80, -2, seq)}
	}
	var runs [2][]trackRun
	for w := 1; w <= 2; w++ {
		tr, _ := newStickTracker(&rectDetector{scene: scene}, 10, w, 3)
		runs[w-1] = runTracker(t, tr, 20, black, scene)
	}
	for seq, r := range runs[0] {
		if len(r.ids) != 2 || r.ids[0] == r.ids[1] || r.ids[0] == 0 || r.ids[1] == 0 {
			t.Fatalf("frame %d: ids %v, want two distinct tracks", seq, r.ids)
		}
		if !slices.Equal(r.ids, runs[0][0].ids) {
			t.Errorf("frame %d: ids %v, want %v throughout", seq, r.ids, runs[0][0].ids)
		}
		for k, b := range scene(int64(seq)) {
			if r.statuses[k] != human.PoseFound {
				t.Errorf("frame %d: person %d %v, want found", seq, k, r.statuses[k])
			}
			if d := centreOff(r.boxes[k], b); d > 3 {
				t.Errorf("frame %d: person %d's box %v is %.1f px off the rectangle %v", seq, k, r.boxes[k], d, b)
			}
		}
		two := runs[1][seq]
		if !slices.Equal(r.ids, two.ids) || !slices.Equal(r.statuses, two.statuses) || !slices.Equal(r.boxes, two.boxes) {
			t.Errorf("frame %d: one worker gives %+v, two give %+v", seq, r, two)
		}
	}
}

// learningDetector is a rectDetector that says it learns from every frame (a Learner, as
// background subtraction is).
type learningDetector struct{ *rectDetector }

func (learningDetector) LearnsEveryFrame() bool { return true }

// A detector that learns from every frame runs on every frame, through Capped too, whatever
// the schedule says; the tracks still come from the landmarks.
func TestPoseTrackerLearnerEveryFrame(t *testing.T) {
	scene := func(seq int64) []human.Box { return []human.Box{walker(40, 60, 3, seq)} }
	det := &rectDetector{scene: scene}
	tr, _ := newStickTracker(&Capped{Detector: learningDetector{det}, Max: 4}, 10, 1, 3)
	var people []human.Person
	for seq := int64(0); seq < 12; seq++ {
		var err error
		if people, err = tr.TrackInto(rectFrame(t, seq, 320, 240, 0, scene(seq)), people); err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		if len(people) != 1 || people[0].Status != human.PoseFound {
			t.Fatalf("frame %d: %d people (%v), want one found", seq, len(people), people)
		}
	}
	if got := det.ran(); len(got) != 12 {
		t.Errorf("the detector ran on frames %v, want every one of 12", got)
	}
	if times := tr.Times(); times.RegionsFound != 1 {
		t.Errorf("%d regions placed by detections, want 1 (the rest tracked)", times.RegionsFound)
	}
}
