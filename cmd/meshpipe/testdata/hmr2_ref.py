#!/usr/bin/python3
"""Reference for cmd/meshpipe's end-to-end test: what meshpipe's -poses JSONL should hold for a
model exported by scripts/export_hmr2_onnx.py --save-state and a body file, computed without
meshpipe's Go code or ONNX Runtime:

  crops     models/testdata/crop_ref.py (OpenCV, 4D-Humans' crop), from each person's bbox:
            centre ((x1+x2)/2, (y1+y2)/2) and side max(h, 4w/3) (4D-Humans' expand_to_aspect_ratio
            with BBOX_SHAPE [192, 256]), in float32 as 4D-Humans has them;
  model     the torch module itself (not its ONNX export), on all crops of a frame;
  camera    f = 5000/256 * max(W, H), principal point (W/2, H/2); with bs = side * s,
            T = (tx + 2(cx - W/2)/bs, ty + 2(cy - H/2)/bs, 2f/bs) (4D-Humans' cam_crop_to_full);
  body      models/testdata/smpl_ref.py's numpy SMPL; joints_3d = posed joints + T;
  2D        u = f x/z + W/2, v = f y/z + H/2.

usage: hmr2_ref.py STATE.pt BODY.npz FRAMES.rgb W H POSES.jsonl OUT.json [FRAMES.rgb W H POSES.jsonl OUT.json ...]
  (one group of five per meshpipe run, so that torch loads once)
  FRAMES.rgb   the rgb24 frames meshpipe read, W*H*3 bytes each
  POSES.jsonl  meshpipe's -poses output (only the frames and bboxes are read from it)
  OUT.json     [{"frame": k, "people": [{"pred_cam", "cam_t", "global_orient", "body_pose",
               "betas", "joints_3d", "joints_2d"}, ...]}, ...]
"""
import json
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..", "..")
sys.path[:0] = [os.path.join(root, "scripts"), os.path.join(root, "models", "testdata")]
import crop_ref  # noqa: E402
import export_hmr2_onnx  # noqa: E402
import smpl_ref  # noqa: E402


def main():
    state, body_path = sys.argv[1:3]
    model = export_hmr2_onnx.load_state(state)
    net = export_hmr2_onnx.Contract(model.backbone, model.smpl_head).eval()
    body = dict(np.load(body_path))
    runs = sys.argv[3:]
    if not runs or len(runs) % 5:
        sys.exit("want STATE.pt BODY.npz and groups of FRAMES.rgb W H POSES.jsonl OUT.json")
    for i in range(0, len(runs), 5):
        reference(net, body, *runs[i:i + 5])


def reference(net, body, frames_path, w, h, poses_path, out_path):
    w, h = int(w), int(h)
    frames = np.fromfile(frames_path, np.uint8).reshape(-1, h, w, 3)
    focal = 5000.0 / 256 * max(w, h)
    out = []
    with open(poses_path) as f:
        records = [json.loads(line) for line in f]
    for rec in records:
        img = frames[rec["frame"]]
        people = []
        windows, crops = [], []
        for p in rec["people"]:
            x1, y1, x2, y2 = (np.float32(v) for v in p["bbox"])
            bw, bh = x2 - x1, y2 - y1
            cx, cy = (x1 + x2) / np.float32(2), (y1 + y2) / np.float32(2)
            side = max(bh, bw * np.float32(256) / np.float32(192))
            windows.append((float(cx), float(cy), float(side)))
            crops.append(crop_ref.crop(img, cx, cy, side))
        if crops:
            with torch.no_grad():
                cam, go, bp, betas = (t.double().numpy() for t in net(torch.from_numpy(np.stack(crops))))
        for i, (cx, cy, side) in enumerate(windows):
            s, tx, ty = cam[i]
            bs = side * s
            t = np.array([tx + 2 * (cx - w / 2) / bs, ty + 2 * (cy - h / 2) / bs, 2 * focal / bs])
            _, joints = smpl_ref.lbs(body, betas[i], go[i].reshape(9), bp[i].reshape(-1))
            j3 = joints + t
            j2 = np.stack([focal * j3[:, 0] / j3[:, 2] + w / 2, focal * j3[:, 1] / j3[:, 2] + h / 2], axis=1)
            people.append({"pred_cam": cam[i].tolist(), "cam_t": t.tolist(), "global_orient": go[i].reshape(3, 3).tolist(),
                           "body_pose": bp[i].tolist(), "betas": betas[i].tolist(),
                           "joints_3d": j3.tolist(), "joints_2d": j2.tolist()})
        out.append({"frame": rec["frame"], "people": people})
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
