# p2pemu: the two commands of the README are `make demo` and `make test`; both
# install what is missing first (Debian packages with apt-get, npm packages
# with npm ci), then build.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the tool and its tests need, by the command (or, for a path, the
# file) that proves them present; libc.a: the tests link a static C program.
DEB_PACKAGES := lspci:pciutils fusermount3:fuse3 mount:mount hexdump:bsdextrautils gcc:gcc python3:python3 setpriv:util-linux unshare:util-linux lsblk:util-linux fallocate:util-linux fio:fio lstopo:hwloc nvme:nvme-cli udevadm:udev strace:strace diff:diffutils gzip:gzip /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
SRC := $(shell find src -name '*.ts')

.PHONY: help setup system-deps demo test test-unit test-e2e bench build clean

help:
	@echo "make demo   install what is missing, build, mount the default topology, run a short demo, unmount"
	@echo "make test   install what is missing, build, run every test (real mounts included; needs root)"
	@echo "make bench  benchmarks: each figure against a baseline from the same run (medians of 3 interleaved runs),"
	@echo "            its target and whether it was met; writes bench-results.json. BENCH_ONLY=nvme,p2p,transport,... runs"
	@echo "            sections, BENCH_RUNS=N, BENCH_READERS=N, BENCH_CLI=other/bin/p2pemu.js (native-notes/performance.md)"

system-deps:
	@missing=""; \
	for pair in $(DEB_PACKAGES); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  if [[ $$cmd == /* ]]; then test -e $$cmd || missing="$$missing $$pkg"; \
	  else command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: system-deps node_modules/.package-lock.json

dist/.built: $(SRC) tsconfig.json node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

build: setup dist/.built

demo: build
	bash scripts/demo.sh

test: build
	npx vitest run

test-unit: build
	npx vitest run test/caller-memory test/cli test/config test/daemon test/fuse test/memory test/model test/seccomp test/vfs

test-e2e: build
	npx vitest run test/e2e

bench: build
	node scripts/bench.mjs

clean:
	rm -rf dist bench-results.json test/e2e/bin
