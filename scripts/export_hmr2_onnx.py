#!/usr/bin/python3
"""Exports HMR2 (4D-Humans, Goel et al. 2023) to meshpipe's pose-model contract as ONNX.

  input   img            float32 [B,3,256,256], B dynamic: RGB crops, ImageNet-normalised
  outputs pred_cam       float32 [B,3]       (s, tx, ty), weak-perspective camera of the crop
          global_orient  float32 [B,1,3,3]   root rotation
          body_pose      float32 [B,23,3,3]  rotations of SMPL joints 1..23, relative to the parent
          betas          float32 [B,10]      SMPL shape coefficients
          pred_vertices  float32 [B,6890,3]  only with --vertices (needs 4D-Humans and its SMPL)

The network sees the middle 192 columns of the crop (a 256x192 person window): a ViT-H/16
backbone (ViTPose's: patch 16 with 2 pixels of padding, 16x12 tokens, width 1280, 32 blocks,
16 heads, LayerNorm eps 1e-6, a learnt position embedding with a class-token slot that is
added to every token) and HMR2's SMPL head: a transformer decoder (6 layers, width 1024,
8 heads of 64, MLP 1024, pre-LayerNorm) whose single query token (a zero) self-attends and
cross-attends to the image tokens; linear read-outs add to mean parameters (6D rotations for
24 joints, 10 betas, the camera), and the 6D rotations become matrices by Gram-Schmidt
(Zhou et al. 2019).

Real weights (a 4D-Humans checkpoint, e.g. logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt):

  /usr/bin/python3 scripts/export_hmr2_onnx.py hmr2.onnx --checkpoint PATH.ckpt [--fp16] [--vertices]

  With 4D-Humans installed (its `hmr2` package importable), its own model class loads the
  checkpoint (hmr2.models.load_hmr2, which also reads model_config.yaml beside it). Without
  it, this script's own modules of the same architecture and parameter names load the
  checkpoint's backbone.* and smpl_head.* weights (torch only).

A randomly initialised network of the same form, for tests (--depth/--width and the head's
sizes shrink it):

  /usr/bin/python3 scripts/export_hmr2_onnx.py tiny.onnx --random --depth 2 --width 64 --heads 4 \\
      --head-depth 1 --head-width 64 --head-heads 2 --head-dim 32 --head-mlp 128 --seed 1

Options: --opset (17 or newer; default 17), --fp16 (weights and arithmetic in float16, input and
outputs stay float32: half the file, and faster on GPUs; ONNX Runtime's CPU provider runs the
operators it has no float16 kernels for in float32, through casts it inserts), --external-data (weights in PATH.data beside the model; automatic when the
model is over 2 GB, as ViT-H in float32 is), --save-state PATH (the torch weights and sizes,
for tests' references).

Needs Debian's python3-torch (1.13) and python3-onnx. Run it with /usr/bin/python3.
"""
import argparse
import inspect
import math
import os
import sys
import tempfile
import warnings

import torch
import torch.nn.functional as F
from torch import nn

# ViTPose-H as HMR2 uses it (4D-Humans hmr2/models/backbones/vit.py: img_size (256, 192),
# patch 16, embed 1280, depth 32, heads 16, mlp ratio 4, qkv bias).
VIT_H = dict(depth=32, width=1280, heads=16)
# HMR2's SMPL head (hmr2/configs_hydra/experiment/hmr_vit_transformer.yaml and
# hmr2/models/heads/smpl_head.py: depth 6, heads 8, dim_head 64, mlp_dim 1024, dim 1024).
HEAD = dict(head_depth=6, head_width=1024, head_heads=8, head_dim=64, head_mlp=1024)
WINDOW = (256, 192)  # the backbone's input: the crop's middle 192 columns
PATCH = 16
JOINTS = 24
BETAS = 10


class PatchEmbed(nn.Module):
    """16x16 patches with 2 pixels of zero padding (ViTPose), 256x192 -> 16x12 tokens."""

    def __init__(self, width):
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=PATCH, stride=PATCH, padding=2)

    def forward(self, x):
        return self.proj(x)


class ViTAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.scale = heads, (width // heads) ** -0.5
        self.qkv = nn.Linear(width, 3 * width, bias=True)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, n, c))


class ViTMlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, 4 * width)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ViTBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = ViTAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = ViTMlp(width)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTBackbone(nn.Module):
    """[B,3,256,192] -> feature map [B,width,16,12]."""

    def __init__(self, depth, width, heads):
        super().__init__()
        self.patch_embed = PatchEmbed(width)
        tokens = (WINDOW[0] // PATCH) * (WINDOW[1] // PATCH)
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, width))
        self.blocks = nn.ModuleList([ViTBlock(width, heads) for _ in range(depth)])
        self.last_norm = nn.LayerNorm(width, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed(x)
        b, c, hp, wp = x.shape
        x = x.flatten(2).transpose(1, 2)
        # The class-token slot's embedding is added to every patch token (ViTPose).
        x = x + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        for blk in self.blocks:
            x = blk(x)
        x = self.last_norm(x)
        return x.transpose(1, 2).reshape(b, c, hp, wp)


class PreNorm(nn.Module):
    def __init__(self, width, fn):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fn = fn

    def forward(self, x, **kw):
        return self.fn(self.norm(x), **kw)


def split_heads(t, h):
    b, n, _ = t.shape
    return t.reshape(b, n, h, -1).transpose(1, 2)


def merge_heads(t):
    b, h, n, d = t.shape
    return t.transpose(1, 2).reshape(b, n, h * d)


class SelfAttention(nn.Module):
    def __init__(self, width, heads, dim_head):
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_qkv = nn.Linear(width, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * dim_head, width), nn.Dropout(0.0))

    def forward(self, x):
        q, k, v = (split_heads(t, self.heads) for t in self.to_qkv(x).chunk(3, dim=-1))
        att = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        return self.to_out(merge_heads(att @ v))


class CrossAttention(nn.Module):
    def __init__(self, width, context_width, heads, dim_head):
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_kv = nn.Linear(context_width, 2 * heads * dim_head, bias=False)
        self.to_q = nn.Linear(width, heads * dim_head, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * dim_head, width), nn.Dropout(0.0))

    def forward(self, x, context=None):
        k, v = (split_heads(t, self.heads) for t in self.to_kv(context).chunk(2, dim=-1))
        q = split_heads(self.to_q(x), self.heads)
        att = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        return self.to_out(merge_heads(att @ v))


class FeedForward(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(hidden, width), nn.Dropout(0.0))

    def forward(self, x):
        return self.net(x)


class DecoderLayers(nn.Module):
    def __init__(self, width, depth, heads, dim_head, mlp, context_width):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([
            PreNorm(width, SelfAttention(width, heads, dim_head)),
            PreNorm(width, CrossAttention(width, context_width, heads, dim_head)),
            PreNorm(width, FeedForward(width, mlp)),
        ]) for _ in range(depth)])

    def forward(self, x, context):
        for sa, ca, ff in self.layers:
            x = sa(x) + x
            x = ca(x, context=context) + x
            x = ff(x) + x
        return x


class TokenDecoder(nn.Module):
    """One query token (a zero, embedded) through the cross-attending layers."""

    def __init__(self, width, depth, heads, dim_head, mlp, context_width):
        super().__init__()
        self.to_token_embedding = nn.Linear(1, width)
        self.pos_embedding = nn.Parameter(torch.randn(1, 1, width))
        self.transformer = DecoderLayers(width, depth, heads, dim_head, mlp, context_width)

    def forward(self, token, context):
        x = self.to_token_embedding(token) + self.pos_embedding
        return self.transformer(x, context)


def rot6d_to_matrix(x):
    """[N,6] -> [N,3,3]: columns b1, b2, b3 by Gram-Schmidt from (x[0:3], x[3:6])."""
    a1, a2 = x[:, 0:3], x[:, 3:6]
    b1 = F.normalize(a1, dim=1)
    b2 = F.normalize(a2 - (b1 * a2).sum(dim=1, keepdim=True) * b1, dim=1)
    b3 = torch.stack([b1[:, 1] * b2[:, 2] - b1[:, 2] * b2[:, 1],
                      b1[:, 2] * b2[:, 0] - b1[:, 0] * b2[:, 2],
                      b1[:, 0] * b2[:, 1] - b1[:, 1] * b2[:, 0]], dim=1)
    return torch.stack([b1, b2, b3], dim=-1)


class SMPLHead(nn.Module):
    """Feature map [B,C,16,12] -> (params, pred_cam, [params]) as HMR2's head returns them."""

    def __init__(self, context_width, head_depth, head_width, head_heads, head_dim, head_mlp):
        super().__init__()
        self.transformer = TokenDecoder(head_width, head_depth, head_heads, head_dim, head_mlp, context_width)
        self.decpose = nn.Linear(head_width, 6 * JOINTS)
        self.decshape = nn.Linear(head_width, BETAS)
        self.deccam = nn.Linear(head_width, 3)
        # Mean parameters (4D-Humans reads them from smpl_mean_params.npz): upright and facing
        # the camera (root turned 180 degrees about x), the other joints at rest, mean shape,
        # camera scale 0.9. A checkpoint overwrites them.
        pose = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(JOINTS)
        pose[0:6] = torch.tensor([1.0, 0, 0, 0, -1, 0])
        self.register_buffer("init_body_pose", pose[None])
        self.register_buffer("init_betas", torch.zeros(1, BETAS))
        self.register_buffer("init_cam", torch.tensor([[0.9, 0.0, 0.0]]))

    def forward(self, feats):
        b = feats.shape[0]
        context = feats.flatten(2).transpose(1, 2)
        token = feats.new_zeros((b, 1, 1))
        out = self.transformer(token, context)[:, 0]
        pose = self.decpose(out) + self.init_body_pose
        betas = self.decshape(out) + self.init_betas
        cam = self.deccam(out) + self.init_cam
        rot = rot6d_to_matrix(pose.reshape(-1, 6)).reshape(b, JOINTS, 3, 3)
        params = {"global_orient": rot[:, :1], "body_pose": rot[:, 1:], "betas": betas}
        return params, cam, [params]


class HMR2(nn.Module):
    """HMR2's backbone and SMPL head, with 4D-Humans' parameter names (backbone.*, smpl_head.*)."""

    def __init__(self, depth, width, heads, head_depth, head_width, head_heads, head_dim, head_mlp):
        super().__init__()
        self.backbone = ViTBackbone(depth, width, heads)
        self.smpl_head = SMPLHead(width, head_depth, head_width, head_heads, head_dim, head_mlp)


class Contract(nn.Module):
    """The pose-model contract around a backbone and head (4D-Humans' own or ours)."""

    def __init__(self, backbone, head, smpl=None):
        super().__init__()
        self.backbone, self.head, self.smpl = backbone, head, smpl

    def forward(self, img):
        feats = self.backbone(img[:, :, :, 32:-32])
        params, cam, _ = self.head(feats)
        b = img.shape[0]
        go = params["global_orient"].reshape(b, 1, 3, 3)
        bp = params["body_pose"].reshape(b, JOINTS - 1, 3, 3)
        betas = params["betas"].reshape(b, BETAS)
        outs = [cam, go, bp, betas]
        if self.smpl is not None:
            outs.append(self.smpl(global_orient=go, body_pose=bp, betas=betas, pose2rot=False).vertices)
        return tuple(outs)


def sizes(args):
    return {k: getattr(args, k) for k in ("depth", "width", "heads", "head_depth", "head_width",
                                          "head_heads", "head_dim", "head_mlp")}


def random_model(cfg, seed):
    """A randomly initialised HMR2 of the sizes in cfg. The read-outs get small weights
    (4D-Humans' INIT_DECODER_XAVIER, gain 0.01, for the camera) or default ones (pose and
    shape), so that crops change the pose strongly while the camera scale stays positive."""
    torch.manual_seed(seed)
    m = HMR2(**cfg)
    with torch.no_grad():
        nn.init.trunc_normal_(m.backbone.pos_embed, std=0.02)
        nn.init.xavier_uniform_(m.smpl_head.deccam.weight, gain=0.01)
        m.smpl_head.deccam.bias.zero_()
    return m.eval()


def load_checkpoint(path, cfg, vertices):
    """(backbone, head, smpl) from a 4D-Humans checkpoint."""
    try:
        from hmr2.models import load_hmr2  # 4D-Humans, when installed
    except ImportError:
        load_hmr2 = None
    if load_hmr2 is not None:
        model, _ = load_hmr2(path)
        model = model.eval()
        return model.backbone, model.smpl_head, (model.smpl if vertices else None)
    if vertices:
        sys.exit("--vertices needs 4D-Humans installed (its SMPL layer); without it, meshpipe poses "
                 "the SMPL file given with -body itself")
    state = torch.load(path, map_location="cpu")
    state = state.get("state_dict", state)
    m = HMR2(**cfg)
    want = m.state_dict()
    got = {k: v for k, v in state.items() if k.startswith(("backbone.", "smpl_head."))}
    missing = sorted(set(want) - set(got))
    if missing:
        sys.exit(f"{path}: {len(missing)} weights missing, e.g. {missing[:5]}; is it an HMR2 checkpoint "
                 f"of these sizes ({cfg})?")
    bad = [k for k in want if tuple(got[k].shape) != tuple(want[k].shape)]
    if bad:
        sys.exit(f"{path}: weights of other shapes, e.g. {bad[0]}: {tuple(got[bad[0]].shape)} here, "
                 f"{tuple(want[bad[0]].shape)} expected for {cfg}")
    m.load_state_dict({k: got[k] for k in want})
    m.eval()
    return m.backbone, m.smpl_head, None


def to_fp16(model):
    """Float16 weights and arithmetic, float32 input and outputs: every float32 initializer,
    constant and cast becomes float16; the input is cast down and the outputs up."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    g = model.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        for a in n.attribute:
            if a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
            if a.type == a.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
    inp = g.input[0].name
    for n in g.node:
        n.input[:] = [inp + "_fp16" if x == inp else x for x in n.input]
    g.node.insert(0, helper.make_node("Cast", [inp], [inp + "_fp16"], to=TensorProto.FLOAT16))
    for o in g.output:
        for n in g.node:
            n.output[:] = [o.name + "_fp16" if x == o.name else x for x in n.output]
        g.node.append(helper.make_node("Cast", [o.name + "_fp16"], [o.name], to=TensorProto.FLOAT))
    del g.value_info[:]
    return model


def export(net, out, opset, fp16, external, names):
    import onnx
    dummy = torch.zeros(2, 3, 256, 256)
    axes = {n: {0: "B"} for n in ["img"] + names}
    # torch 1.13 warns about its own constants' shape inference; the export is checked below.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "model.onnx")
        with torch.no_grad():
            # torch 2.9 and later export with the dynamo exporter by default, which does not take
            # dynamic_axes the same way; the TorchScript exporter (dynamo=False) is the one this
            # script is written for, and the only one older torch (Debian's 1.13) has.
            extra = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
            torch.onnx.export(net, dummy, raw, opset_version=opset, input_names=["img"], output_names=names,
                              dynamic_axes=axes, do_constant_folding=True, **extra)
        model = onnx.load(raw)  # also reads weights torch wrote as external files
    if fp16:
        model = to_fp16(model)
    model.producer_name = "meshpipe scripts/export_hmr2_onnx.py"
    size = sum(len(t.raw_data) for t in model.graph.initializer)
    for f in (out, out + ".data"):
        if os.path.exists(f):
            os.remove(f)
    if external or size > 2_000_000_000:
        onnx.save_model(model, out, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(out) + ".data", size_threshold=1024)
        onnx.checker.check_model(out)
    else:
        onnx.checker.check_model(model)
        onnx.save_model(model, out)
    return size


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", help="the .onnx file to write")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a 4D-Humans HMR2 checkpoint (.ckpt)")
    src.add_argument("--random", action="store_true", help="random weights (tests)")
    for k, v in {**VIT_H, **HEAD}.items():
        p.add_argument("--" + k.replace("_", "-"), type=int, default=v, help=f"default {v}")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 17 or newer (default 17)")
    p.add_argument("--fp16", action="store_true", help="float16 weights and arithmetic, float32 input and outputs")
    p.add_argument("--external-data", action="store_true", help="weights in OUT.data (automatic over 2 GB)")
    p.add_argument("--vertices", action="store_true", help="also output pred_vertices (4D-Humans' SMPL)")
    p.add_argument("--save-state", help="also save the torch weights and sizes here (tests)")
    args = p.parse_args()
    if args.opset < 17:
        p.error("--opset must be 17 or newer")
    if args.width % args.heads:
        p.error(f"--width {args.width} is not a multiple of --heads {args.heads}")
    cfg = sizes(args)
    if args.random:
        model = random_model(cfg, args.seed)
        backbone, head, smpl = model.backbone, model.smpl_head, None
    else:
        backbone, head, smpl = load_checkpoint(args.checkpoint, cfg, args.vertices)
    net = Contract(backbone, head, smpl).eval()
    names = ["pred_cam", "global_orient", "body_pose", "betas"] + (["pred_vertices"] if smpl else [])
    params = sum(t.numel() for t in net.parameters())
    size = export(net, args.out, args.opset, args.fp16, args.external_data, names)
    if args.save_state:
        torch.save({"sizes": cfg, "state_dict": weights_of(backbone, head).state_dict()}, args.save_state)
    print(f"{args.out}: HMR2 {cfg}, {params / 1e6:.1f} M parameters, {size / 1e6:.1f} MB of weights, "
          f"opset {args.opset}{', float16' if args.fp16 else ''}", file=sys.stderr)


def weights_of(backbone, head):
    """A module holding backbone and head under HMR2's names, for state_dict()."""
    m = nn.Module()
    m.backbone, m.smpl_head = backbone, head
    return m


def load_state(path):
    """The HMR2 module saved with --save-state, for references."""
    saved = torch.load(path, map_location="cpu")
    m = HMR2(**saved["sizes"])
    m.load_state_dict(saved["state_dict"])
    return m.eval()


if __name__ == "__main__":
    main()
