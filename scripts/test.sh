#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test: C (unit, gradient checks, end-to-end training, the
# installed example, fuzz regressions; again under ASan/UBSan/LSan and
# TSan), Swift (Digit module and digitc end to end, crash-safe training,
# digitc on the fuzz corpora), an installed copy used from outside the
# checkout (tests/install.sh: digitc, pkg-config, CMake), Python (the
# package, its wheel, mypy) and the HTTP server (its API against
# docs/openapi.json, its page in headless Chromium). Installs what is missing and fetches MNIST
# first. Python runs in build/venv (scripts/venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
source scripts/venv.sh
export DIGIT_DATA="${DIGIT_DATA:-$("$PY" scripts/fetch_mnist.py --quiet)}"

echo "== layout and ABI"
# No two tracked paths may differ only in case: on a case-insensitive file
# system (macOS's default) they would be one.
clash=$(git ls-files | sort -f | uniq -Di)
if [ -n "$clash" ]; then echo "paths that differ only in case:"; echo "$clash"; exit 1; fi
make -j"$(nproc)" abi-check

echo "== C library and tests"
make -j"$(nproc)" all
make test

# The same C tests under AddressSanitizer + UBSan + LeakSanitizer (clang
# from the Swift toolchain), and the threads test under ThreadSanitizer.
echo "== C sanitizers"
make asan-test
make tsan-test

echo "== Swift package"
swift build
swift test
export DIGITC="$PWD/.build/debug/digitc"

echo "== digitc: crash-safe training, fuzz corpora"
bash tests/crash_resume.sh
bash tests/cli_corpus.sh

echo "== installed copy, used from outside the checkout"
bash tests/install.sh

echo "== Python package"
"$PY" -m pytest -q python/tests
(cd python && "$PY" -m mypy)

echo "== digitc-serve: HTTP API and the page in headless Chromium"
"$PY" -m pytest -q tests/server
