#!/usr/bin/env bash
# Runs every test: C (unit, gradient checks, end-to-end training, the
# installed example), Swift (Digit module and digitc end to end) and
# Python (ctypes binding). Installs what is missing and fetches MNIST first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export DIGIT_DATA="${DIGIT_DATA:-$(python3 scripts/fetch_mnist.py --quiet)}"

echo "== C library and tests"
make -j"$(nproc)" all
make test

echo "== Swift package"
swift build
swift test
export DIGITC="$PWD/.build/debug/digitc"

echo "== Python binding"
python3 -m pytest -q python/tests
