"""Opens meshpipe's motion files (meshpipe -motion DIR, or meshpipe motion) in Blender, every
track on the stream's clock: stream frame n is Blender frame n, in the glb and the BVH files
alike, and the scene's frame rate is the stream's.

    blender --python scripts/blender_import.py -- out/vtest_motion          # every track's .glb
    blender --python scripts/blender_import.py -- out/vtest_motion --bvh    # every track's .bvh
    blender --python scripts/blender_import.py -- out/vtest_motion/track_3.bvh out/vtest_motion/track_5.glb
    blender --python scripts/blender_import.py -- out/vtest_motion --camera   # and the video's camera

A folder is read through its tracks.json (frame rate, each track's first frame and files);
a file through the tracks.json beside it. Add -b before --python to run without a window.

--camera adds the camera the poses were recovered with (the HMR2 contract's: at the origin,
looking along +y, z up, focal length 5000/256 x the frame's longer side in pixels, which is a
703.125 mm lens on a 36 mm sensor fitted to the longer side); set the render resolution to the
video's size and the bodies land on the people of the video.

What it does that Blender's importers do not do on their own:
  - the scene's frame rate is set before importing: the glTF importer turns seconds into frames
    with the scene's (whole-number) rate; for a rate such as 29.97 the keys are then moved to
    time x 29.97;
  - a BVH is imported at 1 m a unit (Scale 1), then its keys are moved so that its first line
    (the track's first frame) is on that frame: Blender's BVH importer starts at frame 1 or
    later;
  - Debian's Blender 3.4.1: its BVH importer opens files with mode 'rU', which its Python 3.11
    refuses ("invalid mode"), so open is wrapped to drop the 'U' while importing; its glTF
    importer fails under numpy 1.24 with the default Shading option ("module 'numpy' has no
    attribute 'bool'"), so glb files are imported with Shading: Smooth.
"""
import builtins
import json
import math
import os
import sys

import bpy

_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    if isinstance(mode, str):
        mode = mode.replace("U", "")
    return _open(file, mode, *args, **kwargs)


def read_tracks(folder):
    """Returns the folder's tracks.json as a dict, or None when there is none."""
    path = os.path.join(folder, "tracks.json")
    if not os.path.exists(path):
        return None
    with _open(path) as f:
        return json.load(f)


def set_frame_rate(rate):
    """Sets the scene's frame rate to rate (frames per second, may be fractional)."""
    scene = bpy.context.scene
    scene.render.fps = max(1, round(rate))
    scene.render.fps_base = scene.render.fps / rate


def _shift_keys(objects, scale=1.0, offset=0.0):
    """Moves every key of the objects' actions from frame x to x * scale + offset."""
    for ob in objects:
        ad = ob.animation_data
        if ad is None or ad.action is None:
            continue
        for fc in ad.action.fcurves:
            for k in fc.keyframe_points:
                for p in (k.co, k.handle_left, k.handle_right):
                    p.x = p.x * scale + offset
            fc.update()


def import_file(path, first_frame=None, rate=None):
    """Imports one .bvh or .glb motion file and returns the objects made (an armature, and for a
    glb the body mesh). first_frame (a BVH's first stream frame) and rate (frames per second)
    default to the tracks.json beside the file; the scene's frame rate must already be rate."""
    tracks = read_tracks(os.path.dirname(os.path.abspath(path)))
    if tracks is not None:
        rate = rate or tracks["frame_rate"]
        if first_frame is None:
            name = os.path.basename(path)
            for t in tracks["tracks"]:
                if name in (t.get("bvh"), t.get("glb")):
                    first_frame = t["first_frame"]
    before = set(bpy.data.objects)
    if path.endswith(".bvh"):
        builtins.open = _open_without_u
        try:
            bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, frame_start=1, use_fps_scale=False,
                                    update_scene_fps=False, update_scene_duration=False)
        finally:
            builtins.open = _open
        new = [o for o in bpy.data.objects if o not in before]
        _shift_keys(new, offset=(first_frame or 0) - 1)
    else:
        bpy.ops.import_scene.gltf(filepath=path, import_shading="SMOOTH")
        new = [o for o in bpy.data.objects if o not in before]
        if rate and bpy.context.scene.render.fps != rate:
            _shift_keys(new, scale=rate / bpy.context.scene.render.fps)
    return new


def import_folder(folder, kind="glb"):
    """Imports every track of a motion folder (kind "glb" or "bvh") and sets the scene's frame
    rate and frame range to the stream's; returns the objects made."""
    tracks = read_tracks(folder)
    if tracks is None:
        raise SystemExit("%s: no tracks.json (is it a meshpipe motion folder?)" % folder)
    set_frame_rate(tracks["frame_rate"])
    made, last = [], 0
    for t in tracks["tracks"]:
        if t.get(kind):
            made += import_file(os.path.join(folder, t[kind]), t["first_frame"], tracks["frame_rate"])
            last = max(last, t["last_frame"])
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 0, max(last, 1)
    return made


def add_camera():
    """Adds the contract's camera (see the top of this file) as the scene's camera."""
    data = bpy.data.cameras.new("meshpipe camera")
    data.sensor_fit, data.sensor_width = "AUTO", 36.0
    data.lens = 5000 / 256 * 36.0
    data.clip_end = 10000.0  # people stand hundreds of metres deep for this long lens
    cam = bpy.data.objects.new("meshpipe camera", data)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)  # from looking along -z to looking along +y
    bpy.context.scene.collection.objects.link(cam)
    bpy.context.scene.camera = cam
    return cam


def main(argv):
    kind = "bvh" if "--bvh" in argv else "glb"
    if "--camera" in argv:
        add_camera()
    for arg in (a for a in argv if a not in ("--bvh", "--camera")):
        if os.path.isdir(arg):
            import_folder(arg, kind)
        else:
            tracks = read_tracks(os.path.dirname(os.path.abspath(arg)))
            if tracks is not None:
                set_frame_rate(tracks["frame_rate"])
            import_file(arg)


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else [])
