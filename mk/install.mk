# SPDX-License-Identifier: MIT
# `make install PREFIX=...` puts into the prefix:
#   lib/libdigit.so.X.Y.Z, its soname link libdigit.so.X and the dev link
#   libdigit.so; lib/libdigit.a; include/digit.h; lib/pkgconfig/digit.pc;
#   lib/cmake/digit/digitConfig{,Version}.cmake (find_package(digit));
#   bin/digitc (a release build with the Swift runtime linked in);
#   share/libdigit/: the shipped model and the MNIST fetch script.
# `make install-lib` is the same without digitc (no Swift needed).
# `make uninstall PREFIX=...` removes exactly those files, then the folders
# that are left empty.
#
# Nothing is half-installed: every file is first assembled under
# $(BUILD)/stage, the prefix is checked for writability, every file is
# copied next to its destination under a temporary name, and only when all
# copies succeeded are they renamed into place (scripts/install_tree.sh).

BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/libdigit
CMAKEDIR ?= $(LIBDIR)/cmake/digit
# A build folder of its own: the static-stdlib flags would otherwise make
# SwiftPM rebuild .build/release, which the demo uses, on every switch. It
# lives inside .build because SwiftPM 6.3 fails the second build in a
# scratch folder elsewhere under the package root ("unknown build
# description"; the CDigit target's path is the root itself).
SWIFT_INSTALL_BUILD ?= .build/install
SWIFT_INSTALL_FLAGS ?= -c release --static-swift-stdlib
DIGITC_RELEASE := $(SWIFT_INSTALL_BUILD)/release/digitc

STAGE := $(BUILD)/stage
FETCH_SCRIPT := python/digit/fetch.py

LIB_FILES := $(INCLUDEDIR)/digit.h $(LIBDIR)/$(SHLIB) $(LIBDIR)/$(SONAME) \
    $(LIBDIR)/libdigit.so $(LIBDIR)/libdigit.a $(LIBDIR)/pkgconfig/digit.pc \
    $(CMAKEDIR)/digitConfig.cmake $(CMAKEDIR)/digitConfigVersion.cmake \
    $(DATADIR)/$(DEFAULT_MODEL) $(DATADIR)/fetch_mnist.py
BIN_FILES := $(BINDIR)/digitc

# The CMake package finds the prefix from its own location, so these are
# the paths relative to it (absolute only when a folder is outside PREFIX).
relative_to_prefix = $${_digit_prefix}/$(shell realpath -m --relative-to=$(PREFIX) $(1))
# The static library's dependencies, the Makefile's LIBS in CMake's terms.
space := $(subst ,, )
CMAKE_LIBS := $(subst $(space),;,$(patsubst -l%,%,$(filter-out -lpthread,$(LIBS))) Threads::Threads)
CMAKE_SUBST := -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' \
    -e 's|@CMAKE_LIBS@|$(CMAKE_LIBS)|g' \
    -e 's|@SHLIB@|$(SHLIB)|g' -e 's|@SONAME@|$(SONAME)|g' \
    -e 's|@PREFIX_FROM_HERE@|$(shell realpath -m --relative-to=$(CMAKEDIR) $(PREFIX))|g' \
    -e 's|@LIBDIR@|$(call relative_to_prefix,$(LIBDIR))|g' \
    -e 's|@INCLUDEDIR@|$(call relative_to_prefix,$(INCLUDEDIR))|g'

.PHONY: install install-lib uninstall stage-lib stage-bin

stage-lib: all
	rm -rf $(STAGE)
	install -D -m 644 include/digit.h $(STAGE)$(INCLUDEDIR)/digit.h
	install -D -m 755 $(BUILD)/$(SHLIB) $(STAGE)$(LIBDIR)/$(SHLIB)
	ln -s $(SHLIB) $(STAGE)$(LIBDIR)/$(SONAME)
	ln -s $(SONAME) $(STAGE)$(LIBDIR)/libdigit.so
	install -m 644 $(BUILD)/libdigit.a $(STAGE)$(LIBDIR)/libdigit.a
	install -D -m 644 $(BUILD)/digit.pc $(STAGE)$(LIBDIR)/pkgconfig/digit.pc
	install -d $(STAGE)$(CMAKEDIR)
	sed $(CMAKE_SUBST) cmake/digitConfig.cmake.in > $(STAGE)$(CMAKEDIR)/digitConfig.cmake
	sed $(CMAKE_SUBST) cmake/digitConfigVersion.cmake.in > $(STAGE)$(CMAKEDIR)/digitConfigVersion.cmake
	install -D -m 644 models/$(DEFAULT_MODEL) $(STAGE)$(DATADIR)/$(DEFAULT_MODEL)
	install -m 755 $(FETCH_SCRIPT) $(STAGE)$(DATADIR)/fetch_mnist.py

# SwiftPM decides what is out of date.
$(DIGITC_RELEASE): FORCE
	swift build $(SWIFT_INSTALL_FLAGS) --build-path $(SWIFT_INSTALL_BUILD)

stage-bin: stage-lib $(DIGITC_RELEASE)
	install -D -m 755 $(DIGITC_RELEASE) $(STAGE)$(BINDIR)/digitc

# The prefix is checked before anything is built, so an unwritable one
# fails in a second, not after the Swift build.
install-lib:
	@bash scripts/install_tree.sh check '$(DESTDIR)' $(LIB_FILES)
	@$(MAKE) --no-print-directory stage-lib
	@bash scripts/install_tree.sh commit $(STAGE) '$(DESTDIR)' $(LIB_FILES)

install:
	@bash scripts/install_tree.sh check '$(DESTDIR)' $(LIB_FILES) $(BIN_FILES)
	@$(MAKE) --no-print-directory stage-bin
	@bash scripts/install_tree.sh commit $(STAGE) '$(DESTDIR)' $(LIB_FILES) $(BIN_FILES)

uninstall:
	bash scripts/install_tree.sh remove '$(DESTDIR)$(PREFIX)' $(addprefix $(DESTDIR),$(LIB_FILES) $(BIN_FILES))
