#!/usr/bin/python3
"""Writes models/standin.onnx: meshpipe's built-in stand-in for HMR2.

HMR2's weights cannot be shipped, so the binary embeds this small model instead. It keeps the
pose-model contract of DESIGN.md exactly -- input `img` float32 [B,3,256,256] with a dynamic
batch B; outputs `pred_cam` [B,3], `global_orient` [B,1,3,3], `body_pose` [B,23,3,3] and
`betas` [B,10] -- but it does not look at the person: every crop gets the same standing pose
(arms down, facing the camera), scaled to fill the 256x256 crop. Every output is computed from
the input (a zero-weighted mean of the crop, broadcast over the batch), so ONNX Runtime runs a
real graph with a real dynamic batch.

Run with Debian's python3-onnx:  /usr/bin/python3 scripts/make_standin.py [OUT]
The output is deterministic; models/standin_test.go checks that the committed file matches.
"""
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def rot_x(deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float32)


def rot_z(deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float32)


# Upright and facing the camera: SMPL's body frame has y up and z out of the chest, the camera
# frame y down and z forward, so the root turns 180 degrees about x.
GLOBAL_ORIENT = rot_x(180).reshape(1, 1, 3, 3)

# Arms down from the T-pose: shoulders (SMPL joints 16 and 17, body_pose rows 15 and 16) turn
# 72 degrees about z, elbows (18, 19; rows 17, 18) bend 10 degrees more.
BODY_POSE = np.tile(np.eye(3, dtype=np.float32), (1, 23, 1, 1))
BODY_POSE[0, 15] = rot_z(-72)
BODY_POSE[0, 16] = rot_z(72)
BODY_POSE[0, 17] = rot_z(-10)
BODY_POSE[0, 18] = rot_z(10)

# Weak-perspective crop camera (s, tx, ty). A body H metres tall spans H*b*s/2 pixels of a
# b-pixel window (projection with f = 5000 px in a 256 px crop, T_z = 2f/(b s)); s = 1.84/1.70
# makes the 1.70 m body fill 92% of the window. Skinning turns the body about its rest pelvis
# (y = -0.22 m), so upright the crown (0.53 m) lands at y = -0.97 and the soles (-1.17 m) at
# 0.73 (y down): ty = 0.12 m moves that span's middle to the window centre.
PRED_CAM = np.array([[1.84 / 1.70, 0.0, 0.12]], np.float32)
BETAS = np.zeros((1, 10), np.float32)


def build():
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    # zero[B] = 0 * mean(img over C, H, W): ties every output to the batch of the input.
    nodes.append(helper.make_node("ReduceMean", ["img"], ["mean"], keepdims=0, axes=[1, 2, 3]))
    nodes.append(helper.make_node("Mul", ["mean", const("zero_c", np.float32(0))], ["zero"]))
    for out, value in [("pred_cam", PRED_CAM), ("global_orient", GLOBAL_ORIENT),
                       ("body_pose", BODY_POSE), ("betas", BETAS)]:
        shape = [-1] + [1] * (value.ndim - 1)
        nodes.append(helper.make_node("Reshape", ["zero", const(out + "_shape", np.array(shape, np.int64))],
                                      [out + "_zero"]))
        nodes.append(helper.make_node("Add", [out + "_zero", const(out + "_value", value)], [out]))
    batch = "B"
    graph = helper.make_graph(
        nodes, "meshpipe_hmr2_standin",
        [helper.make_tensor_value_info("img", TensorProto.FLOAT, [batch, 3, 256, 256])],
        [helper.make_tensor_value_info("pred_cam", TensorProto.FLOAT, [batch, 3]),
         helper.make_tensor_value_info("global_orient", TensorProto.FLOAT, [batch, 1, 3, 3]),
         helper.make_tensor_value_info("body_pose", TensorProto.FLOAT, [batch, 23, 3, 3]),
         helper.make_tensor_value_info("betas", TensorProto.FLOAT, [batch, 10])],
        inits)
    # ReduceMean takes axes as an attribute up to opset 17.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="meshpipe scripts/make_standin.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "models/standin.onnx"
    with open(out, "wb") as f:
        f.write(build().SerializeToString())
    print(out, file=sys.stderr)
