#!/usr/bin/python3
"""Writes small ONNX models that are wrong in one way each, for meshpipe's fault tests.

  fault_models.py bright-fails OUT   the stand-in pose model (scripts/make_standin.py), except
                                     that its scale is s = -(1 + mean of the crop): positive for
                                     dark crops (about 0.99 for black), zero or negative once the
                                     normalised crop's mean reaches -1 (a bright frame), which
                                     meshpipe must report as a fault of that frame
  fault_models.py vertices OUT V     the stand-in plus pred_vertices [B,V,3] with V fixed
  fault_models.py detector OUT       a YOLOX-like detector on a 64x64 input whose output is
                                     [1,10,85] instead of [1,84,85]
  fault_models.py crowd OUT          a YOLOX-style detector on a 64x64 input that finds the same
                                     12 people in every frame: squares of side 4 + 0.8k pixels
                                     (k = 0..11) centred on the stride-8 cells (8+16i, 8+16j),
                                     k = 4j + i, score 0.9, none overlapping

Run with Debian's python3-onnx (/usr/bin/python3). The models are deterministic.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scripts"))
import make_standin  # noqa: E402  (the contract's constants: the standing pose)


def pose_model(name, scale_nodes, extra_outputs=()):
    """The stand-in's graph with pred_cam's scale from scale_nodes (which must define
    "scale" [B,1] from "mean" [B]) and extra (name, value) outputs broadcast over the batch."""
    nodes, inits = [], []

    def const(n, value):
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    nodes.append(helper.make_node("ReduceMean", ["img"], ["mean"], keepdims=0, axes=[1, 2, 3]))
    nodes.append(helper.make_node("Mul", ["mean", const("zero_c", np.float32(0))], ["zero"]))
    nodes.extend(scale_nodes(const))
    cam = make_standin.PRED_CAM.copy()
    cam[0, 0] = 0  # the scale comes from "scale"
    outs = [("global_orient", make_standin.GLOBAL_ORIENT), ("body_pose", make_standin.BODY_POSE),
            ("betas", make_standin.BETAS), ("cam_rest", cam)] + list(extra_outputs)
    for out, value in outs:
        shape = [-1] + [1] * (value.ndim - 1)
        nodes.append(helper.make_node("Reshape", ["zero", const(out + "_shape", np.array(shape, np.int64))], [out + "_zero"]))
        nodes.append(helper.make_node("Add", [out + "_zero", const(out + "_value", value)], [out]))
    # pred_cam = cam_rest + scale * (1, 0, 0)
    nodes.append(helper.make_node("Mul", ["scale", const("unit_x", np.array([[1, 0, 0]], np.float32))], ["scale_x"]))
    nodes.append(helper.make_node("Add", ["cam_rest", "scale_x"], ["pred_cam"]))
    b = "B"
    outputs = [helper.make_tensor_value_info("pred_cam", TensorProto.FLOAT, [b, 3]),
               helper.make_tensor_value_info("global_orient", TensorProto.FLOAT, [b, 1, 3, 3]),
               helper.make_tensor_value_info("body_pose", TensorProto.FLOAT, [b, 23, 3, 3]),
               helper.make_tensor_value_info("betas", TensorProto.FLOAT, [b, 10])]
    for out, value in extra_outputs:
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [b] + list(value.shape[1:])))
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info("img", TensorProto.FLOAT, [b, 3, 256, 256])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="meshpipe fault_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def standin_scale(const):
    return [helper.make_node("Reshape", ["zero", const("s_shape", np.array([-1, 1], np.int64))], ["zero_b1"]),
            helper.make_node("Add", ["zero_b1", const("s_value", np.float32(make_standin.PRED_CAM[0, 0]))], ["scale"])]


def bright_fails_scale(const):
    # scale = -(1 + mean)
    return [helper.make_node("Add", ["mean", const("one", np.float32(1))], ["mean1"]),
            helper.make_node("Neg", ["mean1"], ["neg"]),
            helper.make_node("Reshape", ["neg", const("s_shape", np.array([-1, 1], np.int64))], ["scale"])]


def detector():
    nodes, inits = [], []
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "starts"))
    inits.append(numpy_helper.from_array(np.array([850], np.int64), "ends"))
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    inits.append(numpy_helper.from_array(np.array([1, 10, 85], np.int64), "shape"))
    nodes.append(helper.make_node("Flatten", ["images"], ["flat"], axis=1))
    nodes.append(helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["some"]))
    nodes.append(helper.make_node("Reshape", ["some", "shape"], ["output"]))
    graph = helper.make_graph(nodes, "wrong_yolox",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10, 85])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="meshpipe fault_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def crowd():
    rows = np.zeros((1, 84, 85), np.float32)
    for k in range(12):
        i, j = k % 4, k // 4
        # The stride-8 cell (gx, gy) = (2i + 1, 2j + 1) with offsets x = y = 0 is centred on
        # ((x + gx) * 8, (y + gy) * 8) = (8 + 16i, 8 + 16j).
        gx, gy = 2 * i + 1, 2 * j + 1
        side = 4 + 0.8 * k
        rows[0, gy * 8 + gx, :7] = [0, 0, np.log(side / 8), np.log(side / 8), 1, 0.9, 0]
    nodes, inits = [], []
    inits.append(numpy_helper.from_array(rows, "rows"))
    inits.append(numpy_helper.from_array(np.float32(0), "zero_c"))
    nodes.append(helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=1, axes=[1, 2, 3]))
    nodes.append(helper.make_node("Mul", ["mean", "zero_c"], ["zero"]))
    inits.append(numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape"))
    nodes.append(helper.make_node("Reshape", ["zero", "shape"], ["zero3"]))
    nodes.append(helper.make_node("Add", ["zero3", "rows"], ["output"]))
    graph = helper.make_graph(nodes, "crowd_yolox",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 84, 85])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="meshpipe fault_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    what, out = sys.argv[1], sys.argv[2]
    if what == "bright-fails":
        m = pose_model("bright_fails", bright_fails_scale)
    elif what == "vertices":
        v = int(sys.argv[3])
        m = pose_model("vertices", standin_scale, [("pred_vertices", np.zeros((1, v, 3), np.float32))])
    elif what == "detector":
        m = detector()
    elif what == "crowd":
        m = crowd()
    else:
        sys.exit("want bright-fails, vertices, detector or crowd")
    with open(out, "wb") as f:
        f.write(m.SerializeToString())
