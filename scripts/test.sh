#!/usr/bin/env bash
# Runs every test: C (unit, gradient checks, end-to-end training, the
# installed example, fuzz regressions; again under ASan/UBSan/LSan and
# TSan), Swift (Digit module and digitc end to end, crash-safe training,
# digitc on the fuzz corpora), Python (ctypes binding) and the HTTP server
# (its API against docs/openapi.json, its page in headless Chromium).
# Installs what is missing and fetches MNIST first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export DIGIT_DATA="${DIGIT_DATA:-$(python3 scripts/fetch_mnist.py --quiet)}"

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

echo "== Python binding"
python3 -m pytest -q python/tests

echo "== digitc-serve: HTTP API and the page in headless Chromium"
python3 -m pytest -q tests/server
