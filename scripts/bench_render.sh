#!/usr/bin/env bash
# Renderer throughput: frames per second of gl.Renderer drawing four posed people over a frame,
# at 640x360, 1280x720 and 1920x1080, with 1, 2 and 4 render workers side by side, with
# multisampling (the default, 4 samples a pixel) and without (1 sample). Runs the Go benchmark
# BenchmarkRenderWorkers (gl/bench_test.go) and prints its figures as tables.
#
#   scripts/bench_render.sh            (about a minute)
#
# BENCH_COUNT=N      runs of each case (default 3); a table cell shows the best fps of the N runs
#                    (other load on the machine only ever slows a run) and the median CPU time
#                    per frame, all threads together (the driver's and Go's).
# BENCH_TIME=D       go test -benchtime per run (default 1s)
# LP_NUM_THREADS=N   passed on to Mesa's llvmpipe (its rasteriser threads per context; unset:
#                    one per core).
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${BENCH_COUNT:-3}
benchtime=${BENCH_TIME:-1s}

out=$(mktemp "${TMPDIR:-/tmp}/bench_render.XXXXXX")
trap 'rm -f "$out"' EXIT

echo "cores: $(nproc), load average before: $(cut -d' ' -f1-3 /proc/loadavg), LP_NUM_THREADS=${LP_NUM_THREADS-unset}"
(cd "$root" && go test ./gl -run '^$' -bench '^BenchmarkRenderWorkers$' -benchtime "$benchtime" -count "$count") >"$out" 2>&1 || {
	cat "$out" >&2
	exit 1
}
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 -o 'renderer: .*' "$out" | sed 's/, [0-9]* samples a pixel$//' || true

awk '
/^BenchmarkRenderWorkers\// {
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
	if (!(k in best) || fps + 0 > best[k] + 0) best[k] = fps
	n[k]++; cpus[k, n[k]] = cpu
	if (!(s in seenS)) { seenS[s] = 1; order[++ns] = s }
	if (!(size in seenZ)) { seenZ[size] = 1; sizes[++nz] = size }
}
function median(k,    i, j, t, m, a) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = cpus[k, i] + 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (a = 1; a <= ns; a++) {
		s = order[a]
		printf "\n%s sample%s a pixel%s: frames per second (CPU ms per frame, all threads)\n", s, (s == 1 ? "" : "s"), (s == 1 ? " (no anti-aliasing)" : "")
		printf "%-10s %18s %18s %18s %9s\n", "size", "1 worker", "2 workers", "4 workers", "4w / 1w"
		for (b = 1; b <= nz; b++) {
			z = sizes[b]
			printf "%-10s", z
			for (w = 1; w <= 4; w *= 2) {
				k = s SUBSEP z SUBSEP w
				printf " %8.1f (%5.1f ms)", best[k], median(k)
			}
			printf " %8.2fx\n", best[s SUBSEP z SUBSEP 4] / best[s SUBSEP z SUBSEP 1]
		}
	}
}' "$out"
