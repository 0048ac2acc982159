package main

import "github.com/meshpipe/meshpipe/models"

// detectorUsage documents -detector (filter.OpenDetector opens what it names).
const detectorUsage = "person detector: nanodet (NanoDet-g, COCO-trained, converted by scripts/setup.sh into " + models.NanoDetFile +
	"; any footage), bgsub (background subtraction, for fixed cameras), full (the whole frame is one person), " +
	"none (nobody: frames pass through untouched), or PATH.onnx, a YOLOX- or NanoDet-style model of any input size. " +
	"Default: nanodet when its file is found (-model-dir), else bgsub"
