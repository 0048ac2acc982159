package models

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/rawvideo"
)

// DefaultDetectEvery is how often, by default, PoseTracker runs the person detector while it
// tracks people: every 10 frames (a third of a second at 30 fps, a second at vtest.avi's 10
// fps), besides the frames on which it must (nobody tracked, a track lost, a scene cut). A
// person who walks into the picture is found within that many frames; the people already
// tracked do not need it (our choice: MediaPipe's pose tracking runs its detector only when it
// has lost the body).
const DefaultDetectEvery = 10

// trackMinIoU is the least IoU between a detector box and a track's box for the detection to
// be that track's person (as DefaultTrackMinIoU for the box tracker).
const trackMinIoU = 0.3

// trackFoundIoU is the least IoU between a detector box and the landmark box of a track found
// on the frame before for the detection to be that track's person. It is higher than
// trackMinIoU because a found track needs nothing from its detection, while a detection wrongly
// given to it is a person left untracked (beside someone walking close by). For the same person
// the two boxes overlap by 0.7 at the median on vtest.avi (the landmark box ends at the eyes,
// the detector's at the top of the head), and by 0.48 at the 10th percentile.
const trackFoundIoU = 0.5

// trackCoveredShare is the least share of a found track's landmark box inside a detector box
// that no track matched for the detection to be taken for that track's person rather than a
// new one (a person beside another, overlapping their box by a third, is new).
const trackCoveredShare = 0.6

// candidateTries is how many frames after the first a detection whose region showed no body
// is looked at again in its box before it is given up (a person coming in at the frame's edge
// is often found a frame or two later); the detector's next run may start it again.
const candidateTries = 1

// trackDuplicateIoU is the IoU between two found tracks' landmark boxes above which they are
// taken for one person (two regions that drifted onto the same body); the younger track ends.
const trackDuplicateIoU = 0.6

// lostOverFoundIoU is the IoU between a lost track's box and a found track's landmark box above
// which the lost one is taken for the same person, found again under the other id.
const lostOverFoundIoU = 0.5

// sceneCutDistance is the L1 distance between two consecutive frames' luma histograms (each
// summing to 1, so the distance lies in [0, 2]) above which the second frame starts a new
// scene: a cut changes what the frame shows and so its histogram, while a pan or people moving
// keep most of it (our choice; vtest.avi's consecutive frames differ by under 0.1).
const sceneCutDistance = 0.5

// PoseTracker finds and poses the people of a stream of frames the way MediaPipe's pose
// tracking does (pose_landmark_by_roi and pose_landmarks_to_roi): each person is a track, and
// the region of interest of a track on a frame comes from its landmarks on the frame before
// (ROIOfKeypoints of its alignment points), so that neither the person detector nor
// BlazePose's region detector runs for the people already tracked. The person detector runs
// on the first frame, every Every frames after its last run, and at once whenever nobody is
// tracked, a track was lost on the frame before (its first frame without a body), an
// established track was found on the same body as another, or the frame starts a new scene
// (its luma histogram differs from the frame before's by more than sceneCutDistance). It runs
// beside the landmark model on the tracked regions, since it needs only the tracks' boxes of
// the frame before. Its boxes are matched to the tracks greedily by IoU (at least
// trackFoundIoU with a track found on the frame before, trackMinIoU with a lost one); a box
// left over starts a new track unless 60% of a found track's landmark box lies inside it
// (trackCoveredShare). A new track's first region, and that of a lost track a box matched (of
// every matched track, on a scene cut, when the tracks no box matched end), is placed as for
// any detection (BlazePose's region detector, else the box: BlazePose.EstimateDetailed); its
// id is kept.
//
// A track whose landmarks show no body (pose flag below 0.3, or a body leaning over 45
// degrees in an upright box) is lost: its person is human.PoseMissing on that frame (a
// stages.PeopleFilter such as PoseHold may hold the pose), it is looked for in its last region
// moved on by its velocity, and it ends after MaxLost frames without a body. A new track whose
// first region shows no body is not drawn (PoseMissing, TrackID 0: a detection without a pose)
// and is looked for once more in its box (candidateTries), then ends. Two found tracks whose
// landmark boxes overlap by IoU over trackDuplicateIoU are one person: the younger ends; a lost
// track whose box overlaps a found one's by IoU over lostOverFoundIoU ends at once (TrackID 0,
// not held).
//
// TrackInto must be called once per frame, in stream order, from one goroutine; the landmark
// model runs on up to Workers goroutines at once (the tracks of a frame shared out), beside
// the detector, so the Detector and the BlazePose's runners must be safe for concurrent use
// (ONNX Runtime sessions are). Set the fields before the first frame; NewPoseTracker gives
// the defaults.
type PoseTracker struct {
	// Detector finds the people that are not tracked yet.
	Detector Detector
	// Pose is the landmark model and its region detector.
	Pose *BlazePose
	// Every is the most frames between two runs of Detector while people are tracked (1: on
	// every frame). A Learner that learns every frame (background subtraction) runs on every
	// frame whatever Every says.
	Every int
	// Workers is how many landmark model runs go at once (at least 1).
	Workers int
	// MaxLost is how many consecutive frames a lost track is looked for before it ends.
	MaxLost int
	// MaxPeople, when positive, caps the tracks: detections beyond it start none.
	MaxPeople int

	tracks    []poseTrack
	nextID    int
	sinceRun  int                  // frames since Detector last ran
	mustRun   bool                 // a track was lost on the frame before
	hist      [2][lumaBins]float32 // the luma histograms of this frame and the one before
	cur       int                  // which of hist is this frame's
	histValid bool                 // hist holds a frame before this one
	times     TrackTimes

	// per-frame scratch
	seeds    []human.Detection // detections that place regions anew
	seedOf   []int             // for each seed, its track's index
	pairs    []trackPair
	taken    []bool
	rois     []ROI
	roiTrack []int // for each of rois, its track's index
	lms      []Landmarks
	errs     []error              // one per landmark worker
	frame1   [1]*rawvideo.Frame   // landmarksOf's frame list (one frame)
	seeds1   [1][]human.Detection // and its detection list
}

// TrackTimes is what a PoseTracker spent, summed over the frames so far.
type TrackTimes struct {
	// Frames is the number of frames tracked; DetectorRuns how many ran the person detector.
	Frames, DetectorRuns int
	// Detector is the time in the person detector.
	Detector time.Duration
	// Regions is the time placing the regions of new tracks (BlazePose's region detector and
	// the landmark model on those regions) and the count of regions so placed.
	Regions      time.Duration
	RegionsFound int
	// Landmarks is the time in the landmark model for the tracked regions, and Tracked the
	// count of those regions.
	Landmarks time.Duration
	Tracked   int
	// Placing is the time turning landmarks into placed bodies (IK, translation, skinning).
	Placing time.Duration
	// SceneCuts counts the frames taken for the start of a new scene.
	SceneCuts int
}

// poseTrack is one tracked person.
type poseTrack struct {
	// liveTrack is its id, the box of its last found landmarks (a new track's: its
	// detection's), the frames since (missed: frames without a body) and the box's velocity,
	// as the box tracker keeps them (Tracker).
	liveTrack
	at     human.Box       // where it is expected on this frame (predicted, at the frame's start)
	roi    ROI             // the region to look in on the next frame
	found  bool            // a body was found at least once
	seeded bool            // this frame's region comes from a detection: seed
	seed   human.Detection // the detection that places this frame's region
	lm     Landmarks       // this frame's landmarks
	drop   bool            // ends after this frame
	// upright is whether the detector's last box of the person was upright (at least
	// uprightAspect times as high as wide): the person stands, and a body leaning over 45
	// degrees is a wrong reading.
	upright bool
}

// NewPoseTracker returns a PoseTracker over det and pose with the defaults: Every
// DefaultDetectEvery, Workers 2 (the pipe's pose workers), MaxLost DefaultHoldFrames.
func NewPoseTracker(det Detector, pose *BlazePose) *PoseTracker {
	return &PoseTracker{Detector: det, Pose: pose, Every: DefaultDetectEvery, Workers: 2, MaxLost: DefaultHoldFrames}
}

// Times returns what the tracker spent so far. It must not be called while TrackInto runs.
func (t *PoseTracker) Times() TrackTimes { return t.times }

// TrackInto sets people to the people of f, one per track alive on f (ordered by track id,
// TrackID the track's id), where a detection whose region showed no body yet and a track that
// ended as another's duplicate are human.PoseMissing with TrackID 0; it reuses people's
// buffers (human.Reuse) and returns the slice. A found person's Box is the box around its 33 landmarks; a lost one's is its last
// found box moved on by its velocity. Errors (of the detector or the landmark model) name the
// frame; after one, people holds nobody and the tracks are as before the frame.
func (t *PoseTracker) TrackInto(f *rawvideo.Frame, people []human.Person) ([]human.Person, error) {
	if t.Detector == nil || t.Pose == nil {
		return people[:0], fmt.Errorf("frame %d: the pose tracker needs a detector and a pose model", f.Seq)
	}
	t.times.Frames++
	cut := t.sceneCut(f)
	if cut {
		t.times.SceneCuts++
	}
	run := len(t.tracks) == 0 || t.mustRun || cut || t.sinceRun+1 >= max(t.Every, 1) || learnsEveryFrame(t.Detector)
	for i := range t.tracks {
		tr := &t.tracks[i]
		tr.seeded, tr.drop, tr.at = false, false, tr.predicted()
	}

	// Regions from the frame before's landmarks, for every track there was.
	t.rois, t.roiTrack = t.rois[:0], t.roiTrack[:0]
	for i := range t.tracks {
		tr := &t.tracks[i]
		roi := tr.roi
		switch {
		case !tr.found: // a detection whose region showed no body yet: its box again
			roi = ROIOfBox(tr.box)
		case tr.missed > 0: // moved on by the velocity since the body was last found
			roi.CX += tr.vx * float32(tr.missed)
			roi.CY += tr.vy * float32(tr.missed)
		}
		t.rois, t.roiTrack = append(t.rois, roi), append(t.roiTrack, i)
	}

	// The detector and the regions it places anew run beside the landmark model on those
	// regions: they need only the tracks' boxes of the frame before.
	had := len(t.tracks)
	var detErr error
	var wg sync.WaitGroup
	if run {
		t.sinceRun = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			detErr = guardPanic(func() error { return t.detectAndSeed(f, cut) })
		}()
	} else {
		t.sinceRun++
	}
	var lmErr error
	if len(t.rois) > 0 {
		t0 := time.Now()
		lmErr = t.landmarks(f)
		t.times.Landmarks += time.Since(t0)
		t.times.Tracked += len(t.rois)
	}
	wg.Wait()
	if err := cmp.Or(detErr, lmErr); err != nil {
		t.tracks = t.tracks[:had] // the tracks as before the frame
		return people[:0], fmt.Errorf("frame %d: %w", f.Seq, err)
	}
	for k, i := range t.roiTrack {
		tr := &t.tracks[i]
		// A region a detection placed anew wins, unless it shows no body and the tracked one
		// shows one more surely.
		if !tr.seeded || tr.lm.Score < minPoseScore && t.lms[k].Score > tr.lm.Score {
			tr.lm = t.lms[k]
		}
	}
	if cut { // a new scene: the tracks no detection continues end
		t.tracks = slices.DeleteFunc(t.tracks, func(tr poseTrack) bool { return !tr.seeded })
	}

	t0 := time.Now()
	people = t.update(f, people)
	t.times.Placing += time.Since(t0)
	return people, nil
}

// detectAndSeed runs the detector on f, matches its boxes with the tracks (match) and finds
// the landmarks of the seeded tracks in the regions their detections place
// (BlazePose.landmarksOf: its region detector, else the box), into their lm. It only appends
// to t.tracks and sets the seeded tracks' seed, seeded and lm, so that it may run beside
// landmarks.
func (t *PoseTracker) detectAndSeed(f *rawvideo.Frame, cut bool) error {
	t0 := time.Now()
	dets, err := t.Detector.Detect(f)
	t.times.Detector += time.Since(t0)
	t.times.DetectorRuns++
	if err != nil {
		return fmt.Errorf("detector: %w", err)
	}
	t.match(dets, cut)
	t.seeds, t.seedOf = t.seeds[:0], t.seedOf[:0]
	for i := range t.tracks {
		if t.tracks[i].seeded {
			t.seeds, t.seedOf = append(t.seeds, t.tracks[i].seed), append(t.seedOf, i)
		}
	}
	if len(t.seeds) == 0 {
		return nil
	}
	t0 = time.Now()
	t.frame1[0], t.seeds1[0] = f, t.seeds
	s, err := t.Pose.landmarksOf(t.frame1[:], t.seeds1[:])
	t.frame1[0], t.seeds1[0] = nil, nil
	if err == nil {
		for k, i := range t.seedOf {
			t.tracks[i].lm = s.lms[k]
		}
	}
	if s != nil {
		t.Pose.scratch.put(s)
	}
	t.times.Regions += time.Since(t0)
	t.times.RegionsFound += len(t.seeds)
	return err
}

// match pairs the detections with the tracks, greedily by IoU with each track's box (highest
// first, none below trackMinIoU), starts a track for each detection left (up to MaxPeople
// tracks), and marks as seeded the tracks whose region a detection places: the new ones, the
// lost ones found again, and on a scene cut every matched one.
func (t *PoseTracker) match(dets []human.Detection, cut bool) {
	t.pairs = t.pairs[:0]
	for i := range t.tracks {
		for d := range dets {
			tr := &t.tracks[i]
			least := float32(trackMinIoU)
			if tr.missed == 0 && !cut {
				least = trackFoundIoU
			}
			if iou := human.IoU(tr.at, dets[d].Box); iou >= least {
				t.pairs = append(t.pairs, trackPair{track: i, det: d, iou: iou})
			}
		}
	}
	slices.SortStableFunc(t.pairs, func(a, b trackPair) int { return cmp.Compare(b.iou, a.iou) })
	t.taken = slices.Grow(t.taken[:0], len(t.tracks)+len(dets))[:len(t.tracks)+len(dets)]
	clear(t.taken)
	trackTaken, detTaken := t.taken[:len(t.tracks)], t.taken[len(t.tracks):]
	for _, p := range t.pairs {
		if trackTaken[p.track] || detTaken[p.det] {
			continue
		}
		trackTaken[p.track], detTaken[p.det] = true, true
		tr := &t.tracks[p.track]
		tr.upright = upright(dets[p.det].Box)
		if tr.missed > 0 || cut {
			tr.seeded, tr.seed = true, dets[p.det]
		}
	}
	live := len(t.tracks) // the tracks from frames before: new ones are not judged against
	for d := range dets {
		if detTaken[d] || t.MaxPeople > 0 && len(t.tracks) >= t.MaxPeople || !cut && t.covered(dets[d].Box, live) {
			continue
		}
		t.nextID++
		box := dets[d].Box
		t.tracks = append(t.tracks, poseTrack{liveTrack: liveTrack{id: t.nextID, box: box}, at: box, seeded: true, seed: dets[d], upright: upright(box)})
	}
}

// covered reports whether box holds most of the landmark box of one of the first n tracks
// that were found on the frame before (their share inside box is at least trackCoveredShare):
// such a detection is that track's person, seen by the detector a little differently, not a
// new one.
func (t *PoseTracker) covered(box human.Box, n int) bool {
	for i := range t.tracks[:n] {
		tr := &t.tracks[i]
		if !tr.found || tr.missed > 0 {
			continue
		}
		if a := tr.box.Area(); a > 0 && human.Intersection(box, tr.box).Area() >= trackCoveredShare*a {
			return true
		}
	}
	return false
}

// landmarks runs the landmark model on t.rois of f into t.lms, shared out over up to Workers
// goroutines, each with its own scratch.
func (t *PoseTracker) landmarks(f *rawvideo.Frame) error {
	n := len(t.rois)
	t.lms = slices.Grow(t.lms[:0], n)[:n]
	workers := min(max(t.Workers, 1), n)
	if workers == 1 {
		return t.landmarksPart(f, 0, n)
	}
	t.errs = slices.Grow(t.errs[:0], workers)[:workers]
	errs := t.errs
	clear(errs)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = guardPanic(func() error { return t.landmarksPart(f, lo, hi) })
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// landmarksPart runs the landmark model on t.rois[lo:hi] into t.lms[lo:hi].
func (t *PoseTracker) landmarksPart(f *rawvideo.Frame, lo, hi int) error {
	s := t.Pose.scratch.get()
	defer t.Pose.scratch.put(s)
	if s.out == nil {
		s.out, s.det.out = map[string]Tensor{}, map[string]Tensor{}
	}
	s.regs = s.regs[:0]
	for range t.rois[lo:hi] {
		s.regs = append(s.regs, region{frame: f})
	}
	lms, err := t.Pose.landmarks(s, s.lms, s.regs, t.rois[lo:hi])
	s.lms = lms
	if err != nil {
		return err
	}
	copy(t.lms[lo:hi], lms)
	return nil
}

// guardPanic runs fn and turns a panic into an error.
func guardPanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// update judges each track's landmarks of frame f, poses and places the people, moves the
// tracks on (their next regions, velocities, losses, ends) and returns the people.
func (t *PoseTracker) update(f *rawvideo.Frame, people []human.Person) []human.Person {
	cam := NewCamera(f.Width, f.Height)
	people = human.Reuse(people, len(t.tracks))
	n := 0
	t.mustRun = false
	for i := range t.tracks {
		tr := &t.tracks[i]
		p := &people[n]
		n++
		// Judged against a box as upright as the detector's last box of the person: a body
		// leaning over where the detector saw someone standing is a wrong reading (the
		// landmark box itself would follow the wrong reading and let it stay).
		judge := tr.at
		if tr.upright {
			cx, h := (judge.X1+judge.X2)/2, judge.Height()
			judge.X1, judge.X2 = cx-h/8, cx+h/8 // twice as high as wide: upright
		}
		p.Detection = human.Detection{Box: judge, Score: tr.lm.Score, TrackID: tr.id}
		fit := t.Pose.place(p, &tr.lm, cam)
		p.Box = tr.at
		if !fit.found {
			tr.missed++
			if tr.missed > t.MaxLost || !tr.found && tr.missed > candidateTries {
				tr.drop = true
			}
			if tr.found && tr.missed == 1 {
				t.mustRun = true // a track just lost: the detector looks for its person at once
			}
			if !tr.found {
				p.TrackID = 0 // a detection without a pose yet: not a track, not drawn
			}
			continue
		}
		box := landmarkBox(&tr.lm)
		p.Box = box
		if tr.found {
			tr.match(box) // the velocity from the move since the body was last found
		} else {
			tr.box, tr.missed = box, 0 // a detector's box is no landmark box to move from
		}
		tr.found = true
		tr.roi = ROIOfKeypoints(tr.lm.Centre, tr.lm.ScalePoint)
	}
	people = people[:n]
	// Two found tracks on one body: the younger (later in the list) ends.
	for i := range t.tracks {
		a := &t.tracks[i]
		if a.drop || a.missed > 0 {
			continue
		}
		for j := i + 1; j < len(t.tracks); j++ {
			b := &t.tracks[j]
			if !b.drop && b.missed == 0 && human.IoU(a.box, b.box) > trackDuplicateIoU {
				b.drop = true
				if b.found && !b.seeded {
					t.mustRun = true // the person b followed before may be elsewhere now
				}
				people[j].Status, people[j].TrackID = human.PoseMissing, 0
			}
		}
	}
	// A lost track where a found one is (IoU over lostOverFoundIoU) is that person, found
	// again under the other id: it ends, and its pose is not held (a ghost beside the body).
	for i := range t.tracks {
		a := &t.tracks[i]
		if a.drop || a.missed == 0 || !a.found {
			continue
		}
		for j := range t.tracks {
			b := &t.tracks[j]
			if j != i && !b.drop && b.missed == 0 && human.IoU(a.at, b.box) > lostOverFoundIoU {
				a.drop = true
				people[i].TrackID = 0
				break
			}
		}
	}
	t.tracks = slices.DeleteFunc(t.tracks, func(tr poseTrack) bool { return tr.drop })
	return people
}

// upright reports whether box is at least uprightAspect times as high as wide: a standing
// person's.
func upright(box human.Box) bool { return box.Height() >= uprightAspect*box.Width() }

// landmarkBox returns the box around lm's 33 image landmarks.
func landmarkBox(lm *Landmarks) human.Box {
	b := human.Box{X1: lm.Image[0][0], Y1: lm.Image[0][1], X2: lm.Image[0][0], Y2: lm.Image[0][1]}
	for _, p := range lm.Image {
		b.X1, b.X2 = min(b.X1, p[0]), max(b.X2, p[0])
		b.Y1, b.Y2 = min(b.Y1, p[1]), max(b.Y2, p[1])
	}
	return b
}

// lumaBins is the number of bins of the histograms sceneCut compares.
const lumaBins = 32

// sceneCut reports whether f starts a new scene: the L1 distance between its luma histogram
// (BT.601 weights, every 4th pixel of every 4th row) and the frame before's exceeds
// sceneCutDistance. The first frame is no cut.
func (t *PoseTracker) sceneCut(f *rawvideo.Frame) bool {
	t.cur ^= 1
	cur, prev := &t.hist[t.cur], &t.hist[t.cur^1]
	*cur = [lumaBins]float32{}
	var n int
	for y := 0; y < f.Height; y += 4 {
		row := f.Pix[y*f.Stride:]
		for x := 0; x < f.Width; x += 4 {
			p := row[3*x:]
			l := (299*int(p[0]) + 587*int(p[1]) + 114*int(p[2])) / 1000
			cur[l*lumaBins/256]++
			n++
		}
	}
	for i := range cur {
		cur[i] /= float32(max(n, 1))
	}
	valid := t.histValid
	t.histValid = true
	if !valid {
		return false
	}
	var d float32
	for i := range cur {
		d += float32(math.Abs(float64(cur[i] - prev[i])))
	}
	return d > sceneCutDistance
}
