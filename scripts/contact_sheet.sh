#!/usr/bin/env bash
# Writes a PNG contact sheet of a video: COLSxROWS frames spread evenly from the first frame to
# the last, each scaled to WIDTH pixels wide, tiled left to right, top to bottom.
#
#   scripts/contact_sheet.sh IN OUT.png [COLSxROWS (3x2)] [WIDTH (320)]
#
# Prints the frame numbers it took (0-based) on stderr.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 4 ]]; then
	echo "usage: $0 IN OUT.png [COLSxROWS] [WIDTH]" >&2
	exit 2
fi
in=$1 out=$2 grid=${3:-3x2} width=${4:-320}
[[ $grid =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || { echo "$0: grid '$grid' is not COLSxROWS" >&2; exit 2; }
tiles=$((BASH_REMATCH[1] * BASH_REMATCH[2]))

# Counting packets reads the container only, not the pictures: fast even for long videos.
frames=$(ffprobe -v error -select_streams v:0 -count_packets \
	-show_entries stream=nb_read_packets -of csv=p=0 "$in")
[[ $frames =~ ^[0-9]+$ && $frames -gt 0 ]] || { echo "$0: $in has no video frames" >&2; exit 1; }

# Frame i of the sheet is round(i*(frames-1)/(tiles-1)); a short video gives each frame once.
picks=()
for ((i = 0; i < tiles; i++)); do
	if ((tiles == 1)); then n=0; else n=$(((2 * i * (frames - 1) + tiles - 1) / (2 * (tiles - 1)))); fi
	[[ ${#picks[@]} -gt 0 && ${picks[-1]} -eq $n ]] || picks+=("$n")
done
expr=""
for n in "${picks[@]}"; do expr+="${expr:++}eq(n\\,$n)"; done

mkdir -p "$(dirname "$out")"
ffmpeg -v error -y -i "$in" \
	-vf "select='$expr',scale=$width:-2,tile=$grid:padding=4:margin=4:color=white" \
	-fps_mode passthrough -frames:v 1 -update 1 "$out"
echo "contact sheet: frames ${picks[*]} of $frames" >&2
