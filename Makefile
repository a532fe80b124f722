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

C_TESTS := test_core test_image test_train
TEST_BINS := $(C_TESTS:%=$(BUILD)/tests/%) $(BUILD)/tests/test_gradcheck

$(BUILD)/tests/%: tests/c/%.c tests/c/check.h $(BUILD)/libdigit.a
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

test: test-c example

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
