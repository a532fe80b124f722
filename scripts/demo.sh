#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, from a fresh clone: install what is missing, fetch MNIST,
# build digitc, train the compact network for its full 10-epoch schedule,
# evaluate it (with a picture of its mistakes), and classify sample
# drawings with it and with the shipped model. Outputs go to build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
source scripts/venv.sh
export PATH="$DIGIT_VENV/bin:$PATH"  # digitc fetch runs python3: the venv's
echo "== building digitc (release)"
swift build -c release
digitc=.build/release/digitc
out=build/demo
mkdir -p "$out"

echo "== fetching MNIST"
export DIGIT_DATA="${DIGIT_DATA:-$("$digitc" fetch)}"

echo "== training compact (10 epochs, learning rate x0.01 after epochs 5 and 8)"
"$digitc" train --arch compact --output "$out/compact.safetensors"

echo "== evaluating"
"$digitc" evaluate --model "$out/compact.safetensors" --errors "$out/errors.png"

echo "== classifying samples/ with the model just trained, then the shipped one"
"$digitc" classify --model "$out/compact.safetensors" samples/*.png
"$digitc" classify samples/*.png
echo "outputs in $out/: the model, its metrics (.csv, .json), chart (.svg), errors.png"
