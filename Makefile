# baton — the two set-up commands on a fresh Debian 12 machine are `make up` and
# `make test`; both install what they need first (`make setup`, idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := build

SHARED ?= ../shared
PHILLY := $(SHARED)/data/philly/philly.csv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every Debian package the build, tests and benchmarks need.
APT_PACKAGES := build-essential cmake ninja-build pkg-config git \
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev \
  libgtest-dev libgmock-dev googletest libbenchmark-dev clang-format libsqlite3-dev \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  libcpp-httplib-dev libssl-dev python3-torch ccache \
  libglpk-dev libhwloc-dev etcd-server etcd-client prometheus chromium chromium-driver \
  python3-selenium python3-grpcio python3-protobuf python3-pytest python3-yaml python3-venv sqlite3 \
  clang libclang-rt-14-dev

.PHONY: setup build release asan fuzz fuzz-long test up sim-demo bench bench-e2e chaos docs format clean

setup:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: all $(words $(APT_PACKAGES)) packages present"; fi

build:
	cmake --preset dev
	cmake --build --preset dev

release:
	cmake --preset release
	cmake --build --preset release

asan:
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan -j2

# Every test, then the short fuzz runs (issue 6: "short fuzz runs in CI").
test: setup build
	ctest --preset dev -j2
	$(MAKE) --no-print-directory fuzz

# libFuzzer targets (docs/fuzzing.md): clang with ASan + UBSan in build-fuzz/; ctest replays
# each committed corpus and fuzzes each target for FUZZ_SECONDS (seeded).
FUZZ_SECONDS ?= 10
fuzz: setup
	cmake --preset fuzz -DBATON_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build --preset fuzz
	ctest --preset fuzz -j2

# The long runs of bench/results/fuzz.md: FUZZ_RUNS inputs per target (all targets, or
# FUZZ_TARGETS="job_spec agent"), one after another, logs in build-fuzz/fuzz-long/.
FUZZ_RUNS ?= 1000000
FUZZ_TARGETS ?=
fuzz-long: setup
	cmake --preset fuzz
	cmake --build --preset fuzz
	fuzz/run_long.sh $(FUZZ_RUNS) $(FUZZ_TARGETS)

# The embedded default: a control plane (SQLite under ~/.local/state/baton) and a local
# agent (NVML GPUs, else 8 fake H100s) in one process, until Ctrl-C. Override with
# `make up UP_FLAGS="--fake-gpus 4xA100 --data-dir /tmp/baton"`.
up: setup build
	./build/bin/baton up $(UP_FLAGS)

# The simulator demo that `make up` ran before the control plane existed: the whole Philly
# trace under every order policy when ../shared is present, else the small example trace.
sim-demo: setup build
	@if [ -f "$(PHILLY)" ]; then \
	  ./build/bin/baton sim --cluster examples/clusters/philly.yaml --trace $(PHILLY) \
	    --policy fifo,sjf,srtf,las; \
	else \
	  echo "($(PHILLY) not found: running the small example trace)"; \
	  ./build/bin/baton sim --cluster examples/clusters/small.yaml \
	    --trace examples/traces/small.jsonl --policy fifo,sjf,srtf,las; \
	fi

# End-to-end: 1,000 simulated agents x 8 GPUs, 100,000 short jobs over gRPC with durable
# state. The last line printed is one JSON object (jobs, jobs_per_s, p50/p99 latency).
bench-e2e: setup release
	./build-release/bin/e2e_bench --agents 1000 --gpus 8 --jobs 100000

# Chaos: batond + 3 agents on 127.0.0.1 under seeded SIGKILL/SIGSTOP faults while jobs
# are submitted; invariants checked at the end. The last line is one JSON object.
# CHAOS_STORE=etcd: a 3-member etcd and two batond replicas, the etcd leader killed too.
CHAOS_SEED ?= 1
CHAOS_SECONDS ?= 120
CHAOS_STORE ?= sqlite
chaos: setup build
	python3 tests/chaos/chaos.py --seed $(CHAOS_SEED) --seconds $(CHAOS_SECONDS) \
	  --store $(CHAOS_STORE)

# Benchmarks on the optimized build; results are written under bench/results/.
bench: setup release
	./build-release/bin/sched_bench --benchmark_out=bench/results/sched_bench.json \
	  --benchmark_out_format=json

# Regenerates docs/reference/cli.md (from the programs' --help) and job-spec.md (from
# src/baton/spec/job_fields.cc); ctest's docs_reference_up_to_date fails until this is run
# after a flag or a job spec key changes.
docs:
	cmake --preset dev
	cmake --build --preset dev --target baton batond baton-agent
	python3 docs/reference/gen_reference.py

format:
	find src programs tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-release build-asan build-fuzz
