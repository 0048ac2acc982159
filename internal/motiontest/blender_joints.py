"""Imports motion files into Blender with the project's scripts/blender_import.py and reports
where their joints are: run headless as

    blender -b --factory-startup --python blender_joints.py -- SCRIPTS_DIR JOBS.json OUT.json

JOBS.json: [{"file": PATH (.bvh or .glb, with tracks.json beside it), "frames": [frames to
report]}, ...]; a PATH that is a folder is opened whole (glb files and the camera, --camera),
and only its objects, frame rate and frame range are reported. blender_import.py sets the scene's frame rate and puts stream frame n on
Blender frame n.

OUT.json: [{"file": PATH, "objects": [names of the objects imported], "bones": [the
armature's bone names], "fps": the scene's frame rate, "frames": {"N": {bone: [x, y, z]}},
"error": text}, ...] with each bone's head in world space (Blender's z-up frame, metres)
after scene.frame_set(N).
"""
import json
import os
import sys
import traceback

import bpy


def run(job, blender_import):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    path = job["file"]
    if os.path.isdir(path):  # the whole folder, as a user opens it, with the camera
        blender_import.main([path, "--camera"])
        scene = bpy.context.scene
        return {"file": path, "objects": sorted(o.name for o in bpy.data.objects),
                "fps": scene.render.fps / scene.render.fps_base, "frames": {},
                "frame_range": [scene.frame_start, scene.frame_end]}
    tracks = blender_import.read_tracks(os.path.dirname(os.path.abspath(path)))
    blender_import.set_frame_rate(tracks["frame_rate"])
    new = blender_import.import_file(path)
    arms = [o for o in new if o.type == "ARMATURE"]
    if len(arms) != 1:
        raise RuntimeError("%d armatures imported (objects: %s)" % (len(arms), [o.name for o in new]))
    arm = arms[0]
    scene = bpy.context.scene
    out = {"file": path, "objects": sorted(o.name for o in new), "bones": [b.name for b in arm.data.bones],
           "fps": scene.render.fps / scene.render.fps_base, "frames": {}}
    for f in job["frames"]:
        scene.frame_set(f)
        out["frames"][str(f)] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
    return out


def main():
    args = sys.argv[sys.argv.index("--") + 1:]
    sys.path.insert(0, args[0])
    import blender_import
    with open(args[1]) as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        try:
            results.append(run(job, blender_import))
        except Exception:
            results.append({"file": job.get("file"), "error": traceback.format_exc()})
    with open(args[2], "w") as f:
        json.dump(results, f)


main()
