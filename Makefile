SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := /usr/local/go/bin:$(PATH)

GO ?= go

# make demo: the sample video through meshpipe, then a contact sheet of the result, and each
# track's motion (BVH and glb files, -motion) in out/vtest_motion/.
#   DEMO_FRAMES=N     only the first N frames (default: the whole video, 795 frames)
#   MESHPIPE_FLAGS=   extra flags for meshpipe
#   MESHPIPE_CMD=cmd  the whole filter command instead of bin/meshpipe (try MESHPIPE_CMD=cat)
DEMO_FRAMES ?=
MESHPIPE_FLAGS ?=
DEMO_IN := .deps/samples/vtest.avi
DEMO_SIZE := 768x576
DEMO_RATE := 10
DEMO_MOTION := out/vtest_motion
MESHPIPE_CMD ?= $(strip bin/meshpipe -s $(DEMO_SIZE) -r $(DEMO_RATE) -motion $(DEMO_MOTION) $(MESHPIPE_FLAGS))
DEMO_OUT := out/vtest_mesh.mp4
DEMO_SHEET := out/vtest_mesh_sheet.png

.PHONY: all setup build plugin cluster-demo bench-cluster bench bench-gpu bench-plugin bench-render test test-race fuzz-short demo demo-cyclist demo-moving clean distclean

all: build plugin

# The script is idempotent and takes about a second when everything is in place.
setup:
	@bash scripts/setup.sh >/dev/null

build:
	$(GO) build -o bin/meshpipe ./cmd/meshpipe
	$(GO) build -o bin/meshfarm ./cmd/meshfarm

# A Temporal dev server and two meshfarm workers on this machine, the sample videos submitted,
# the status table and the outputs (scripts/cluster_demo.sh; its variables: CLUSTER_FLAGS,
# CLUSTER_SEGMENT, CLUSTER_OUT, CLUSTER_DB). About a minute and a half on 2 cores.
cluster-demo: setup build
	@bash scripts/cluster_demo.sh

# The farm against single-machine runs on the same files: wall time with one worker and with
# two, and total CPU time (scripts/benchcluster; bin/meshfarm-bench -h for its flags). Writes
# out/bench-cluster.md. A few minutes on 2 cores; never a test.
#   BENCH_CLUSTER_FLAGS=   e.g. '-files 2 -frames 200'
BENCH_CLUSTER_FLAGS ?=
bench-cluster: setup build
	$(GO) build -o bin/meshfarm-bench ./scripts/benchcluster
	bin/meshfarm-bench $(BENCH_CLUSTER_FLAGS)

# The frei0r filter plugin. ffmpeg finds it with FREI0R_PATH=$(CURDIR)/bin/frei0r, by its file
# name: -vf frei0r=filter_name=meshpipe. meshpipe.h (cgo's export header) is not needed.
plugin:
	$(GO) build -buildmode=c-shared -o bin/frei0r/meshpipe.so ./plugin/frei0r
	@rm -f bin/frei0r/meshpipe.h
	@echo "plugin: bin/frei0r/meshpipe.so (use FREI0R_PATH=$(CURDIR)/bin/frei0r)"

# Where the time goes (scripts/bench): pipe cost against cat, the whole pipeline at 640x360,
# 1280x720 and 1920x1080, worker and batch scaling, pose tracking against a region per box
# (vtest.avi, BlazePose full), and memory, side by side in one run; prints
# the tables and writes out/bench.md, out/bench.png and out/bench.json. About 9 minutes on 2
# cores (more on a busy machine). Nothing in it fails on a timing; make test does not run it.
#   BENCH_FLAGS=   the bench's flags (bin/meshpipe-bench -h), e.g. BENCH_FLAGS='-frames 300'
BENCH_FLAGS ?=
bench: setup build
	$(GO) build -o bin/meshpipe-bench ./scripts/bench
	bin/meshpipe-bench $(BENCH_FLAGS)

# The same tables on a machine with an NVIDIA GPU: -device cuda, a full-size HMR2, EGL on the
# GPU (scripts/bench_gpu.sh; it says what it could not run).
bench-gpu:
	@bash scripts/bench_gpu.sh

# Frames per second of the plugin in ffmpeg and of the pipe, on the same frames of vtest.avi.
#   BENCH_FRAMES=N   frames to time (default 200)
bench-plugin: setup build plugin
	@bash scripts/bench_plugin.sh

# Every test (the long run of 50,000 frames included: it is skipped only with -short), the
# graph and the readers again under the race detector, the whole module built without cgo
# (ONNX Runtime and OpenGL then fail with a clear error, which models/ort's NoCgo test checks),
# then each fuzz target briefly.
test: setup
	$(GO) vet ./...
	$(GO) test ./... -count=1 -timeout 20m
	$(GO) test -race ./stages/... ./rawvideo/... ./mkvraw/... -count=1 -timeout 20m
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) test ./models/ort -count=1 -run NoCgo
	@$(MAKE) --no-print-directory fuzz-short

test-race: setup
	$(GO) test -race ./stages/... ./rawvideo/... ./mkvraw/... -count=1 -timeout 20m

# Each fuzz target for FUZZTIME, starting from its seeds and committed corpus
# (testdata/fuzz/<target>); go test fuzzes one target at a time. A failing input is written
# to that folder: commit it with the fix, as a regression seed.
#   FUZZTIME=1m make fuzz-short   fuzz longer
FUZZTIME ?= 8s
FUZZ_TARGETS := rawvideo:FuzzRawReader rawvideo:FuzzY4MReader mkvraw:FuzzSplitter models:FuzzYOLOXDecode models:FuzzNanoDetDecode cmd/meshpipe:FuzzParseArgs
fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz: $$name for $(FUZZTIME)"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

demo: setup $(if $(filter bin/meshpipe,$(firstword $(MESHPIPE_CMD))),build)
	@mkdir -p out
	@$(if $(findstring -motion $(DEMO_MOTION),$(MESHPIPE_CMD)),rm -rf $(DEMO_MOTION))
	@frames='$(DEMO_FRAMES)'; \
	limit=(); if [[ -n $$frames ]]; then limit=(-frames:v "$$frames"); fi; \
	echo "demo: $(DEMO_IN) | $(MESHPIPE_CMD) | $(DEMO_OUT)" >&2; \
	start=$$EPOCHREALTIME; \
	ffmpeg -v error -i $(DEMO_IN) "$${limit[@]}" -f rawvideo -pix_fmt rgb24 - \
	  | { t0=$$EPOCHREALTIME; $(MESHPIPE_CMD); echo "$$t0 $$EPOCHREALTIME" > out/.meshpipe_time; } \
	  | ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s $(DEMO_SIZE) -r $(DEMO_RATE) -i - \
	      -c:v libx264 -pix_fmt yuv420p $(DEMO_OUT); \
	end=$$EPOCHREALTIME; \
	read -r t0 t1 < out/.meshpipe_time; rm -f out/.meshpipe_time; \
	n=$$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
	      -of csv=p=0 $(DEMO_OUT)); \
	bash scripts/contact_sheet.sh $(DEMO_OUT) $(DEMO_SHEET) 3x2 320; \
	echo "video:  $(DEMO_OUT) ($$n frames)"; \
	echo "sheet:  $(DEMO_SHEET)"; \
	if [[ -f $(DEMO_MOTION)/tracks.json ]]; then \
	  echo "motion: $(DEMO_MOTION)/ ($$(ls $(DEMO_MOTION) | grep -c '\.glb$$') tracks: track_ID.bvh, track_ID.glb, $$(du -sh $(DEMO_MOTION) | cut -f1) in all;" \
	    "open them: blender --python scripts/blender_import.py -- $(DEMO_MOTION))"; \
	fi; \
	awk -v n="$$n" -v a="$$t0" -v b="$$t1" -v s="$$start" -v e="$$end" 'BEGIN { \
	  printf "timing: $(firstword $(MESHPIPE_CMD)): %d frames in %.2f s = %.1f fps (whole pipeline %.2f s)\n", \
	    n, b - a, (b > a ? n / (b - a) : 0), e - s }'

# Renderer frames per second at three sizes with 1, 2 and 4 render workers (about a minute).
bench-render: setup
	bash scripts/bench_render.sh

# make demo-cyclist: g1.avi (a cyclist passing two bystanders, 16 frames, 400x300) through
# meshpipe with YOLOX-Nano (../shared/models) and BlazePose heavy, which follows the blurred
# cyclist's arms and legs in more frames than full does; then a contact sheet of 8 frames.
CYCLIST_FLAGS ?= -pose-model heavy -detector ../shared/models/yolox_nano.onnx
demo-cyclist: setup build
	@mkdir -p out
	bin/meshpipe -i .deps/samples/g1.avi -o out/g1_mesh.mp4 -y -nostats $(CYCLIST_FLAGS)
	@bash scripts/contact_sheet.sh out/g1_mesh.mp4 out/g1_mesh_sheet.png 4x2 300
	@echo "video:  out/g1_mesh.mp4"; echo "sheet:  out/g1_mesh_sheet.png"

# make demo-moving: a moving camera made from vtest.avi with ffmpeg's zoompan into
# out/moving_in.mp4 (512x384, 10 fps: a view that pans steadily from the left edge to the right,
# tilts down from a quarter to three quarters of the free height and zooms in from 1.5x to 1.7x
# over MOVING_FRAMES frames), through meshpipe with its defaults (NanoDet-g, pose tracking),
# then a contact sheet of 8 frames and how many of the people detected or tracked were drawn
# (from -poses).
#   MOVING_FRAMES=N   the clip's length, 2 to 795 frames of vtest.avi (default 200: about a
#                     minute of meshpipe on 2 cores)
MOVING_FRAMES ?= 200
demo-moving: setup build
	@mkdir -p out
	@n='$(MOVING_FRAMES)'; \
	[[ $$n =~ ^[0-9]+$$ && $$n -ge 2 && $$n -le 795 ]] || { echo "demo-moving: MOVING_FRAMES=$$n: want 2 to 795 (vtest.avi's frames)" >&2; exit 2; }; \
	last=$$((n - 1)); \
	ffmpeg -v error -y -i .deps/samples/vtest.avi -frames:v $$n \
	  -vf "zoompan=z='1.5+0.2*on/$$last':x='(iw-iw/zoom)*on/$$last':y='(ih-ih/zoom)*(0.25+0.5*on/$$last)':d=1:s=512x384:fps=10" \
	  -c:v libx264 -pix_fmt yuv420p out/moving_in.mp4
	bin/meshpipe -i out/moving_in.mp4 -o out/moving_mesh.mp4 -y -nostats -poses out/moving_poses.jsonl
	@bash scripts/contact_sheet.sh out/moving_mesh.mp4 out/moving_mesh_sheet.png 4x2 300
	@all=$$(grep -o '"bbox"' out/moving_poses.jsonl | wc -l); \
	held=$$(grep -o '"pose_status":"held"' out/moving_poses.jsonl | wc -l); \
	missing=$$(grep -o '"pose_status":"missing"' out/moving_poses.jsonl | wc -l); \
	echo "input:  out/moving_in.mp4"; echo "video:  out/moving_mesh.mp4"; echo "sheet:  out/moving_mesh_sheet.png"; \
	echo "poses:  out/moving_poses.jsonl: $$all people over the frames, $$((all - missing)) drawn ($$held of them held), $$missing not (no pose)"

clean:
	rm -rf bin out

# Also removes .deps (the ONNX Runtime library and the samples): the next setup fetches them again.
distclean: clean
	rm -rf .deps
