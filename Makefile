# SPDX-License-Identifier: MIT
# Builds libdigit for C programs: build/libdigit.so.X.Y.Z (+ the soname
# link libdigit.so.X and the dev link libdigit.so), build/libdigit.a and
# build/digit.pc, from the same csrc/ that SwiftPM compiles. `make test`
# builds and runs the C tests and the C example. `make install` is
# described in mk/install.mk.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CC ?= cc
CFLAGS ?= -O3 -g
BUILD ?= build

# The version is written once, in include/digit.h; the soname carries its
# major number, so a bump there renames the library everywhere.
header_macro = $(shell sed -n 's/^\#define $(1) \([^ ]*\).*/\1/p' include/digit.h)
MAJOR := $(call header_macro,DIGIT_VERSION_MAJOR)
VERSION := $(MAJOR).$(call header_macro,DIGIT_VERSION_MINOR).$(call header_macro,DIGIT_VERSION_PATCH)
DEFAULT_MODEL := $(patsubst "%",%,$(call header_macro,DIGIT_DEFAULT_MODEL_FILE))
SONAME := libdigit.so.$(MAJOR)
SHLIB := libdigit.so.$(VERSION)
ifeq ($(words $(MAJOR) $(VERSION) $(DEFAULT_MODEL)),3)
else
$(error cannot read DIGIT_VERSION_* and DIGIT_DEFAULT_MODEL_FILE from include/digit.h)
endif
SRCS := $(wildcard csrc/*.c)
OBJS := $(SRCS:csrc/%.c=$(BUILD)/obj/%.o)
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes
# -fno-math-errno: nothing in the library reads errno after a math call,
# and with it gcc turns sqrtf in vector loops (Adam) into vector square
# roots (clang builds get the same from DIGIT_SQRTF, csrc/internal.h).
LIB_CFLAGS := -std=c11 $(WARN) -ffp-contract=off -fno-math-errno -fPIC -fvisibility=hidden -DNDEBUG -Iinclude $(CFLAGS)
LIBS := -lopenblas -lpng16 -ljpeg -lz -lm -lpthread
TEST_CFLAGS := -std=c11 $(WARN) -Iinclude -Icsrc $(CFLAGS)

.PHONY: all clean test test-c example bench model model-strong version print-default-model FORCE
all: $(BUILD)/$(SHLIB) $(BUILD)/libdigit.a $(BUILD)/digit.pc

# For scripts that need the numbers (the Python build, tests/install.sh).
version:
	@echo $(VERSION)

# The shipped model's file name (DIGIT_DEFAULT_MODEL_FILE), for scripts.
print-default-model:
	@echo $(DEFAULT_MODEL)

$(BUILD)/obj/%.o: csrc/%.c csrc/*.h include/digit.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/$(SHLIB): $(OBJS) libdigit.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined \
	    -Wl,--version-script=libdigit.map $(LDFLAGS) -o $@ $(OBJS) $(LIBS)
	ln -sf $(SHLIB) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libdigit.so

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

# In the default layout (lib/ and include/ right under the prefix) the
# paths are spelled relative to the .pc file itself, so an installed tree
# still works after it is moved.
ifeq ($(LIBDIR) $(INCLUDEDIR),$(PREFIX)/lib $(PREFIX)/include)
PC_PREFIX := $${pcfiledir}/../..
PC_LIBDIR := $${prefix}/lib
PC_INCLUDEDIR := $${prefix}/include
else
PC_PREFIX := $(PREFIX)
PC_LIBDIR := $(LIBDIR)
PC_INCLUDEDIR := $(INCLUDEDIR)
endif

$(BUILD)/digit.pc: digit.pc.in Makefile include/digit.h $(BUILD)/pc-paths
	sed -e 's|@PREFIX@|$(PC_PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS@|$(LIBS)|' $< > $@

include mk/install.mk

# ---- tests ----

# The unit tests of the C core, one file per concern, named after the
# csrc/ file they test (tests/c/test_model_io.c tests csrc/model_io.c, ...);
# test_abi (sized structures, NULL arguments) and test_handles (calls from
# training callbacks) test the contract in digit.h across files.
UNIT_TESTS := test_errors test_abi test_model test_layers test_winograd test_microgemm test_conv1ch test_optim test_parallel test_predict \
    test_model_io test_fileio test_dataset test_train_api test_handles
C_TESTS := $(UNIT_TESTS) test_image test_jpeg test_train test_variants test_photo test_faults test_threads test_presets
TEST_BINS := $(C_TESTS:%=$(BUILD)/tests/%) $(BUILD)/tests/test_gradcheck
TEST_HEADERS := tests/c/check.h tests/c/helpers.h tests/c/kernel_check.h tests/c/pngtest.h tests/c/testfiles.h tests/c/photogen.h

$(BUILD)/tests/%: tests/c/%.c $(TEST_HEADERS) $(BUILD)/libdigit.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(BUILD)/libdigit.a $(LIBS)

# The gradient checks run the network code in double precision: layers.c
# and net.c compiled again with real = double (see csrc/real.h).
GRAD_SRCS := csrc/layers.c csrc/winograd.c csrc/microgemm.c csrc/conv1ch.c csrc/cpu.c csrc/net.c csrc/arch.c csrc/error.c \
    csrc/parallel.c
$(BUILD)/tests/test_gradcheck: tests/c/test_gradcheck.c tests/c/check.h $(GRAD_SRCS) csrc/*.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DDIGIT_REAL_DOUBLE $< $(GRAD_SRCS) -o $@ $(LIBS)

# The network code again with each convolution path forced (DIGIT_CONV,
# see csrc/net.h), so that each is checked on every machine: im2col, and
# Winograd with either tile on every 3x3 conv.
test-c: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t; done
	@set -e; for m in im2col winograd2 winograd4; do echo "== DIGIT_CONV=$$m test_gradcheck"; \
	    DIGIT_CONV=$$m $(BUILD)/tests/test_gradcheck; done

# The example, built the way a user builds it: against an installed copy,
# found through pkg-config.
example: all
	rm -rf $(BUILD)/prefix
	$(MAKE) --no-print-directory install-lib PREFIX=$(CURDIR)/$(BUILD)/prefix
	$(MAKE) --no-print-directory -C examples/c PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/prefix/lib/pkgconfig
	LD_LIBRARY_PATH=$(CURDIR)/$(BUILD)/prefix/lib examples/c/train_and_predict $(DIGIT_DATA)

test: test-c example test-replay

# Photo-like inputs (tests/c/photogen.h): `make test` runs 150 per variant
# on small pages (seed 3); the report runs PHOTO_N per variant on pages up
# to 4000x3000 with another seed than the one the preprocessing was tuned
# on (1), without thresholds; the sheet is docs/photo-inputs.png.
PHOTO_SEED ?= 2
PHOTO_N ?= 1000
.PHONY: photo-report photo-sheet
photo-report: $(BUILD)/tests/test_photo
	$(BUILD)/tests/test_photo --report --full --seed $(PHOTO_SEED) --n $(PHOTO_N)

photo-sheet: $(BUILD)/tests/test_photo
	@mkdir -p docs
	$(BUILD)/tests/test_photo --report --seed $(PHOTO_SEED) --n 6 --sheet docs/photo-inputs.png

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

# The shipped strong model (about 6 minutes on 2 cores).
model-strong:
	swift build -c release
	.build/release/digitc train --arch strong --seed 1 --threads 2 \
	    --output models/digit-strong.safetensors

clean:
	rm -rf $(BUILD)
	$(MAKE) -C examples/c clean

# ---- fuzz regressions, sanitizers and fuzzing ----

# The fuzz harnesses built without libFuzzer (fuzz/replay.c drives them)
# replay the seed corpora and every saved crash input. Crash inputs go to
# tests/data/fuzz-regressions/<harness>/.
FUZZERS := model idx png jpeg
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
# `make tsan-test`: the library, tests/c/test_threads.c and the unit tests
# built with ThreadSanitizer into build/tsan. `make fuzz FUZZER=model|idx|png|jpeg
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
# test_variants and test_photo measure accuracy over thousands of images:
# too slow for a sanitizer build, and quality checks rather than memory ones.
SAN_TESTS := $(filter-out test_variants test_photo,$(C_TESTS)) test_gradcheck train_and_predict

# The ABI check against the committed baseline (scripts/abi_check.sh has
# the policy); `make abi-baseline` rewrites abi/libdigit.abi from this build.
.PHONY: abi-check abi-baseline
abi-check: $(BUILD)/libdigit.so.$(VERSION)
	bash scripts/abi_check.sh check $<
abi-baseline: $(BUILD)/libdigit.so.$(VERSION)
	bash scripts/abi_check.sh baseline $<

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

# Under ThreadSanitizer: test_threads and the unit tests (callbacks, deferred
# frees, predictions on several threads).
TSAN_TESTS := test_threads $(UNIT_TESTS)
tsan-test:
	$(MAKE) --no-print-directory BUILD=build/tsan CC="$(TSAN_CC)" CFLAGS="$(TSAN_FLAGS)" \
	    $(TSAN_TESTS:%=build/tsan/tests/%)
	@set -e; for t in $(TSAN_TESTS); do \
	    echo "== tsan $$t"; $(TSAN_ENV) build/tsan/tests/$$t; done

# The fuzzers compile the library sources into the fuzzer itself, all of
# them with AddressSanitizer and UndefinedBehaviorSanitizer. The numeric
# kernels (FUZZ_MATH_SRCS) get no coverage instrumentation: their loops
# branch on shapes, not on file contents, and instrumenting them made each
# model input that loads several times slower to run.
FUZZER ?= model
SECONDS ?= 600
FUZZ_SAN := -std=c11 -g -O1 -fno-omit-frame-pointer -ffp-contract=off \
    -fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude -Icsrc
FUZZ_FLAGS := $(FUZZ_SAN) -fsanitize=fuzzer $(SAN_LD)
FUZZ_MATH_SRCS := csrc/layers.c csrc/winograd.c csrc/microgemm.c csrc/conv1ch.c csrc/net.c csrc/optim.c csrc/augment.c csrc/parallel.c
FUZZ_MATH_OBJS := $(FUZZ_MATH_SRCS:csrc/%.c=build/fuzz/obj/%.o)
FUZZ_OPTIONS ?=

$(FUZZ_MATH_OBJS): build/fuzz/obj/%.o: csrc/%.c csrc/*.h include/digit.h
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_SAN) -c $< -o $@

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(SRCS) $(FUZZ_MATH_OBJS) csrc/*.h include/digit.h
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $< $(filter-out $(FUZZ_MATH_SRCS),$(SRCS)) $(FUZZ_MATH_OBJS) -o $@ $(LIBS)

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
	mkdir -p fuzz/corpus/jpeg
	rm -f fuzz/corpus/model/* fuzz/corpus/idx/* fuzz/corpus/png/* fuzz/corpus/jpeg/*
	$(BUILD)/make_corpus fuzz/corpus
