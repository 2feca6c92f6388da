# The README's commands. Every target does its own set-up: it installs the system packages a
# fresh Debian/Ubuntu machine lacks (with sudo when not root), then builds what it needs.
#
#   make demo    deploylog demo: real deployments on a throwaway PostgreSQL, the log shown and verified
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

# `deploylog demo` starts its own throwaway PostgreSQL server (as the postgres user when run as
# root) and removes it afterwards; its log is kept in $(DEMO_DIR)/store to look at afterwards.
demo: setup
	$(BUILD) --product deploylog
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(DEPLOYLOG) demo
	@echo "==> an auditor's check of the same log without deploylog's code (events/verify-chain.py)"
	$(DEPLOYLOG) checkpoint > $(DEMO_DIR)/checkpoint.json
	$(DEPLOYLOG) log --format ndjson | python3 events/verify-chain.py --checkpoint $(DEMO_DIR)/checkpoint.json
	@echo "==> done: the log is $(DEMO_DIR)/store (try: $(DEPLOYLOG) log --category pipeline, $(DEPLOYLOG) state --at position:40)"

# XCTest and Swift Testing (the engine's tests) both run.
test: setup
	$(BUILD)
	$(SWIFT) test --scratch-path $(SCRATCH)

bench: setup
	$(BUILD) -c release --product deploylog
	$(BUILD) -c release --product deploylog-bench
	$(RELEASE_BIN)/deploylog-bench $(BENCH_ARGS)
