#!/usr/bin/env bash
# Frames per second of meshpipe as a frei0r plugin in ffmpeg and as the pipe, side by side, on
# the same frames of vtest.avi, with the same pose model and detector.
#
#   scripts/bench_plugin.sh            (make bench-plugin runs it)
#
# BENCH_FRAMES   frames to time (default 200; vtest.avi has 795)
# BENCH_PARAMS   the plugin's filter_params (default "|bgsub|1|default": every parameter at its
#                default, as the pipe's flags: BlazePose full when set up, background
#                subtraction, opaque meshes, 4D-Humans' colour)
# MESHPIPE_FLAGS the pipe's flags besides -s (default: none, which is the same set-up)
#
# Both read the same decoded rgb24 frames from a file and write rgb24 to /dev/null, so neither
# pays for decoding or encoding. The plugin runs each frame synchronously (its people posed in
# one run of the model, one GL context); the pipe overlaps frames (2 pose workers, batches of
# 4 crops, and the render workers picked for the renderer). The
# third line is ffmpeg with no meshpipe at all, converting rgb24 to RGBA and back as it does
# around the plugin: the plugin's share of the time is the difference.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

frames=${BENCH_FRAMES:-200}
params=${BENCH_PARAMS:-|bgsub|1|default}
read -r -a flags <<<"${MESHPIPE_FLAGS:-}"
video=.deps/samples/vtest.avi
size=768x576

[[ -s $video ]] || bash scripts/setup.sh >/dev/null
make -s build plugin >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshpipe-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/vtest.rgb
ffmpeg -nostdin -v error -i "$video" -frames:v "$frames" -f rawvideo -pix_fmt rgb24 "$raw"
n=$(($(stat -c %s "$raw") / (768 * 576 * 3)))

# timed NAME CMD...: runs CMD and prints NAME, frames, seconds and frames per second.
timed() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$@"
	t1=$EPOCHREALTIME
	awk -v name="$name" -v n="$n" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%-44s %4d frames %7.2f s %7.1f fps\n", name, n, b - a, n / (b - a) }'
}

plugin() {
	FREI0R_PATH=$root/bin/frei0r ffmpeg -nostdin -v error -f rawvideo -pix_fmt rgb24 -s $size -r 10 -i "$raw" \
		-vf "frei0r=filter_name=meshpipe:filter_params=$params" -f rawvideo -pix_fmt rgb24 -y /dev/null
}
pipe() { bin/meshpipe -s $size "${flags[@]}" <"$raw" >/dev/null 2>"$tmp/pipe.log" || { cat "$tmp/pipe.log" >&2; return 1; }; }
bare() {
	ffmpeg -nostdin -v error -f rawvideo -pix_fmt rgb24 -s $size -r 10 -i "$raw" \
		-vf format=rgba -f rawvideo -pix_fmt rgb24 -y /dev/null
}

echo "bench: $n frames of $video ($size), $(nproc) cores; plugin filter_params='$params', pipe flags '${flags[*]}'"
timed "plugin: ffmpeg -vf frei0r=meshpipe" plugin
timed "pipe:   bin/meshpipe -s $size" pipe
timed "ffmpeg alone (rgb24 -> rgba -> rgb24)" bare
