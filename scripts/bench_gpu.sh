#!/usr/bin/env bash
# The bench's tables (scripts/bench) on a machine with an NVIDIA GPU, in one step:
#
#   scripts/bench_gpu.sh            (make bench-gpu runs it)
#
# 1. checks the GPU (nvidia-smi);
# 2. builds bin/meshpipe and bin/meshpipe-bench (or uses them as they are when Go or gcc is
#    missing here);
# 3. puts ONNX Runtime's CUDA execution provider beside the ONNX Runtime library: the
#    libonnxruntime_providers_{shared,cuda}.so of the npm package
#    com.github.asus4.onnxruntime.linux-x64-gpu 0.4.9 (ONNX Runtime 1.29.0, the release
#    scripts/setup.sh installs; npm pack only downloads, no install script runs), into
#    .deps/onnxruntime-gpu-1.29.0/ with a copy of setup.sh's libonnxruntime.so.1;
# 4. finds CUDA 13 and cuDNN 9 (which that provider needs) in the system's library path or in
#    Python's nvidia-* packages (nvidia.cublas, nvidia.cudnn, ...: their lib folders go on
#    LD_LIBRARY_PATH), and checks that every library the provider needs resolves;
# 5. checks that meshpipe starts CUDA (-device cuda) and whether EGL draws on the GPU (NVIDIA's
#    EGL driver through glvnd) or on the CPU (Mesa llvmpipe);
# 6. exports a full-size random-weight HMR2 of the real architecture (ViT-H backbone + SMPL
#    head, 671 M parameters, about 2.7 GB with its weights in hmr2_vith_random.onnx.data;
#    scripts/export_hmr2_onnx.py, needs python3 with torch and onnx; a couple of minutes);
# 7. runs bin/meshpipe-bench -device cuda with that model: out/gpu/bench.md, .png, .json.
#
# It goes as far as it can and ends with a plain list of what it could not run and why
# (no GPU, a missing CUDA library, no EGL device, no torch...). Exit status: 0 when the whole
# table ran on the GPU, 1 when the bench could not run at all, 3 when it ran with something
# missing (e.g. EGL on the CPU).
#
# Environment:
#   ORT_GPU_TGZ     the npm tarball com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz, already
#                   downloaded (for a machine without network access)
#   HMR2_MODEL      an HMR2 .onnx to use instead of exporting the random full-size one (e.g. a
#                   real export, or one made elsewhere; its .data file beside it)
#   BENCH_FLAGS     more flags for bin/meshpipe-bench (e.g. -sections sizes,scaling)
#   BENCH_GPU_OUT   where the results go (default out/gpu)
#   PYTHON          the Python with torch and onnx for the export (default: /usr/bin/python3,
#                   then python3)
set -uo pipefail
export PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

ort_version=1.29.0
gpu_pkg=com.github.asus4.onnxruntime.linux-x64-gpu
gpu_pkg_version=0.4.9
gpu_tgz_sha256=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
deps=${MESHPIPE_DEPS:-$root/.deps}
cpu_lib=$deps/onnxruntime-$ort_version/libonnxruntime.so.1
gpu_dir=$deps/onnxruntime-gpu-$ort_version
gpu_lib=$gpu_dir/libonnxruntime.so.1
out=${BENCH_GPU_OUT:-$root/out/gpu}
work=$out/work

missing=()  # what could not run, and why
say() { printf 'bench_gpu: %s\n' "$*" >&2; }
cannot() {
	missing+=("$*")
	say "CANNOT: $*"
}

# finish STATUS: prints what could not run and exits.
finish() {
	local status=$1 m
	echo
	if [[ ${#missing[@]} -eq 0 ]]; then
		echo "bench_gpu: everything ran: results in $out/bench.md"
	else
		echo "bench_gpu: could not run:"
		for m in "${missing[@]}"; do echo "  - $m"; done
	fi
	exit "$status"
}

# 1. The GPU.
if ! command -v nvidia-smi >/dev/null; then
	cannot "no NVIDIA GPU: nvidia-smi is not installed (no NVIDIA driver on this machine)"
	finish 1
fi
if ! gpus=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1) || [[ -z $gpus ]]; then
	cannot "no NVIDIA GPU: nvidia-smi found none (${gpus:-no output})"
	finish 1
fi
say "GPU: $gpus"

# 2. The binaries.
mkdir -p "$out" "$work"
if command -v go >/dev/null && command -v gcc >/dev/null; then
	say "building bin/meshpipe and bin/meshpipe-bench"
	if ! { go build -o bin/meshpipe ./cmd/meshpipe && go build -o bin/meshpipe-bench ./scripts/bench; } 2>"$work/build.log"; then
		tail -n 20 "$work/build.log" >&2
		cannot "building meshpipe failed (see above; scripts/setup.sh apt installs the Debian packages it needs)"
	fi
else
	say "Go or gcc not found: using bin/meshpipe and bin/meshpipe-bench as they are"
fi
for b in bin/meshpipe bin/meshpipe-bench; do
	if [[ ! -x $b ]]; then
		cannot "$b is missing and cannot be built here (Go at /usr/local/go and gcc are needed, or build it elsewhere and copy bin/)"
		finish 1
	fi
done

# 3. ONNX Runtime with the CUDA execution provider.
if [[ ! -f $cpu_lib ]]; then
	say "ONNX Runtime $ort_version missing: scripts/setup.sh ort"
	bash scripts/setup.sh ort >/dev/null || true
fi
ort_ok=1
if [[ ! -f $gpu_dir/libonnxruntime_providers_cuda.so || ! -f $gpu_dir/libonnxruntime_providers_shared.so ]]; then
	tgz=${ORT_GPU_TGZ:-}
	if [[ -z $tgz ]]; then
		tgz=$work/$gpu_pkg-$gpu_pkg_version.tgz
		if [[ ! -f $tgz ]]; then
			say "npm pack $gpu_pkg@$gpu_pkg_version (about 180 MB)"
			if ! command -v npm >/dev/null; then
				cannot "ONNX Runtime's CUDA provider: npm is not installed to fetch $gpu_pkg@$gpu_pkg_version (or set ORT_GPU_TGZ to the tarball)"
				ort_ok=0
			elif ! (cd "$work" && npm_config_update_notifier=false npm_config_fund=false \
				npm pack "$gpu_pkg@$gpu_pkg_version" --ignore-scripts --loglevel=error >/dev/null 2>"$work/npm.log"); then
				cannot "ONNX Runtime's CUDA provider: npm pack $gpu_pkg@$gpu_pkg_version failed ($(tail -n 1 "$work/npm.log")); with no network, copy the tarball here and set ORT_GPU_TGZ"
				ort_ok=0
			fi
		fi
	fi
	if [[ $ort_ok -eq 1 ]]; then
		if [[ $(sha256sum "$tgz" 2>/dev/null | cut -d' ' -f1) != "$gpu_tgz_sha256" ]]; then
			cannot "ONNX Runtime's CUDA provider: $tgz is missing or its sha256 is not $gpu_tgz_sha256"
			ort_ok=0
		else
			mkdir -p "$gpu_dir"
			if tar --no-same-owner -xzf "$tgz" -C "$work" package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so \
				package/Plugins/Linux/x64/libonnxruntime_providers_shared.so; then
				mv -f "$work"/package/Plugins/Linux/x64/libonnxruntime_providers_*.so "$gpu_dir"/
				rm -rf "$work/package"
			else
				cannot "unpacking $tgz failed"
				ort_ok=0
			fi
		fi
	fi
fi
if [[ $ort_ok -eq 1 ]]; then
	if [[ -f $cpu_lib ]]; then
		cp -f "$cpu_lib" "$gpu_lib"
	else
		cannot "ONNX Runtime $ort_version ($cpu_lib) is missing and scripts/setup.sh ort could not fetch it"
		ort_ok=0
	fi
fi

# 4. CUDA 13 and cuDNN 9: the system's, or Python's nvidia-* packages'.
py=${PYTHON:-}
if [[ -z $py ]]; then
	# The first Python that has torch and onnx (a GPU machine's may be a virtual environment's
	# python3 rather than /usr/bin/python3), else the first there is.
	for p in /usr/bin/python3 python3; do
		if command -v "$p" >/dev/null && "$p" -c 'import torch, onnx' 2>/dev/null; then py=$p; break; fi
	done
	if [[ -z $py ]]; then
		for p in /usr/bin/python3 python3; do
			if command -v "$p" >/dev/null; then py=$p; break; fi
		done
	fi
fi
nv_dirs=()
for p in /usr/bin/python3 python3 ${PYTHON:+"$PYTHON"}; do
	command -v "$p" >/dev/null || continue
	while IFS= read -r d; do
		[[ -n $d ]] && nv_dirs+=("$d")
	done < <("$p" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null |
		while IFS= read -r top; do find "$top" -name 'lib*.so*' -printf '%h\n' 2>/dev/null; done | sort -u)
done
if [[ ${#nv_dirs[@]} -gt 0 ]]; then
	mapfile -t nv_dirs < <(printf '%s\n' "${nv_dirs[@]}" | sort -u)
	say "CUDA libraries from Python's nvidia packages: ${nv_dirs[*]}"
	LD_LIBRARY_PATH=$(IFS=:; echo "${nv_dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
else
	say "no Python nvidia-* packages found: CUDA and cuDNN must be in the system's library path"
fi
# lib_path NAME: prints where the dynamic loader finds NAME (LD_LIBRARY_PATH, then its cache);
# fails when it does not.
lib_path() {
	local d dirs
	IFS=: read -r -a dirs <<<"${LD_LIBRARY_PATH:-}"
	for d in "${dirs[@]}"; do
		if [[ -n $d && -e $d/$1 ]]; then
			echo "$d/$1"
			return 0
		fi
	done
	ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; found = 1; exit } END { exit !found }'
}
if [[ $ort_ok -eq 1 ]]; then
	unresolved=$(ldd "$gpu_dir/libonnxruntime_providers_cuda.so" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
	# cuDNN is loaded at run time by the name libcudnn.so, which Python's nvidia-cudnn packages
	# do not ship (only libcudnn.so.9): a link to it goes in a folder of its own on the path.
	if cudnn=$(lib_path libcudnn.so.9); then
		if ! lib_path libcudnn.so >/dev/null; then
			mkdir -p "$work/cudnn" && ln -sf "$cudnn" "$work/cudnn/libcudnn.so"
			export LD_LIBRARY_PATH=$work/cudnn${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		fi
	else
		unresolved+="libcudnn.so.9 "
	fi
	if [[ -n ${unresolved// /} ]]; then
		driver=""
		[[ $unresolved == *libcuda.so.1* ]] && driver="; libcuda.so.1 is the NVIDIA driver's own library"
		cannot "CUDA execution provider: missing libraries: ${unresolved% } (it needs CUDA 13 and cuDNN 9: install them, or Python's nvidia-cublas, nvidia-cuda-runtime, nvidia-curand, nvidia-cuda-nvrtc and nvidia-cudnn-cu13 packages$driver)"
	fi
fi

# 5. Does meshpipe start CUDA, and where does EGL draw?
device=cuda
ort_flags=()
if [[ $ort_ok -eq 1 ]]; then
	ort_flags=(-ort-lib "$gpu_lib")
	head -c $((64 * 48 * 3 * 2)) /dev/zero >"$work/probe.rgb"
	if ! probe=$(bin/meshpipe -s 64x48 -device cuda "${ort_flags[@]}" -detector full -no-render -loglevel error \
		<"$work/probe.rgb" 2>&1 >/dev/null); then
		cannot "CUDA execution provider does not start: $(printf '%s' "$probe" | tail -n 3 | tr '\n' ' ')"
		device=cpu
	fi
else
	device=cpu
fi
gl=$(bin/meshpipe -version "${ort_flags[@]}" 2>&1 | sed -n 's/^OpenGL: //p')
say "OpenGL: $gl"
case $gl in
"not usable"*) cannot "OpenGL: no usable EGL at all ($gl); the render cells fail" ;;
*llvmpipe* | *softpipe* | *"(software)"*)
	nv_json=$(find /usr/share/glvnd/egl_vendor.d -name '*nvidia*.json' 2>/dev/null | head -n 1)
	cannot "EGL on the GPU: EGL gave Mesa's software renderer ($gl), so meshes were drawn on the CPU; NVIDIA's EGL driver (libEGL_nvidia.so.0 with ${nv_json:-/usr/share/glvnd/egl_vendor.d/10_nvidia.json, which is missing}) is needed for an EGL device on the GPU"
	;;
esac

# Without CUDA there is nothing to measure on the GPU (and no reason to export 2.7 GB).
if [[ $device != cuda ]]; then
	cannot "the table with -device cuda: CUDA is not usable here (above); nothing was measured on the GPU"
	finish 1
fi

# 6. A full-size random-weight HMR2.
model=${HMR2_MODEL:-$work/hmr2_vith_random.onnx}
model_label="HMR2 ViT-H (full size, random weights)"
[[ -n ${HMR2_MODEL:-} ]] && model_label=$(basename "$HMR2_MODEL" .onnx)
if [[ ! -f $model ]]; then
	if [[ -z $py ]] || ! "$py" -c 'import torch, onnx' 2>"$work/py.log"; then
		cannot "full-size HMR2: ${py:-python3} has no torch or onnx ($(tail -n 1 "$work/py.log" 2>/dev/null)); install Debian's python3-torch python3-onnx, or set HMR2_MODEL"
		model=none
	else
		say "exporting a full-size random-weight HMR2 (671 M parameters, about 2.7 GB; a few minutes)"
		if ! "$py" scripts/export_hmr2_onnx.py "$model" --random --seed 1 >"$work/export.log" 2>&1; then
			cannot "full-size HMR2 export failed: $(tail -n 2 "$work/export.log" | tr '\n' ' ')"
			rm -f "$model" "$model.data"
			model=none
		fi
	fi
fi

# 7. The table.
read -r -a extra <<<"${BENCH_FLAGS:-}"
say "running the bench with -device cuda (results in $out)"
# More frames per cell than on the 2-core CPU machine: a GPU runs them in a fraction of the time.
bin/meshpipe-bench -device cuda "${ort_flags[@]}" -model "$model" -model-label "$model_label" -out "$out" \
	-title "meshpipe bench, NVIDIA GPU" -frames 300 -hmr-frames 96 -pipe-frames 600 -mem-frames 300 -grow-frames 200 \
	"${extra[@]}"
status=$?
if [[ $status -ne 0 ]]; then
	cannot "bin/meshpipe-bench exited with $status (its last lines above say which cell failed)"
	finish 1
fi
if [[ ${#missing[@]} -gt 0 ]]; then finish 3; fi
finish 0
