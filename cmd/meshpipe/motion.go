package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/motion"
	"github.com/meshpipe/meshpipe/pipeline"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// motionUsage documents -motion.
const motionUsage = "at the end, write each track's motion into DIR: track_ID.bvh (skeleton animation) and track_ID.glb " +
	"(skinned body, glTF 2.0), and tracks.json (README.md \"Motion files\"); the same as meshpipe motion on the -poses file"

// defaultMotionRate is the frame rate the motion files are timed at when the input's is not
// known (rawvideo on stdin without -r): ffmpeg's default for rawvideo.
const defaultMotionRate = 25

// motionOut is -motion's recorder, folder and body; nil without -motion.
type motionOut struct {
	rec  *motion.Recorder
	dir  string
	body *models.Body
}

// openMotion applies -motion: it makes DIR (so that a path that cannot be one fails before the
// first frame) and has the graph give every frame's people to a motion.Recorder, after the
// -poses writer.
func openMotion(o *options, p *pipeline.Parts) (*motionOut, error) {
	if o.motion == "" {
		return nil, nil
	}
	if err := os.MkdirAll(o.motion, 0o755); err != nil {
		return nil, fmt.Errorf("-motion: %w", err)
	}
	m := &motionOut{rec: motion.NewRecorder(), dir: o.motion, body: p.BodyModel}
	p.Config.Poses = stages.TeePoses(p.Config.Poses, m.rec)
	return m, nil
}

// write writes the motion files of what the run recorded (every frame written, also when the
// run stopped early), timed at rate (defaultMotionRate, said once, when it is unknown).
func (m *motionOut) write(rate rawvideo.Ratio, log *logger) error {
	if m == nil {
		return nil
	}
	fps := rate.Float()
	if rate.IsZero() {
		fps = defaultMotionRate
		log.printf(slog.LevelWarn, "-motion: the input's frame rate is not known (give -r): timing the motion files at %d fps", defaultMotionRate)
	}
	rep, err := m.rec.Write(m.dir, m.body, motion.Options{FrameRate: fps})
	if err != nil {
		return fmt.Errorf("-motion: %w", err)
	}
	logMotion(log, m.dir, rep)
	return nil
}

// logMotion says what was written, and warns of tracks whose skeleton does not match their
// joints_3d (poses made with another body than the one given).
func logMotion(log *logger, dir string, rep motion.Report) {
	written, skipped := 0, 0
	for _, t := range rep.Tracks {
		if t.Skipped != "" {
			skipped++
			continue
		}
		written++
		log.printf(levelVerbose, "motion: track %d: frames %d-%d (%d found): %s, %s", t.TrackID, t.FirstFrame, t.LastFrame, t.Found, t.BVH, t.GLB)
		if t.MaxJointError > 0.01 {
			log.printf(slog.LevelWarn, "motion: track %d: the body's skeleton puts joints up to %.1f cm from the poses' joints_3d: "+
				"were the poses made with another body (-body)?", t.TrackID, 100*t.MaxJointError)
		}
	}
	log.Info("motion", "dir", dir, "tracks", written, "skipped_short", skipped, "min_frames", rep.MinFrames, "fps", rep.FrameRate)
}

const motionUsageHead = `usage: meshpipe motion -poses FILE.jsonl -o DIR [-body PATH.npz] [-r RATE] [-min-frames N]

Writes the motion files of every track of a -poses file, as -motion DIR does during a run:
DIR/track_ID.bvh, DIR/track_ID.glb and DIR/tracks.json (README.md "Motion files"). With the
run's -body and frame rate, the files are the same as the run's -motion files.
`

// runMotion is the motion subcommand: args are its flags (after "motion").
func runMotion(args []string, stderr io.Writer) int {
	var posesPath, dir, body, rate string
	minFrames, level := motion.DefaultMinFrames, slog.LevelInfo
	d := newFlags("meshpipe motion", stderr)
	d.group("Motion files from a pose file")
	d.str(&posesPath, "poses", "FILE.jsonl", "the pose file a run wrote with -poses (required)")
	d.str(&dir, "o", "DIR", "folder for the motion files, made if missing; files of the same names are replaced (required)")
	d.str(&body, "body", "PATH.npz", "the SMPL body model the run used (default: meshpipe's own mannequin)")
	d.str(&rate, "r", "RATE", fmt.Sprintf("the input's frame rate, e.g. 25, 30000/1001 or 29.97 (default %d)", defaultMotionRate))
	d.num(&minFrames, "min-frames", "N", "fewest frames with a pose found that a track needs to get files")
	d.fn("loglevel,v", "LEVEL", "quiet, error, warning, info, verbose or debug", "info", func(v string) error {
		l, ok := logLevels[strings.ToLower(v)]
		if !ok {
			return errors.New("want quiet, error, warning, info, verbose or debug")
		}
		level = l
		return nil
	})
	d.fs.Usage = func() { d.usage(stderr, motionUsageHead) }
	if err := d.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	log := newLogger(stderr, level)
	fps := float64(defaultMotionRate)
	switch {
	case d.fs.NArg() > 0:
		log.printf(slog.LevelError, "motion: unexpected argument %q", d.fs.Arg(0))
		return exitUsage
	case posesPath == "":
		log.printf(slog.LevelError, "motion: -poses FILE.jsonl is required")
		return exitUsage
	case dir == "":
		log.printf(slog.LevelError, "motion: -o DIR is required")
		return exitUsage
	case minFrames < 1:
		log.printf(slog.LevelError, "motion: -min-frames %d: need at least 1", minFrames)
		return exitUsage
	case rate != "":
		r, err := parseRate(rate, "-r")
		if err != nil {
			log.printf(slog.LevelError, "motion: %v", err)
			return exitUsage
		}
		fps = r.Float()
	}
	b := models.Mannequin()
	if body != "" {
		var err error
		if b, err = models.LoadBody(body); err != nil {
			log.printf(slog.LevelError, "motion: -body: %v", err)
			return exitError
		}
	}
	rec, err := motion.ReadPoseFile(posesPath)
	if err != nil {
		log.printf(slog.LevelError, "motion: -poses: %v", err)
		return exitError
	}
	rep, err := rec.Write(dir, b, motion.Options{FrameRate: fps, MinFrames: minFrames})
	if err != nil {
		log.printf(slog.LevelError, "%v", err)
		return exitError
	}
	logMotion(log, dir, rep)
	return exitOK
}
