#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ABI check: compares the shared library just built with the baseline
# committed from the release that started the current major version
# (abi/libdigit.abi, written by `make abi-baseline`).
#
#   scripts/abi_check.sh check LIB     fail on any ABI difference
#   scripts/abi_check.sh baseline LIB  rewrite the baseline from LIB
#
# Policy (see README, "ABI"):
#   - added functions are fine (libabigail's --no-added-syms);
#   - anything else that differs — a removed function, a changed signature,
#     a struct member changed, moved or appended — fails, unless the soname
#     moved (a new major version), in which case the baseline is stale and
#     the check says so and passes;
#   - an intended compatible change (a member appended to a sized struct)
#     lands together with a new baseline and a minor version bump, so that
#     every ABI change is a reviewed diff of abi/libdigit.abi.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: abi_check.sh check|baseline LIB}
lib=${2:?usage: abi_check.sh check|baseline LIB}
baseline=abi/libdigit.abi

command -v abidiff >/dev/null || { echo "abi check: abidiff not found (Debian package abigail-tools)" >&2; exit 1; }
[ -f "$lib" ] || { echo "abi check: $lib: no such file (run make first)" >&2; exit 1; }

soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }

if [ "$mode" = baseline ]; then
  mkdir -p abi
  abidw --headers-dir include --no-corpus-path "$lib" > "$baseline.tmp"
  mv "$baseline.tmp" "$baseline"
  echo "abi check: wrote $baseline for $(soname "$lib")"
  exit 0
fi

[ "$mode" = check ] || { echo "abi check: unknown mode '$mode'" >&2; exit 2; }
[ -f "$baseline" ] || { echo "abi check: $baseline is missing; run make abi-baseline" >&2; exit 1; }

built=$(soname "$lib")
base=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$baseline" | head -1)
if [ "$built" != "$base" ]; then
  echo "abi check: soname moved from $base to $built: a new major version;"
  echo "abi check: refresh the baseline with make abi-baseline"
  exit 0
fi

status=0
report=$(abidiff --no-added-syms --headers-dir2 include "$baseline" "$lib") || status=$?
if [ "$status" -ne 0 ]; then
  echo "$report"
  if (( status & 8 )); then
    echo "abi check: FAILED: $lib breaks the ABI of $base (incompatible change); move the major version or undo it" >&2
  else
    echo "abi check: FAILED: $lib changes the ABI of $base; if the change is an intended compatible one" >&2
    echo "abi check: (a member appended to a sized struct), bump DIGIT_VERSION_MINOR and run make abi-baseline" >&2
  fi
  exit 1
fi
echo "abi check: $lib keeps the ABI of $base (added functions allowed)"
