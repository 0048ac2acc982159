#!/usr/bin/env bash
# Renderer throughput: frames per second of gl.Renderer drawing four posed people over a frame,
# at 640x360, 1280x720 and 1920x1080, with 1, 2 and 4 render workers side by side, with
# multisampling (the default, 4 samples a pixel) and without (1 sample). Runs the Go benchmark
# BenchmarkRenderWorkers (gl/bench_test.go) and prints its figures as tables.
#
#   scripts/bench_render.sh            (about a minute)
#   scripts/bench_render.sh OUT...     only the tables, from go test outputs kept with BENCH_OUT
#                                      (several: the best run of all of them)
#
# BENCH_COUNT=N      runs of each case (default 3); a table cell shows the run with the best fps
#                    (other load on the machine only ever slows a run) and its CPU time per
#                    frame, all threads together (the driver's and Go's). "cores busy" is
#                    fps x CPU time per frame: how many cores the renderers kept busy. With a CPU
#                    renderer, when one worker already keeps n of the machine's c cores busy,
#                    more workers can give at most c/n times its frames per second.
# BENCH_TIME=D       go test -benchtime per run (default 1s)
# BENCH_OUT=FILE     also keep go test's own output there
# LP_NUM_THREADS=N   passed on to Mesa's llvmpipe (its rasteriser threads per context; unset:
#                    one per core).
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${BENCH_COUNT:-3}
benchtime=${BENCH_TIME:-1s}

if [[ $# -gt 0 ]]; then
	outs=("$@")
else
	if [[ -n ${BENCH_OUT:-} ]]; then
		out=$BENCH_OUT
	else
		out=$(mktemp "${TMPDIR:-/tmp}/bench_render.XXXXXX")
		trap 'rm -f "$out"' EXIT
	fi
	echo "cores: $(nproc), load average before: $(cut -d' ' -f1-3 /proc/loadavg), LP_NUM_THREADS=${LP_NUM_THREADS-unset}"
	(cd "$root" && go test ./gl -v -run '^$' -bench '^BenchmarkRenderWorkers$' -benchtime "$benchtime" -count "$count") >"$out" 2>&1 || {
		cat "$out" >&2
		exit 1
	}
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	outs=("$out")
fi
grep -h -m1 -o 'renderer: .*' "${outs[@]}" | head -1 | sed 's/, [0-9]* samples a pixel$//' || true

awk '
/^BenchmarkRenderWorkers\/.* fps/ {
	split($1, p, "/")                  # BenchmarkRenderWorkers samples=S WxH workers=N-P
	s = p[2]; sub("samples=", "", s)
	size = p[3]
	w = p[4]; sub("workers=", "", w); sub("-.*", "", w)
	fps = cpu = ""
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "fps") fps = $i
		if ($(i+1) == "cpu-ms/frame") cpu = $i
	}
	k = s SUBSEP size SUBSEP w
	if (!(k in best) || fps + 0 > best[k] + 0) { best[k] = fps; cpuOf[k] = cpu }
	if (!(s in seenS)) { seenS[s] = 1; order[++ns] = s }
	if (!(size in seenZ)) { seenZ[size] = 1; sizes[++nz] = size }
}
END {
	for (a = 1; a <= ns; a++) {
		s = order[a]
		printf "\n%s sample%s a pixel%s: frames per second (CPU ms per frame, all threads)\n", s, (s == 1 ? "" : "s"), (s == 1 ? " (no anti-aliasing)" : "")
		printf "%-10s %18s %18s %18s %9s %17s\n", "size", "1 worker", "2 workers", "4 workers", "4w / 1w", "cores busy 1w, 4w"
		for (b = 1; b <= nz; b++) {
			z = sizes[b]
			printf "%-10s", z
			for (w = 1; w <= 4; w *= 2) {
				k = s SUBSEP z SUBSEP w
				printf " %8.1f (%5.1f ms)", best[k], cpuOf[k]
			}
			k1 = s SUBSEP z SUBSEP 1; k4 = s SUBSEP z SUBSEP 4
			printf " %8.2fx %11.2f, %.2f\n", best[k4] / best[k1], best[k1] * cpuOf[k1] / 1000, best[k4] * cpuOf[k4] / 1000
		}
	}
}' "${outs[@]}"
