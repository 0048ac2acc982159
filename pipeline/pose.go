package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/stages"
)

// poseModel is the pose estimator openPose chose, what to call it, and what closes its
// sessions (also on an error, for what was opened before it).
type poseModel struct {
	est       stages.PoseEstimator
	blazePose *models.BlazePose // est, when it is BlazePose (it can track people)
	name      string            // for the log: which model, from which files
	closers   []func() error
}

// PoseModelKind returns the pose model o chooses: PoseModel with "lite", "full" and "heavy"
// spelled out, or for "" the one picked (hmr2 when Model is set, else blazepose-full when its
// file is found, else standin). It opens nothing.
func (o *Options) PoseModelKind() string {
	switch o.PoseModel {
	case "lite", "full", "heavy":
		return "blazepose-" + o.PoseModel
	case "":
		switch {
		case o.Model != "":
			return "hmr2"
		default:
			if p, _ := models.FindModel(models.BlazePoseFile("full"), o.modelInputs()); p != "" {
				return "blazepose-full"
			}
			return "standin"
		}
	}
	return o.PoseModel
}

// modelInputs is where models.FindModel looks for the BlazePose and NanoDet files under o.
func (o *Options) modelInputs() models.ModelInputs {
	in := models.DefaultModelInputs(o.ModelDir)
	if o.SearchDir != "" {
		in.ExeDir = o.SearchDir
	}
	return in
}

// openPose opens the pose model o chooses (PoseModelKind) as sessions of its own on opt's
// device, checks each against its contract, and returns an estimator posing body (called
// bodyName in errors). ONNX Runtime must be loaded.
func openPose(o *Options, opt ort.Options, body *models.Body, bodyName string) (pm poseModel, err error) {
	p := o.Prefix
	kind := o.PoseModelKind()
	if o.Model != "" && kind != "hmr2" {
		return pm, fmt.Errorf("%smodel %s: only %spose-model hmr2 reads it, not %s", p, o.Model, p, kind)
	}
	switch kind {
	case "hmr2", "standin":
		var sess *ort.Session
		if kind == "standin" {
			pm.name = "standin (built-in, a fixed standing pose)"
			sess, err = ort.OpenData(pm.name, models.StandIn, opt)
		} else {
			if o.Model == "" {
				return pm, fmt.Errorf("%spose-model hmr2: give the HMR2 model file with %smodel PATH.onnx", p, p)
			}
			pm.name = "hmr2 (" + o.Model + ")"
			sess, err = ort.Open(o.Model, opt)
		}
		if err != nil {
			return pm, err
		}
		pm.closers = append(pm.closers, sess.Close)
		if err := models.CheckPoseContract(pm.name, sess.Input(), sess.Outputs()); err != nil {
			return pm, err
		}
		if err := models.CheckPoseVertices(pm.name, sess.Outputs(), body, bodyName); err != nil {
			return pm, err
		}
		pm.est = models.NewPoseEstimator(pm.name, sess, body)
		return pm, nil
	case "blazepose-lite", "blazepose-full", "blazepose-heavy":
		file := models.BlazePoseFile(strings.TrimPrefix(kind, "blazepose-"))
		path, tried := models.FindModel(file, o.modelInputs())
		if path == "" {
			return pm, fmt.Errorf("%spose-model %s: %s not found; tried:\n  %s\nrun scripts/setup.sh, or name its folder with %smodel-dir or %s",
				p, kind, file, strings.Join(tried, "\n  "), p, models.ModelDirEnv)
		}
		sess, err := ort.Open(path, opt)
		if err != nil {
			return pm, fmt.Errorf("%spose-model %s: %w", p, kind, err)
		}
		pm.closers = append(pm.closers, sess.Close)
		if err := models.CheckBlazePoseContract(path, sess.Input(), sess.Outputs()); err != nil {
			return pm, err
		}
		// BlazePose's own detector, beside the landmark model, places the regions when it is
		// there; without it the person boxes do.
		var bo models.BlazePoseOptions
		regions := "regions from the person boxes"
		if detPath, _ := models.FindModel(models.BlazePoseDetectorFile, models.ModelInputs{Dir: filepath.Dir(path)}); detPath != "" {
			ds, err := ort.Open(detPath, opt)
			if err != nil {
				return pm, fmt.Errorf("%spose-model %s: %w", p, kind, err)
			}
			pm.closers = append(pm.closers, ds.Close)
			if err := models.CheckPoseDetectorContract(detPath, ds.Input(), ds.Outputs()); err != nil {
				return pm, err
			}
			bo.Detector = ds
			regions = "regions from " + detPath
		}
		pm.name = fmt.Sprintf("%s (%s; %s)", kind, path, regions)
		pm.blazePose = models.NewBlazePose(kind, sess, body, bo)
		pm.est = pm.blazePose
		return pm, nil
	}
	return pm, fmt.Errorf("%spose-model %q: want hmr2, blazepose-lite, blazepose-full, blazepose-heavy or standin", p, o.PoseModel)
}
