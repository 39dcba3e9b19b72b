# The two set-up commands on a fresh machine: `make run` and `make test`. Both install what they need first.
JOBS ?= 2
RELEASE_DIR := build/release
TEST_DIR := build/asan
DATA_DIR ?= ./data/store

.PHONY: deps build test test-all test-tsan test-timers run bench bench-store bench-peers bench-curves bench-report clean format install deb crash-test powerloss-test fuzz failover-test soak

deps:
	@bash scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja:
	cmake --preset release >/dev/null

build: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

$(TEST_DIR)/build.ninja:
	cmake --preset asan-ubsan >/dev/null

# Installs the real clients the e2e tests drive, runs the concurrency tests (TSAN_TARGETS) under
# ThreadSanitizer, a 5 s slice of every fuzz target (make fuzz), then builds the whole suite under ASan+UBSan and runs every test (unit, fault, disk, net,
# e2e); CTest's summary closes the output, followed by how long it all took.
test: deps
	@start=$$(date +%s); rc=0; $(MAKE) --no-print-directory test-all || rc=$$?; \
	  echo "make test: $$(( $$(date +%s) - start )) s, exit $$rc"; exit $$rc

test-all: $(TEST_DIR)/build.ninja
	@bash scripts/install-e2e-deps.sh
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The GoogleTest binaries with the concurrency tests; only these are built (and run) under ThreadSanitizer.
TSAN_TARGETS ?= store_message_store_test store_mapped_file_test remoting_net_test broker_net_test \
  schedule_message_service_test client_transaction_test broker_pop_test ha_test
# The tsan preset builds with clang and -Wthread-safety -Werror, so a lock missing around guarded state fails
# the build; the libraries the TSan tests do not link and the `thruster` tool (the apps with guarded state) are
# built there too (not run), so every library and annotated app goes through that check. thruster-broker and
# thruster-namesrv are thin mains over those libraries.
THREAD_SAFETY_TARGETS ?= thruster thruster_proxy thruster_namesrv

test-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build build/tsan -j $(JOBS) --target $(TSAN_TARGETS) $(THREAD_SAFETY_TARGETS)
	@set -e; for t in $(TSAN_TARGETS); do \
	  bin=$$(find build/tsan/tests -type f -name "$$t" -perm -u+x | head -n 1); \
	  echo "== $$t under ThreadSanitizer"; "$$bin" --gtest_brief=1; \
	done

# The timer store with 100 000 pending timers (the suite runs 10 000), under ASan+UBSan.
test-timers: $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS) --target timer_message_service_test
	THRUSTER_TIMER_PENDING=100000 $(TEST_DIR)/tests/broker/timer_message_service_test \
	  --gtest_filter='*ManyPendingTimers*' --gtest_brief=1

run: build
	@mkdir -p $(DATA_DIR)
	$(RELEASE_DIR)/apps/thruster-broker --storePathRootDir=$(DATA_DIR)

bench: build
	$(RELEASE_DIR)/bench/store/thruster_store_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	$(RELEASE_DIR)/apps/thruster bench store --dir build/bench-store --messages 2000000 --size 1024

# Thruster against Redis Streams and NATS JetStream, one table (bench/peers/README.md). Installs the peers from
# Debian on first use. PEERS_ARGS=--quick for a smoke test; PEERS_BUILD=0 to skip `make build`.
PEERS_BUILD ?= 1
bench-peers:
ifeq ($(PEERS_BUILD),1)
	-@$(MAKE) --no-print-directory build
endif
	bash bench/peers/run.sh $(PEERS_ARGS)

# The cost curves (bench/curves/*.sh, docs/performance.md): one curve per run, its CSV into docs/performance/data/;
# CURVE is one of queues, size, fanout, connections, surface, store-threads, cold-backlog. CURVE_BUILD=0 skips
# `make build`. bench-report draws every CSV there as an SVG under docs/performance/ with gnuplot.
CURVE ?= surface
CURVE_BUILD ?= 1
CURVES_DATA := docs/performance/data
bench-curves:
ifeq ($(CURVE_BUILD),1)
	@$(MAKE) --no-print-directory build
endif
	OUT=$(CURVES_DATA) bash bench/curves/$(CURVE).sh

bench-report: deps
	python3 bench/curves/report.py $(CURVES_DATA) docs/performance

# The programs, /etc/thruster's config files and the systemd units from the release build; DESTDIR is honoured
# (`make install DESTDIR=/tmp/root PREFIX=/usr`). With PREFIX=/usr the config goes to /etc, as in the package.
PREFIX ?= /usr/local
PROGRAMS := thruster thruster-broker thruster-namesrv
install: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target $(PROGRAMS)
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"

# The `thruster` Debian package (CPack, from the release build) in build/deb/; its dependencies come from the
# shared libraries the programs link (dpkg-shlibdeps). `sudo apt install ./build/deb/thruster_*.deb` installs it.
deb: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target $(PROGRAMS)
	cpack --config $(RELEASE_DIR)/CPackConfig.cmake -B $(CURDIR)/build/deb
	@ls -l build/deb/*.deb

# Runs the dashboard's browser test on the test build and saves its screenshots of the main pages in
# docs/dashboard/ (the committed ones come from this target).
.PHONY: dashboard-screenshots
dashboard-screenshots: deps $(TEST_DIR)/build.ninja
	@bash scripts/install-e2e-deps.sh
	cmake --build $(TEST_DIR) -j $(JOBS) --target thruster thruster-broker
	mkdir -p docs/dashboard
	THRUSTER_DASHBOARD_SCREENSHOTS=$(CURDIR)/docs/dashboard bash tests/e2e/run_dashboard.sh \
	  $(CURDIR)/$(TEST_DIR)/apps/thruster-broker $(CURDIR)/$(TEST_DIR)/apps/thruster

clean:
	rm -rf build

format:
	find src tests bench apps -name '*.h' -o -name '*.cc' | xargs clang-format -i

# A name server and two broker groups (master + slave each, static roles) on loopback, stores and logs under
# ./data/cluster; prints their addresses and runs until Ctrl-C (scripts/cluster.sh lists its settings, e.g.
# MASTER_ROLE=SYNC_MASTER). `thruster admin clusterList -n 127.0.0.1:9876` shows roles, offsets and slave lag.
.PHONY: cluster
cluster: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target $(PROGRAMS)
	bash scripts/cluster.sh $(RELEASE_DIR)/apps

# Kill loop (tests/crash/): SIGKILLs a real broker ITER times under load at seeded random moments and checks that
# every acknowledged message survived; SEED replays a run, FLUSH=SYNC|ASYNC|BOTH. Ends with one summary line.
ITER ?= 100
SEED ?= $(shell date +%s)
FLUSH ?= BOTH
crash-test: $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS) --target thruster_crash_loop
	$(TEST_DIR)/tests/crash/thruster_crash_loop --broker $(TEST_DIR)/apps/thruster-broker \
	  --thruster $(TEST_DIR)/apps/thruster --iterations $(ITER) --seed $(SEED) --flush $(FLUSH)

# Power loss (tests/crash/power_loss_test.cc): CUTS seeded power cuts of the store and the consumer offsets on
# the fault file system; SEED replays a run. Ends with its summary line.
CUTS ?= 2000
powerloss-test: $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS) --target crash_fault_test
	THRUSTER_POWERLOSS_CUTS=$(CUTS) THRUSTER_POWERLOSS_SEED=$(SEED) \
	  $(TEST_DIR)/tests/crash/crash_fault_test --gtest_brief=1 --gtest_filter=PowerLossTest.*

# Soak (tests/crash/soak.cc): a real broker under mixed load at about half of its measured peak for MINUTES, with
# topic creation and consumer churn; samples anonymous RSS, fds and threads every 10 s and fails when they grow
# after warm-up or when an acknowledged message was not consumed. Ends with one summary line; the samples are
# drawn as build/soak.svg (scripts/soak-plot.py, gnuplot).
MINUTES ?= 30
soak: $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS) --target thruster_soak
	bash -o pipefail -c '$(TEST_DIR)/tests/crash/thruster_soak --broker $(TEST_DIR)/apps/thruster-broker \
	  --seconds $$(( $(MINUTES) * 60 )) --sample-ms 10000 --warmup-s 60 --churn-s 20 | tee build/soak.log'
	python3 scripts/soak-plot.py build/soak.log build/soak.svg "make soak MINUTES=$(MINUTES), $$(date -u +%F), $$(nproc) CPUs"
	@echo "soak: samples in build/soak.log, curves in build/soak.svg"

# Fuzzing (tests/fuzz/): the libFuzzer targets, built with clang in build/fuzz (the `fuzz` preset), each run
# FUZZ_SECONDS from its in-tree seeds; FUZZ_TARGETS picks some (names as in tests/fuzz/corpus/). Ends with a
# summary line per target; a crash leaves its input in build/fuzz/artifacts/. make test runs a 5 s slice.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz -j $(JOBS) --target fuzz_targets
	bash scripts/run-fuzz.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Controller mode on etcd: ITER master kills and ITER/2 pauses of a two-broker group under a producer; prints
# acknowledged / lost and the failover time's p50 / p99 (docs/reliability.md).
ITER ?= 100
failover-test: deps $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS) --target cluster_etcd_test
	THRUSTER_FAILOVER_ITER=$(ITER) $(TEST_DIR)/tests/cluster/cluster_etcd_test \
	  --gtest_also_run_disabled_tests --gtest_filter='*FailoverLoop*' --gtest_brief=1
