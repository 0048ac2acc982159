package models

// Detector model styles, as DetectorForModel tells them apart.
const (
	// StyleYOLOX is a YOLOX-style model: one [1,N,85] output (see YOLOX).
	StyleYOLOX = "YOLOX-style"
	// StyleNanoDet is a NanoDet-style model: [1,N,80] class scores and [1,N,4*bins] box
	// distributions per stride (see NanoDet).
	StyleNanoDet = "NanoDet-style"
)

// DetectorForModel returns the person detector for an ONNX detector model that r runs, whose
// input and outputs ONNX Runtime describes, and its style (StyleYOLOX or StyleNanoDet), told
// apart by the outputs' shapes: a model with an output of 80 class scores per cell ([1,N,80])
// and none of YOLOX's 85-value rows is NanoDet-style; any other is checked as YOLOX-style. Both
// take inputs of any size, square or not, fixed or free (CheckYOLOXContract,
// CheckNanoDetContract). The error, from the style's contract check, names the model file
// (model), the tensor and what was expected.
func DetectorForModel(model string, r Runner, input TensorSpec, outputs []TensorSpec) (Detector, string, error) {
	scores, rows := false, false
	for _, o := range outputs {
		if len(o.Shape) == 3 {
			scores = scores || o.Shape[2] == NanoDetClasses
			rows = rows || o.Shape[2] == YOLOXRowLength
		}
	}
	if scores && !rows {
		size, err := CheckNanoDetContract(model, input, outputs)
		if err != nil {
			return nil, "", err
		}
		return NewNanoDet(r, size), StyleNanoDet, nil
	}
	size, err := CheckYOLOXContract(model, input, outputs)
	if err != nil {
		return nil, "", err
	}
	return NewYOLOX(r, size), StyleYOLOX, nil
}
