#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An installed libdigit works with the build tree out of the picture:
#   1. make install into a scratch prefix, then move the prefix elsewhere
#      (so no path the build wrote is still valid);
#   2. from an unrelated folder, with no DIGIT_* variables: the installed
#      digitc classifies a digit, describes its model, finds its fetch
#      script (verifying the MNIST folder), also through a symlink, and
#      needs no Swift toolchain libraries;
#   3. the CMake example configures against the moved prefix with
#      find_package(digit) and runs, linked to the shared and to the static
#      library; pkg-config's flags point into the prefix too;
#   4. an unusable prefix fails before anything is written;
#   5. make uninstall leaves the moved prefix empty.
# Environment: DIGIT_DATA (a folder holding MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
data="${DIGIT_DATA:?set DIGIT_DATA to a folder holding MNIST}"
# The shipped model's file name, spelled once in digit.h.
model=$(make --no-print-directory -s print-default-model)

work="$(mktemp -d "${TMPDIR:-/tmp}/digit-install-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "install test: FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

step "make install PREFIX=$work/prefix"
start=$SECONDS
make --no-print-directory install PREFIX="$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "make install"; }
echo "   ($((SECONDS - start)) s)"
mv "$work/prefix" "$work/moved"
prefix=$work/moved
mkdir "$work/elsewhere"
cp samples/digit-7.png "$work/elsewhere/seven.png"
cd "$work/elsewhere"
run() { env -u DIGIT_MODEL -u DIGIT_FETCH_SCRIPT -u DIGIT_DATA -u DIGIT_LIBRARY -u LD_LIBRARY_PATH "$@"; }

step "installed digitc from $PWD"
out=$(run "$prefix/bin/digitc" classify seven.png) || fail "digitc classify"
[[ $out == "seven.png: 7 "* ]] || fail "digitc classify printed: $out"
out=$(run "$prefix/bin/digitc" info) || fail "digitc info"
grep -q "^model .*share/libdigit/$model" <<<"$out" || fail "digitc info: $out"
out=$(run "$prefix/bin/digitc" fetch --dir "$data" 2>"$work/fetch.err") || { cat "$work/fetch.err" >&2; fail "digitc fetch"; }
[ "$out" = "$(cd "$data" && pwd)" ] || fail "digitc fetch printed $out"
grep -q "verified" "$work/fetch.err" || fail "digitc fetch did not verify: $(cat "$work/fetch.err")"
mkdir "$work/bin" && ln -s "$prefix/bin/digitc" "$work/bin/digitc"
run "$work/bin/digitc" classify seven.png >/dev/null || fail "digitc through a symlink"
if ldd "$prefix/bin/digitc" | grep -qi swift; then fail "digitc needs Swift libraries: $(ldd "$prefix/bin/digitc")"; fi

step "CMake example against the moved prefix"
cmake -S "$repo/examples/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log" >&2; fail "cmake configure"; }
grep -q "libdigit .* from $prefix/lib/cmake/digit" "$work/cmake.log" || fail "found another libdigit: $(cat "$work/cmake.log")"
cmake --build "$work/cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "cmake build"; }
out=$(run "$work/cmake/classify_digit" "$prefix/share/libdigit/$model" seven.png) \
  || fail "CMake example"
[[ $out == "seven.png: 7 "* ]] || fail "CMake example printed: $out"
cmake -S "$repo/examples/cmake" -B "$work/cmake-static" -DCMAKE_PREFIX_PATH="$prefix" -DDIGIT_LINK_STATIC=ON \
  >"$work/cmake-static.log" 2>&1 && cmake --build "$work/cmake-static" >>"$work/cmake-static.log" 2>&1 \
  || { cat "$work/cmake-static.log" >&2; fail "CMake example, static"; }
if ldd "$work/cmake-static/classify_digit" | grep -q libdigit; then fail "the static build links libdigit.so"; fi
run "$work/cmake-static/classify_digit" "$prefix/share/libdigit/$model" seven.png >/dev/null \
  || fail "CMake example, static"

step "pkg-config against the moved prefix"
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs digit)
[[ $flags == *"-I$prefix/"* && $flags == *"-L$prefix/"* ]] || fail "pkg-config flags: $flags"
# shellcheck disable=SC2086  # the flags are words
cc -o pc-example "$repo/examples/cmake/classify_digit.c" $flags -Wl,-rpath,"$prefix/lib"
run ./pc-example "$prefix/share/libdigit/$model" seven.png >/dev/null || fail "pkg-config build"

step "an unusable prefix fails first"
touch "$work/a-file"
if make -C "$repo" --no-print-directory install-lib PREFIX="$work/a-file/prefix" >"$work/bad.log" 2>&1; then
  fail "install into a path under a file succeeded"
fi
grep -q "$work/a-file is not a folder" "$work/bad.log" || fail "unclear message: $(cat "$work/bad.log")"

step "make uninstall"
make -C "$repo" --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -mindepth 1)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install test: OK"
