#!/usr/bin/env bash
# make cluster-demo: a Temporal dev server and two meshfarm workers on this machine, the sample
# videos submitted, the status table while they run and at the end, the outputs with their
# frame counts, and a second submit that starts nothing. Everything it starts is stopped at the
# end (or on Ctrl-C). Run scripts/setup.sh and make build first (make cluster-demo does both).
#
#   CLUSTER_FLAGS=     meshpipe's flags for the files (default: -pose-model standin, quick on a CPU)
#   CLUSTER_SEGMENT=N  segment length in frames (default 300: vtest.avi's 795 frames make 3
#                      segments, shared by the two workers)
#   CLUSTER_OUT=DIR    where the outputs and logs go (default out/cluster)
#   CLUSTER_DB=FILE    keep the dev server's state in FILE (default: in memory, gone at the end)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
temporal=${MESHPIPE_DEPS:-$root/.deps}/temporal-cli-1.5.1/temporal
samples=(.deps/samples/vtest.avi .deps/samples/g1.avi .deps/samples/g2.avi)
flags=${CLUSTER_FLAGS:--pose-model standin}
segment=${CLUSTER_SEGMENT:-300}
out=${CLUSTER_OUT:-out/cluster}

say() { printf 'cluster-demo: %s\n' "$*" >&2; }
[[ -x $temporal ]] || { say "no Temporal CLI at $temporal: run scripts/setup.sh temporal"; exit 1; }
for f in bin/meshfarm bin/meshpipe "${samples[@]}"; do
	[[ -e $f ]] || { say "$f is missing: run make build and scripts/setup.sh"; exit 1; }
done

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A frontend port, its HTTP port (+1000) and a UI port, all free.
for _ in $(seq 50); do
	port=$((20000 + RANDOM % 20000))
	listening "$port" || listening $((port + 1000)) || listening $((port + 1)) || break
done
address=127.0.0.1:$port
ui=$((port + 1))

mkdir -p "$out"
pids=()
stop() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT

db=()
[[ -n ${CLUSTER_DB:-} ]] && db=(--db-filename "$CLUSTER_DB")
say "Temporal dev server on $address (web UI: http://127.0.0.1:$ui), log $out/server.log"
"$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --log-level warn "${db[@]}" \
	>"$out/server.log" 2>&1 &
pids+=($!)
export TEMPORAL_ADDRESS=$address
for i in $(seq 120); do
	bin/meshfarm status >/dev/null 2>&1 && break
	[[ $i -eq 120 ]] && { say "the dev server did not answer within 60 s:"; tail -5 "$out/server.log" >&2; exit 1; }
	sleep 0.5
done

for w in 1 2; do
	bin/meshfarm worker -identity "demo-worker-$w" >"$out/worker-$w.log" 2>&1 &
	pids+=($!)
	say "worker $w: pid $!, log $out/worker-$w.log"
done

say "submitting ${samples[*]} (meshpipe $flags; segments of $segment frames)"
# shellcheck disable=SC2086 # flags are words
bin/meshfarm submit -o "$out" -segment-frames "$segment" "${samples[@]}" -- $flags
echo
start=$SECONDS
while :; do
	running=$(bin/meshfarm status -query "ExecutionStatus = 'Running'")
	[[ $running == *$'\nrunning'* ]] || break
	printf '%s\n\n' "$(sed '$d' <<<"$running")"
	sleep 5
done
say "all files closed after $((SECONDS - start)) s"
echo
bin/meshfarm status
echo
say "submitting the same files again: nothing new starts"
# shellcheck disable=SC2086
bin/meshfarm submit -o "$out" -segment-frames "$segment" "${samples[@]}" -- $flags
echo
echo "outputs:"
for s in "${samples[@]}"; do
	name=$(basename "${s%.*}").mp4
	f=$out/$name
	if [[ -f $f ]]; then
		n=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f")
		in=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$s")
		printf '  %-28s %4d frames (input %4d), %s bytes\n' "$f" "$n" "$in" "$(stat -c %s "$f")"
	else
		printf '  %-28s missing\n' "$f"
	fi
done
echo "logs:    $out/server.log $out/worker-1.log $out/worker-2.log"
