package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meshpipe/meshpipe/models"
	"github.com/meshpipe/meshpipe/models/ort"
	"github.com/meshpipe/meshpipe/stages"
)

// poseModelUsage documents -pose-model.
const poseModelUsage = "pose model: hmr2 (the -model file, HMR2 contract), blazepose-lite, blazepose-full or blazepose-heavy " +
	"(BlazePose GHUM, converted by scripts/setup.sh; lite, full, heavy for short), or standin (a fixed standing pose). " +
	"Default: hmr2 with -model, else blazepose-full when its file is found, else standin"

// modelDirUsage documents -model-dir.
const modelDirUsage = "folder of the model files that scripts/setup.sh converts: BlazePose and NanoDet (default: $" + models.ModelDirEnv + ", then the project's " + models.ProjectModelDir + ")"

// poseModel is the pose estimator build chose, and what to say about it.
type poseModel struct {
	est     stages.PoseEstimator
	name    string // for the log: which model, from which file
	closers []func() error
}

// openPose opens the pose model -pose-model names (see poseModelUsage) for body.
func openPose(o *options, opt ort.Options, body *models.Body) (pm poseModel, err error) {
	defer func() {
		if err != nil {
			for _, c := range pm.closers {
				c()
			}
		}
	}()
	kind := o.poseModel
	switch kind {
	case "lite", "full", "heavy":
		kind = "blazepose-" + kind
	case "":
		switch {
		case o.model != "":
			kind = "hmr2"
		default:
			kind = "standin"
			if p, _ := models.FindModel(models.BlazePoseFile("full"), models.DefaultModelInputs(o.modelDir)); p != "" {
				kind = "blazepose-full"
			}
		}
	}
	if o.model != "" && kind != "hmr2" {
		return pm, fmt.Errorf("-model %s: only -pose-model hmr2 reads it, not %s", o.model, kind)
	}
	switch kind {
	case "hmr2", "standin":
		var sess *ort.Session
		if kind == "standin" {
			pm.name = "standin (built-in, a fixed standing pose)"
			sess, err = ort.OpenData(pm.name, models.StandIn, opt)
		} else {
			if o.model == "" {
				return pm, fmt.Errorf("-pose-model hmr2: give the HMR2 model file with -model PATH.onnx")
			}
			pm.name = "hmr2 (" + o.model + ")"
			sess, err = ort.Open(o.model, opt)
		}
		if err != nil {
			return pm, err
		}
		pm.closers = append(pm.closers, sess.Close)
		if err := models.CheckPoseContract(pm.name, sess.Input(), sess.Outputs()); err != nil {
			return pm, err
		}
		bodyName := "mannequin"
		if o.body != "" {
			bodyName = o.body
		}
		if err := models.CheckPoseVertices(pm.name, sess.Outputs(), body, bodyName); err != nil {
			return pm, err
		}
		pm.est = models.NewPoseEstimator(pm.name, sess, body)
		return pm, nil
	case "blazepose-lite", "blazepose-full", "blazepose-heavy":
		file := models.BlazePoseFile(strings.TrimPrefix(kind, "blazepose-"))
		path, tried := models.FindModel(file, models.DefaultModelInputs(o.modelDir))
		if path == "" {
			return pm, fmt.Errorf("-pose-model %s: %s not found; tried:\n  %s\nrun scripts/setup.sh, or name its folder with -model-dir or %s",
				kind, file, strings.Join(tried, "\n  "), models.ModelDirEnv)
		}
		sess, err := ort.Open(path, opt)
		if err != nil {
			return pm, fmt.Errorf("-pose-model %s: %w", kind, err)
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
				return pm, fmt.Errorf("-pose-model %s: %w", kind, err)
			}
			pm.closers = append(pm.closers, ds.Close)
			if err := models.CheckPoseDetectorContract(detPath, ds.Input(), ds.Outputs()); err != nil {
				return pm, err
			}
			bo.Detector = ds
			regions = "regions from " + detPath
		}
		pm.name = fmt.Sprintf("%s (%s; %s)", kind, path, regions)
		pm.est = models.NewBlazePose(kind, sess, body, bo)
		return pm, nil
	}
	return pm, fmt.Errorf("-pose-model %q: want hmr2, blazepose-lite, blazepose-full, blazepose-heavy or standin", o.poseModel)
}
