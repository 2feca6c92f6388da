# The README's commands. Every target does its own set-up: it installs the system packages a
# fresh Debian/Ubuntu machine lacks (with sudo when not root), then builds what it needs.
#
#   make demo    a sample deployment history appended to a fresh store, shown, verified, projected
#   make test    the whole test suite (swift test)
#   make bench   the benchmark, release build (BENCH_ARGS="--quick" for a smoke run)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The toolchain: `swift` on PATH, else the one in /opt/swift.
ifneq ($(wildcard /opt/swift/usr/bin/swift),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif
SWIFT ?= swift
# Where SwiftPM builds (its --scratch-path).
SCRATCH ?= .build

DEMO_DIR ?= $(SCRATCH)/demo
# 16 pipelines (about 420 events): includes a production deploy whose integration tests fail
# after the traffic switch, its automatic rollback, and the fixed release that follows.
DEMO_PIPELINES ?= 16
BENCH_ARGS ?=

DEBUG_BIN := $(SCRATCH)/debug
RELEASE_BIN := $(SCRATCH)/release
BUILD := $(SWIFT) build --scratch-path $(SCRATCH)
DEPLOYLOG := $(DEBUG_BIN)/deploylog --store $(DEMO_DIR)/store

.PHONY: setup build demo test bench

setup:
	@missing=(); \
	command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config); \
	pkg-config --exists liblz4 2>/dev/null || missing+=(liblz4-dev); \
	command -v python3 >/dev/null 2>&1 || missing+=(python3); \
	pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev); \
	command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15); \
	bindir=$$(pg_config --bindir 2>/dev/null || true); \
	[ -n "$$bindir" ] && [ -x "$$bindir/initdb" ] && [ -x "$$bindir/pg_ctl" ] || missing+=(postgresql-15); \
	if (( $${#missing[@]} )); then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "==> installing $${missing[*]}"; \
	  $$sudo apt-get update -qq; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$${missing[@]}" >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "swift not found: install a Swift 6.1 or later toolchain (https://swift.org/install) and put it on PATH" >&2; exit 1; }

build: setup
	$(BUILD) --product deploylog
	$(BUILD) --product deploylog-bench

demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "==> a sample history of the camera-counting system: $(DEMO_PIPELINES) pipelines"
	$(DEBUG_BIN)/deploylog-bench --emit-sample $(DEMO_PIPELINES) > $(DEMO_DIR)/history.ndjson
	@wc -l < $(DEMO_DIR)/history.ndjson | xargs printf '    %s events in $(DEMO_DIR)/history.ndjson\n'
	$(DEPLOYLOG) init
	$(DEPLOYLOG) append < $(DEMO_DIR)/history.ndjson
	@echo "==> the first events: environments, the blue-green pair, migrations, the first pipeline"
	$(DEPLOYLOG) log --limit 24
	@echo "==> traffic switches, failures and the rollback"
	$(DEPLOYLOG) log --type TrafficSwitched --type StageFailed --type PipelineFailed --type RollbackStarted \
	  --type RollbackStepExecuted --type RollbackCompleted --type PipelineRolledBack
	@echo "==> appending the same file again changes nothing"
	$(DEPLOYLOG) append < $(DEMO_DIR)/history.ndjson
	@echo "==> verify: framing, checksums, decompression, the hash chain"
	$(DEPLOYLOG) verify
	$(DEPLOYLOG) checkpoint > $(DEMO_DIR)/checkpoint.json
	@echo "==> an auditor's check without deploylog's code (events/verify-chain.py)"
	$(DEPLOYLOG) log --format ndjson | python3 events/verify-chain.py --checkpoint $(DEMO_DIR)/checkpoint.json
	@echo "==> the projections: every environment and blue-green pair now, and metrics with DORA keys"
	$(DEPLOYLOG) state
	$(DEPLOYLOG) metrics --as-of 2026-11-30T00:00:00Z --window-days 30
	@echo "==> point in time: just before and at the first traffic switch"
	@switch=$$($(DEPLOYLOG) log --type TrafficSwitched --limit 1 --format ndjson | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["position"])'); \
	  $(DEPLOYLOG) diff position:$$((switch - 1)) position:$$switch
	@echo "==> done: the store is $(DEMO_DIR)/store (try: $(DEPLOYLOG) log --category rollback, $(DEPLOYLOG) health)"

# The tests are XCTest only: --disable-swift-testing keeps Swift Testing's empty run (and its
# "0 tests" closing line) out of the output.
test: setup
	$(BUILD)
	$(SWIFT) test --scratch-path $(SCRATCH) --disable-swift-testing

bench: setup
	$(BUILD) -c release --product deploylog
	$(BUILD) -c release --product deploylog-bench
	$(RELEASE_BIN)/deploylog-bench $(BENCH_ARGS)
