"""Imports motion files into Blender and reports where their joints are: run headless as

    blender -b --factory-startup --python blender_joints.py -- JOBS.json OUT.json

JOBS.json: [{"file": PATH (.bvh or .glb), "fps": scene frame rate set before importing (the
glTF importer turns seconds into frames with it), "frame_start": the BVH importer's Start
Frame, "frames": [Blender frames to report]}, ...]

OUT.json: [{"file": PATH, "objects": [names of the objects imported], "bones": [the
armature's bone names], "frames": {"N": {bone: [x, y, z]}}, "error": text}, ...] with each
bone's head in world space (Blender's z-up frame, metres) after scene.frame_set(N).

Blender 3.4.1's BVH importer opens files with mode 'rU', which its Python 3.11 refuses
("invalid mode"); open is wrapped to drop the 'U' while importing. Its glTF importer fails with
the default shading option under Debian's numpy 1.24 ("module 'numpy' has no attribute
'bool'"); glb files are imported with Shading: Smooth.
"""
import builtins
import json
import sys
import traceback

import bpy

_open = builtins.open


def open_without_u(file, mode="r", *args, **kwargs):
    if isinstance(mode, str):
        mode = mode.replace("U", "")
    return _open(file, mode, *args, **kwargs)


def run(job):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    fps = job["fps"]
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    path = job["file"]
    before = set(bpy.data.objects)
    if path.endswith(".bvh"):
        builtins.open = open_without_u
        try:
            bpy.ops.import_anim.bvh(filepath=path, frame_start=job.get("frame_start", 1), global_scale=1.0)
        finally:
            builtins.open = _open
    else:
        # Shading "Smooth": Debian's Blender 3.4.1 fails with its default, "Use Normal Data",
        # under numpy 1.24 (np.bool is gone); meshpipe's bodies are smooth anyway.
        bpy.ops.import_scene.gltf(filepath=path, import_shading="SMOOTH")
    new = [o for o in bpy.data.objects if o not in before]
    arms = [o for o in new if o.type == "ARMATURE"]
    if len(arms) != 1:
        raise RuntimeError("%d armatures imported (objects: %s)" % (len(arms), [o.name for o in new]))
    arm = arms[0]
    out = {"file": path, "objects": sorted(o.name for o in new), "bones": [b.name for b in arm.data.bones], "frames": {}}
    for f in job["frames"]:
        scene.frame_set(f)
        out["frames"][str(f)] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
    return out


def main():
    args = sys.argv[sys.argv.index("--") + 1:]
    with _open(args[0]) as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        try:
            results.append(run(job))
        except Exception:
            results.append({"file": job.get("file"), "error": traceback.format_exc()})
    with _open(args[1], "w") as f:
        json.dump(results, f)


main()
