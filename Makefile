# Builds libdigit for C programs: build/libdigit.so.1 (+ libdigit.so link),
# build/libdigit.a and build/digit.pc, from the same csrc/ that SwiftPM
# compiles. `make test` builds and runs the C tests and the C example.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CC ?= cc
CFLAGS ?= -O3 -g
BUILD ?= build

VERSION := 1.0.0
SRCS := $(wildcard csrc/*.c)
OBJS := $(SRCS:csrc/%.c=$(BUILD)/obj/%.o)
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes
LIB_CFLAGS := -std=c11 $(WARN) -ffp-contract=off -fPIC -fvisibility=hidden -DNDEBUG -Iinclude $(CFLAGS)
LIBS := -lopenblas -lpng16 -lz -lm -lpthread
TEST_CFLAGS := -std=c11 $(WARN) -Iinclude -Icsrc $(CFLAGS)

.PHONY: all clean install test test-c example bench model FORCE
all: $(BUILD)/libdigit.so.1 $(BUILD)/libdigit.a $(BUILD)/digit.pc

$(BUILD)/obj/%.o: csrc/%.c csrc/*.h include/digit.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/libdigit.so.1: $(OBJS) libdigit.map
	$(CC) -shared -Wl,-soname,libdigit.so.1 -Wl,--no-undefined \
	    -Wl,--version-script=libdigit.map $(LDFLAGS) -o $@ $(OBJS) $(LIBS)
	ln -sf libdigit.so.1 $(BUILD)/libdigit.so

$(BUILD)/libdigit.a: $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

# digit.pc embeds the install paths, so it is rewritten whenever they
# change (`make install PREFIX=...` after a plain `make`); pc-paths holds
# the paths it was last written for.
$(BUILD)/pc-paths: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR)' | cmp -s - $@ || \
	    echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR)' > $@

$(BUILD)/digit.pc: digit.pc.in Makefile $(BUILD)/pc-paths
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/digit.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(BUILD)/libdigit.so.1 $(DESTDIR)$(LIBDIR)/
	ln -sf libdigit.so.1 $(DESTDIR)$(LIBDIR)/libdigit.so
	install -m 644 $(BUILD)/libdigit.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/digit.pc $(DESTDIR)$(LIBDIR)/pkgconfig/

# ---- tests ----

C_TESTS := test_core test_image test_train test_variants test_faults test_threads test_presets
TEST_BINS := $(C_TESTS:%=$(BUILD)/tests/%) $(BUILD)/tests/test_gradcheck

$(BUILD)/tests/%: tests/c/%.c tests/c/check.h tests/c/pngtest.h tests/c/testfiles.h $(BUILD)/libdigit.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(BUILD)/libdigit.a $(LIBS)

# The gradient checks run the network code in double precision: layers.c
# and net.c compiled again with real = double (see csrc/real.h).
GRAD_SRCS := csrc/layers.c csrc/net.c csrc/arch.c csrc/error.c
$(BUILD)/tests/test_gradcheck: tests/c/test_gradcheck.c tests/c/check.h $(GRAD_SRCS) csrc/*.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DDIGIT_REAL_DOUBLE $< $(GRAD_SRCS) -o $@ $(LIBS)

test-c: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t; done

# The example, built the way a user builds it: against an installed copy,
# found through pkg-config.
example: all
	rm -rf $(BUILD)/prefix
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/prefix
	$(MAKE) --no-print-directory -C examples/c PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/prefix/lib/pkgconfig
	LD_LIBRARY_PATH=$(CURDIR)/$(BUILD)/prefix/lib examples/c/train_and_predict $(DIGIT_DATA)

test: test-c example test-replay

# The benchmark (see BENCHMARKS.md). It links the static library and reads
# net.h only to count FLOPs.
$(BUILD)/digit-bench: bench/bench.c $(BUILD)/libdigit.a csrc/net.h
	$(CC) $(TEST_CFLAGS) $< -o $@ $(BUILD)/libdigit.a $(LIBS)

bench: $(BUILD)/digit-bench
	$(BUILD)/digit-bench $(BENCH_ARGS)

# Reproduces the shipped model (models/digit-basic.safetensors): the same
# command, seed and thread count as recorded in its metadata.
model:
	swift build -c release
	.build/release/digitc train --arch basic --seed 1 --threads 2 \
	    --output models/digit-basic.safetensors

clean:
	rm -rf $(BUILD)
	$(MAKE) -C examples/c clean

# ---- fuzz regressions, sanitizers and fuzzing ----

# The fuzz harnesses built without libFuzzer (fuzz/replay.c drives them)
# replay the seed corpora and every saved crash input. Crash inputs go to
# tests/data/fuzz-regressions/<harness>/.
FUZZERS := model idx png
REPLAY_BINS := $(FUZZERS:%=$(BUILD)/tests/replay_%)

$(BUILD)/tests/replay_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz_util.h $(BUILD)/libdigit.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) fuzz/replay.c $< -o $@ $(BUILD)/libdigit.a $(LIBS)

test-replay: $(REPLAY_BINS)
	@set -e; for f in $(FUZZERS); do \
	    $(BUILD)/tests/replay_$$f fuzz/corpus/$$f \
	        $$(ls -d tests/data/fuzz-regressions/$$f 2>/dev/null); done

# `make asan-test`: the library, the C tests, the fuzz replays and the
# example built with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer into build/asan, then run; any report fails the run.
# `make tsan-test`: the library and tests/c/test_threads.c built with
# ThreadSanitizer into build/tsan. `make fuzz FUZZER=model|idx|png
# SECONDS=600`: builds fuzz/fuzz_$(FUZZER).c with libFuzzer and runs it on
# a copy of its seed corpus in build/fuzz (see fuzz/README.md).
# ASan and fuzzing need clang: the Swift toolchain's
# (/opt/swift/usr/bin/clang) ships libFuzzer and the sanitizer runtimes.
# lld is asked for because gold warns about every ASan symbol.
CLANG ?= $(shell command -v clang 2>/dev/null || echo /opt/swift/usr/bin/clang)
SAN_LD := -fuse-ld=lld -Wno-unused-command-line-argument
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 \
    -fno-omit-frame-pointer $(SAN_LD)
# ThreadSanitizer with the system compiler (gcc, libtsan): the Swift
# toolchain's TSan runtime also wants its libdispatch and BlocksRuntime.
# No target_clones (DIGIT_NO_CLONES): gcc instruments the ifunc resolvers,
# which the dynamic loader runs before TSan is initialised.
TSAN_CC ?= $(CC)
TSAN_FLAGS := -fsanitize=thread -g -O1 -fno-omit-frame-pointer -DDIGIT_NO_CLONES
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
# test_variants measures accuracy over thousands of PNG variants: too slow
# for a sanitizer build, and a quality check rather than a memory one.
SAN_TESTS := $(filter-out test_variants,$(C_TESTS)) test_gradcheck train_and_predict

.PHONY: test-replay asan-test tsan-test fuzz fuzz-build fuzz-corpus
asan-test:
	$(MAKE) --no-print-directory BUILD=build/asan CC="$(CLANG)" CFLAGS="$(ASAN_FLAGS)" \
	    $(SAN_TESTS:%=build/asan/tests/%) $(FUZZERS:%=build/asan/tests/replay_%)
	@set -e; for t in $(SAN_TESTS); do \
	    echo "== asan $$t"; $(ASAN_ENV) build/asan/tests/$$t $(DIGIT_DATA); done
	$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=build/asan test-replay

# The example as a test binary (linked statically, unlike `make example`).
$(BUILD)/tests/train_and_predict: examples/c/train_and_predict.c $(BUILD)/libdigit.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(BUILD)/libdigit.a $(LIBS)

tsan-test:
	$(MAKE) --no-print-directory BUILD=build/tsan CC="$(TSAN_CC)" CFLAGS="$(TSAN_FLAGS)" \
	    build/tsan/tests/test_threads
	$(TSAN_ENV) build/tsan/tests/test_threads

# The fuzzers compile the library sources into the fuzzer itself, with
# coverage instrumentation everywhere.
FUZZER ?= model
SECONDS ?= 600
FUZZ_FLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -ffp-contract=off \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Iinclude -Icsrc $(SAN_LD)
FUZZ_OPTIONS ?=

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(SRCS) csrc/*.h include/digit.h
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $< $(SRCS) -o $@ $(LIBS)

fuzz-build: $(FUZZERS:%=build/fuzz/fuzz_%)

# New inputs a run finds stay in build/fuzz/corpus-$(FUZZER) for the next
# run; crash inputs are written to build/fuzz/artifacts-$(FUZZER)/.
fuzz: build/fuzz/fuzz_$(FUZZER)
	@mkdir -p build/fuzz/corpus-$(FUZZER) build/fuzz/artifacts-$(FUZZER)
	cp fuzz/corpus/$(FUZZER)/* build/fuzz/corpus-$(FUZZER)/
	$(ASAN_ENV) build/fuzz/fuzz_$(FUZZER) -max_total_time=$(SECONDS) \
	    -print_final_stats=1 -dict=fuzz/$(FUZZER).dict \
	    -artifact_prefix=build/fuzz/artifacts-$(FUZZER)/ $(FUZZ_OPTIONS) \
	    build/fuzz/corpus-$(FUZZER)

# Regenerates the checked-in seed corpora (fuzz/make_corpus.c).
fuzz-corpus: $(BUILD)/libdigit.a
	$(CC) $(TEST_CFLAGS) fuzz/make_corpus.c -o $(BUILD)/make_corpus $(BUILD)/libdigit.a $(LIBS)
	rm -f fuzz/corpus/model/* fuzz/corpus/idx/* fuzz/corpus/png/*
	$(BUILD)/make_corpus fuzz/corpus
