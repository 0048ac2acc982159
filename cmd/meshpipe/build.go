package main

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/meshpipe/meshpipe/filter"
	"github.com/meshpipe/meshpipe/gl"
	"github.com/meshpipe/meshpipe/human"
	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/poses"
	"github.com/meshpipe/meshpipe/rawvideo"
	"github.com/meshpipe/meshpipe/stages"
)

// pipeline holds what build made, for Run to use and close.
type pipeline struct {
	cfg     stages.Config
	closers []func() error
	body    *models.Body // the mannequin, or the -body file
	overCap atomic.Int64 // frames on which more than -max-people were found

	// For the log and -stats_file: the pose model's name, the device it runs on (cpu or
	// cuda:N) and the GL renderer ("none" with -no-render).
	modelName, device, renderer string
}

func (p *pipeline) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// build loads ONNX Runtime, the pose model and the detector, and starts the render workers,
// so that every one of them fails, if it must, before the first frame is read.
func build(o *options, log *logger) (_ *pipeline, err error) {
	p := &pipeline{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if err := ort.InitFound(o.ortLib); err != nil {
		return nil, err
	}
	opt := ort.Options{IntraOpThreads: o.threads}
	if err := applyPoseFlags(o, log, p, &opt); err != nil {
		return nil, err
	}
	body := p.body
	pm, err := openPose(o, opt, body)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, pm.closers...)
	modelName := pm.name
	p.cfg.Pose = pm.est
	p.cfg.PoseWorkers = o.poseWorkers
	p.cfg.InFlight = o.inFlight

	det, closeDet, err := filter.OpenDetector(o.detector, opt)
	if err != nil {
		return nil, fmt.Errorf("-%w", err) // "-detector ...": the flag at fault
	}
	if closeDet != nil {
		p.closers = append(p.closers, closeDet)
	}
	p.cfg.Detector = det
	p.cfg.Detector = &models.Capped{Detector: p.cfg.Detector, Max: o.maxPeople, Over: func(f *rawvideo.Frame, found int) {
		if p.overCap.Add(1) == 1 {
			log.printf(slog.LevelWarn, "frame %d: %d people found, more than -max-people %d: drawing the %d largest "+
				"(said once; the closing line counts the frames)", f.Seq, found, o.maxPeople, o.maxPeople)
		}
	}}
	p.cfg.Tracker = models.NewTracker()

	p.modelName, p.renderer = modelName, "none (-no-render)"
	for i := 0; i < o.renderWorkers; i++ {
		if o.noRender {
			p.cfg.Renderers = append(p.cfg.Renderers, passThrough{})
			continue
		}
		r, err := gl.NewRendererOptions(body.Faces, body.VertexCount(), gl.Options{Samples: o.samples})
		if err != nil {
			return nil, fmt.Errorf("render worker %d: %w", i, err)
		}
		p.closers = append(p.closers, r.Close)
		p.renderer = r.Name()
		p.cfg.Renderers = append(p.cfg.Renderers, &meshRenderer{r: r, alpha: float32(o.alpha), trackColors: o.color == "track"})
	}
	log.Info("meshpipe", "onnxruntime", ort.Version(), "pose_model", modelName, "detector", o.detector,
		"renderer", p.renderer, "pose_workers", o.poseWorkers, "render_workers", o.renderWorkers)
	return p, nil
}

// passThrough is a render worker under -no-render: it leaves the frame as it is.
type passThrough struct{}

func (passThrough) Render(*rawvideo.Frame, []human.Person) error { return nil }

// meshRenderer adapts a gl.Renderer to stages.Renderer: it turns people into meshes under the
// contract's camera for the frame's size.
type meshRenderer struct {
	r           *gl.Renderer
	alpha       float32
	trackColors bool      // -color track: gl.TrackColor of each person's track id; else gl.DefaultColor
	meshes      []gl.Mesh // reused between frames; one goroutine calls Render
}

func (m *meshRenderer) Render(f *rawvideo.Frame, people []human.Person) error {
	if f == nil {
		return errors.New("nil frame")
	}
	cam := models.NewCamera(f.Width, f.Height)
	m.meshes = m.meshes[:0]
	for i := range people {
		c := gl.DefaultColor
		if m.trackColors {
			c = gl.TrackColor(people[i].TrackID)
		}
		m.meshes = append(m.meshes, gl.Mesh{Vertices: people[i].Vertices, Color: c})
	}
	return m.r.Render(f, gl.Camera{Focal: cam.Focal, CX: cam.CX, CY: cam.CY}, m.meshes, m.alpha)
}

// applyPoseFlags applies -device, -body, -batch and -poses: it resolves the device (auto falls
// back to the CPU with one line on stderr saying why), loads the body model and opens the pose
// output, before any frame is read.
func applyPoseFlags(o *options, log *logger, p *pipeline, opt *ort.Options) error {
	dev, _ := ort.ParseDevice(o.device) // checked with the flags
	dev, why, err := ort.Resolve(dev)
	if err != nil {
		return err
	}
	if why != "" {
		log.Info("-device auto: using the CPU", "reason", why)
	}
	opt.Device = dev
	p.device = dev.String()
	p.body = models.Mannequin()
	if o.body != "" {
		if p.body, err = models.LoadBody(o.body); err != nil {
			return fmt.Errorf("-body: %w", err)
		}
	}
	p.cfg.Batch = o.batch
	bodyName := "mannequin"
	if o.body != "" {
		bodyName = o.body
	}
	log.Info("pose", "device", dev, "batch", o.batch, "body", bodyName, "vertices", p.body.VertexCount())
	if o.poses != "" {
		w, err := poses.Create(o.poses)
		if err != nil {
			return fmt.Errorf("-poses: %w", err)
		}
		p.closers = append(p.closers, w.Close)
		p.cfg.Poses = w
	}
	return nil
}
