#!/usr/bin/python3
"""Random SMPL-layout body files and a numpy reference of SMPL's linear blend skinning, for
models/smpl_test.go and the end-to-end test. Independent of meshpipe's Go code; the maths is
SMPL's (Loper et al. 2015) as smplx's lbs() applies it to rotation matrices:

  v_shaped = v_template + shapedirs[:, :, :10] . betas
  J        = J_regressor . v_shaped
  v_posed  = v_shaped + posedirs . (R_j - I for joints 1..23, flattened)
  G_j      = G_parent(j) [R_j | J_j - J_parent(j)],  G_0 = [R_0 | J_0]
  v        = sum_j w_j (G_j applied to v_posed - J_j)

usage:
  smpl_ref.py make OUT.npz V SEED [f32|f64] [fortran]
        a random body: V vertices, 1.5*V faces, shapedirs with 16 components (the first 10
        are used), posedirs [V,3,207]; f32 or f64 floats; fortran stores posedirs and
        shapedirs in Fortran order.
  smpl_ref.py broken DIR
        one broken file per error case, DIR/<case>.npz (see CASES).
  smpl_ref.py lbs BODY.npz POSES.json OUT.json
        POSES.json: [{"betas": [10], "global_orient": [9], "body_pose": [23*9]}, ...];
        OUT.json: [{"vertices": [V*3], "joints": [24*3]}, ...] in the body frame.
"""
import json
import sys

import numpy as np

PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def random_body(v, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    body = {}
    body["v_template"] = rng.normal(0, 0.3, (v, 3))
    body["shapedirs"] = rng.normal(0, 0.01, (v, 3, 16))
    body["posedirs"] = rng.normal(0, 0.01, (v, 3, 207))
    jr = rng.random((24, v)) * (rng.random((24, v)) < 0.05)
    jr[:, 0] += 1e-3  # no empty row
    body["J_regressor"] = jr / jr.sum(axis=1, keepdims=True)
    w = rng.random((v, 24)) * (rng.random((v, 24)) < 0.15)
    w[np.arange(v), rng.integers(0, 24, v)] += 0.5
    body["weights"] = w / w.sum(axis=1, keepdims=True)
    kt = np.zeros((2, 24), np.int64)
    kt[0] = PARENTS
    kt[0, 0] = 4294967295  # SMPL's pickles give the root this parent
    kt[1] = np.arange(24)
    body["kintree_table"] = kt
    body["f"] = rng.integers(0, v, (v * 3 // 2, 3)).astype(np.uint32)
    for k in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        body[k] = body[k].astype(dtype)
    return body


def lbs(body, betas, global_orient, body_pose):
    vt = body["v_template"].astype(np.float64)
    sd = body["shapedirs"][:, :, :10].astype(np.float64)
    pd = body["posedirs"].astype(np.float64)
    jr = body["J_regressor"].astype(np.float64)
    w = body["weights"].astype(np.float64)
    v = vt.shape[0]
    rots = np.concatenate([np.asarray(global_orient, np.float64).reshape(1, 3, 3),
                           np.asarray(body_pose, np.float64).reshape(23, 3, 3)])
    v_shaped = vt + np.einsum("vks,s->vk", sd, np.asarray(betas, np.float64))
    joints = jr @ v_shaped
    feature = (rots[1:] - np.eye(3)).reshape(-1)
    v_posed = v_shaped + (pd.reshape(v * 3, 207) @ feature).reshape(v, 3)
    world = np.zeros((24, 4, 4))
    for j in range(24):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        p = PARENTS[j]
        local[:3, 3] = joints[j] - (joints[p] if p >= 0 else 0)
        world[j] = local if p < 0 else world[p] @ local
    posed_joints = world[:, :3, 3].copy()
    rel = world.copy()
    rel[:, :3, 3] -= np.einsum("jab,jb->ja", world[:, :3, :3], joints)
    blended = np.einsum("vj,jab->vab", w, rel)
    verts = np.einsum("vab,vb->va", blended[:, :3, :3], v_posed) + blended[:, :3, 3]
    return verts, posed_joints


def save(path, body, fortran=False):
    if fortran:
        body = dict(body)
        for k in ("posedirs", "shapedirs"):
            body[k] = np.asfortranarray(body[k])
    np.savez(path, **body)


# Broken files: case -> (change, what the error must say).
def broken_cases(base):
    def without(k):
        b = dict(base)
        del b[k]
        return b

    def with_(k, val):
        b = dict(base)
        b[k] = val
        return b

    v = base["v_template"].shape[0]
    bad_faces = base["f"].copy()
    bad_faces[3, 1] = v + 7
    bad_tree = base["kintree_table"].copy()
    bad_tree[0, 5] = 3
    return {
        "missing_v_template": without("v_template"),
        "missing_shapedirs": without("shapedirs"),
        "missing_posedirs": without("posedirs"),
        "missing_J_regressor": without("J_regressor"),
        "missing_weights": without("weights"),
        "missing_kintree_table": without("kintree_table"),
        "missing_f": without("f"),
        "shape_v_template": with_("v_template", base["v_template"][:, :2]),
        "shape_shapedirs": with_("shapedirs", base["shapedirs"][:, :, :8]),
        "shape_posedirs": with_("posedirs", base["posedirs"][:, :, :200]),
        "shape_J_regressor": with_("J_regressor", base["J_regressor"][:, :-1]),
        "shape_weights": with_("weights", base["weights"][:, :23]),
        "shape_kintree_table": with_("kintree_table", base["kintree_table"][:, :22]),
        "shape_f": with_("f", base["f"][:, :2]),
        "dtype_weights": with_("weights", base["weights"].astype(np.int32)),
        "dtype_f": with_("f", base["f"].astype(np.float32)),
        "object_J_regressor": with_("J_regressor", np.array([{"sparse": True}], dtype=object)),
        "range_f": with_("f", bad_faces),
        "tree_kintree_table": with_("kintree_table", bad_tree),
    }


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        out, v, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        dtype = np.float32 if "f32" in sys.argv[5:] else np.float64
        save(out, random_body(v, seed, dtype), fortran="fortran" in sys.argv[5:])
    elif cmd == "broken":
        d = sys.argv[2]
        for name, body in broken_cases(random_body(30, 9)).items():
            np.savez(f"{d}/{name}.npz", **body)
    elif cmd == "lbs":
        body = dict(np.load(sys.argv[2]))
        with open(sys.argv[3]) as f:
            poses = json.load(f)
        out = []
        for p in poses:
            verts, joints = lbs(body, p["betas"], p["global_orient"], p["body_pose"])
            out.append({"vertices": verts.reshape(-1).tolist(), "joints": joints.reshape(-1).tolist()})
        with open(sys.argv[4], "w") as f:
            json.dump(out, f)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
