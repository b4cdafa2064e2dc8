# autocoder — build, test, run and benchmark.
#
#   make            build build/autocoder (-Wall -Wextra -Werror, C11)
#   make run        install missing Debian packages, build, serve on 127.0.0.1:8080
#   make test       install missing packages, build, run unit + integration tests,
#                   then the same tests under ASan+UBSan, then a short fuzz run
#   make sanitize   unit + integration tests under ASan+UBSan only
#   make fuzz       libFuzzer targets for the parsers (FUZZ_SECONDS each)
#   make bench-*    benchmarks (not part of make test); figures go to docs/BENCHMARKS.md
#
# Sources are found by wildcard: every core/ collector/ analyzer/ generator/ .c file is
# part of the library, cmd/*.c are the subcommands, tests/unit/check_*.c are Check suites.

VERSION    := 0.1.0
BUILD      ?= build
CC         ?= cc
PKGS       := libmicrohttpd jansson sqlite3 yaml-0.1 libpcre2-8 zlib libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CFLAGS     ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -I$(BUILD) \
              -DAC_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS     := $(PKG_LIBS) -lpthread -lm
SAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(sort $(wildcard core/*.c collector/*.c analyzer/*.c generator/*.c) generator/runtime/expr.c)
CMD_SRC  := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/check_*.c))
# generator/runtime/ is embedded into the binary (generator/runtime_files.h) so `generate` can
# copy it into every system; scripts/embed-runtime.sh turns the files into one C source.
RUNTIME_FILES := $(sort $(wildcard generator/runtime/*.c generator/runtime/*.h))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/generator/runtime_files.o
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/autocoder
LIB      := $(BUILD)/libautocoder.a

.PHONY: all deps run test test-only unit integration sanitize fuzz fuzz-build clean test-faults \
        bench-ingest bench-analyzer bench-generated bench-deploy
.DEFAULT_GOAL := all

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/generator/runtime_files.c: $(RUNTIME_FILES) scripts/embed-runtime.sh
	@mkdir -p $(dir $@)
	scripts/embed-runtime.sh $(RUNTIME_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/generator/runtime_files.o: $(BUILD)/generator/runtime_files.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags check) -o $@ $< $(LIB) $(CHECK_LIBS) $(LDLIBS)

deps:
	@scripts/deps.sh test

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@mkdir -p data
	$(BIN) serve --listen 127.0.0.1:8080 --db data/autocoder.db --open-read --web web --rules rules

# The README's test command: everything CI runs.
test: deps
	@$(MAKE) --no-print-directory test-only
	@$(MAKE) --no-print-directory sanitize
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

test-only: all $(UNIT_BIN)
	@$(MAKE) --no-print-directory unit integration

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

integration: $(BIN)
	@AUTOCODER=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/run-integration.sh

# The fault catalogue (data/faults) against real generated systems: ~3 minutes, so not part of
# `make test`; .ci/run calls it (docs/EVIDENCE.md).
test-faults: $(BIN)
	@AUTOCODER=$(abspath $(BIN)) tests/faults/run-faults.sh

sanitize:
	@AC_SANITIZE_RUN=1 $(MAKE) --no-print-directory BUILD=build-san CC=clang CFLAGS="$(SAN_FLAGS)" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 test-only

FUZZ_SECONDS ?= 30
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libautocoder.a
	clang -std=c11 -D_GNU_SOURCE -I. $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
	  -o $@ $< build-fuzz/libautocoder.a $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build-fuzz/corpus-$$n tests/fuzz/seeds/$$n \
	      > build-fuzz/$$n.log 2>&1; then tail -n 40 build-fuzz/$$n.log; exit 1; fi; \
	  tail -n 1 build-fuzz/$$n.log; done

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

# Collector ingest benchmark (issue 2): wrk on loopback against the collector and, in the same
# run, a minimal libmicrohttpd handler. Figures go to docs/BENCHMARKS.md "## Collector ingest".
$(BUILD)/bench/mhd_minimal: bench/mhd_minimal.c core/common.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench/jansson_floor: bench/jansson_floor.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench-ingest: $(BIN) $(BUILD)/bench/mhd_minimal $(BUILD)/bench/jansson_floor
	AUTOCODER=$(abspath $(BIN)) MHD_MINIMAL=$(abspath $(BUILD)/bench/mhd_minimal) \
	  JANSSON_FLOOR=$(abspath $(BUILD)/bench/jansson_floor) bench/ingest.sh

# ---- analyzer benchmarks (bench/*.py; an-mining: template mining) ----
bench-analyzer: all
	python3 bench/mining.py
# Rule matching speed: every shipped rule over >= 1M messages (the loghub development set,
# cycled, plus the rules' own examples), against the same run without the literal prefilter.
LOGHUB ?= data/loghub
.PHONY: bench-rules
bench-rules: $(BIN)
	@test -n "$(LOGHUB)" || { echo "set LOGHUB=path/to/loghub"; exit 2; }
	$(BIN) rules bench rules --min 1000000 --reference 100000 \
	  --input $(LOGHUB)/HDFS_2k.log $(LOGHUB)/Hadoop_2k.log $(LOGHUB)/Zookeeper_2k.log $(LOGHUB)/OpenSSH_2k.log

# Blueprint front end: validate a 50-component blueprint (target < 100 ms), see docs/BENCHMARKS.md.
.PHONY: bench-blueprint
bench-blueprint: $(BIN)
	@bench/blueprint.sh $(abspath $(BIN))

# Generated systems: generation time, pipeline throughput, per-stage cost, todo API vs a
# minimal libmicrohttpd handler, idle RSS (bench/generated.sh; figures in docs/BENCHMARKS.md).
$(BUILD)/bench/gen_mhd_ref: bench/gen_mhd_ref.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $(PKG_CFLAGS) -o $@ $< $(LDLIBS)

bench-generated: $(BIN) $(BUILD)/bench/gen_mhd_ref
	AUTOCODER=$(abspath $(BIN)) MHD_REF=$(abspath $(BUILD)/bench/gen_mhd_ref) sh bench/generated.sh

# --- deployments (deploy emitter) -------------------------------------------------------------
# The container health probe's source is written into every generated system: embed it as a C
# string literal (the root Dockerfile compiles the same file directly).
$(BUILD)/generator/deploy_healthcheck.inc: generator/deploy/healthcheck.c
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@
$(BUILD)/generator/deploy_docker.o: $(BUILD)/generator/deploy_healthcheck.inc

# Deployment figures (docs/BENCHMARKS.md, "Deployments"): image sizes, cold/warm builds, time to
# healthy, idle memory of every self-contained example system. Needs the Docker engine.
bench-deploy: $(BIN)
	AUTOCODER=$(abspath $(BIN)) tests/deploy/bench-deploy.sh

# Online clustering (an-clusters): latency from acknowledgement to clustered at 1,000 events/s
# through `autocoder serve --rules rules`, and re-clustering throughput (analyze --rebuild).
.PHONY: bench-online
bench-online: $(BIN)
	python3 bench/online.py --rate 1000 --seconds 20
