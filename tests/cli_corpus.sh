#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No input in the fuzz corpora makes a digitc command crash: every file of
# fuzz/corpus/*/ and tests/data/fuzz-regressions/*/ (plus any folders given
# as arguments, e.g. build/fuzz/corpus-model after a fuzzing run) is fed to
#   digitc info --model FILE
#   digitc classify --model VALID FILE
#   digitc evaluate --model VALID --data DIR   (FILE as the test images with
#       valid labels; and, for IDX fuzz inputs, the image and label files
#       they hold, split the way fuzz/fuzz_idx.c splits them)
# and each must exit with 0, 1 or 2, printing a message on stderr when it
# fails: never a signal, never a silent failure.
#
# Environment: DIGITC (default .build/debug/digitc).
set -euo pipefail
cd "$(dirname "$0")/.."

digitc="${DIGITC:-$PWD/.build/debug/digitc}"
[ -x "$digitc" ] || { echo "cli_corpus: no digitc at $digitc (swift build first)" >&2; exit 1; }
valid=fuzz/corpus/model/compact.safetensors

work="$(mktemp -d "${TMPDIR:-/tmp}/digit-cli-corpus-XXXXXX")"
trap 'rm -rf "$work"' EXIT
export DIGIT_FETCH_SCRIPT=/bin/false  # never download anything here
unset DIGIT_MODEL

runs=0 failures=0 ok=0 refused=0
# run LABEL COMMAND...: the command must end with 0, 1 or 2, and say why
# when it is not 0.
run() {
  local label="$1" status=0
  shift
  "$@" >"$work/out" 2>"$work/err" </dev/null || status=$?
  runs=$((runs + 1))
  case "$status" in 0) ok=$((ok + 1)) ;; 1 | 2) refused=$((refused + 1)) ;; esac
  if [ "$status" -gt 2 ]; then
    failures=$((failures + 1))
    echo "cli_corpus: FAIL: $label: exit status $status$([ "$status" -gt 128 ] && echo " (signal $((status - 128)))")" >&2
    tail -5 "$work/err" >&2
  elif [ "$status" -ne 0 ] && [ ! -s "$work/err" ]; then
    failures=$((failures + 1))
    echo "cli_corpus: FAIL: $label: exit status $status without a message" >&2
  fi
}

# A data folder for evaluate: the test files as given, placeholders for the
# training files (evaluate never reads them, but their absence would make
# digitc try to fetch MNIST).
data_dir() {
  rm -rf "$work/data" && mkdir -p "$work/data"
  : >"$work/data/train-images-idx3-ubyte"
  : >"$work/data/train-labels-idx1-ubyte"
  cp "$1" "$work/data/t10k-images-idx3-ubyte"
  cp "$2" "$work/data/t10k-labels-idx1-ubyte"
}

# Three valid labels, for files used as the test images.
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03' >"$work/labels3"

files=()
for dir in fuzz/corpus/* tests/data/fuzz-regressions/* "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -maxdepth 1 -type f -print0 | sort -z)
done
[ "${#files[@]}" -gt 0 ] || { echo "cli_corpus: no corpus files found" >&2; exit 1; }

for f in "${files[@]}"; do
  run "info --model $f" "$digitc" info --model "$f"
  run "classify $f" "$digitc" classify --model "$valid" -- "$f"
  data_dir "$f" "$work/labels3"
  run "evaluate with $f as images" "$digitc" evaluate --model "$valid" --data "$work/data"
  case "$f" in
  */idx/* | */corpus-idx/*)
    # The harness's layout: mode byte, image part length, image part, label part.
    python3 - "$f" "$work/img" "$work/lab" <<'EOF'
import gzip, struct, sys
blob = open(sys.argv[1], "rb").read()
if len(blob) < 5:
    blob = b"\0" * 5
mode, split = blob[0], struct.unpack("<I", blob[1:5])[0]
rest = blob[5:]
cut = split % (len(rest) + 1)
parts = [rest[:cut], rest[cut:]]
for i, (part, path) in enumerate(zip(parts, sys.argv[2:])):
    open(path, "wb").write(gzip.compress(part) if mode >> i & 1 else part)
EOF
    data_dir "$work/img" "$work/lab"
    run "evaluate $f" "$digitc" evaluate --model "$valid" --data "$work/data"
    ;;
  esac
done
echo "cli_corpus: ${#files[@]} inputs, $runs digitc runs: $ok succeeded, $refused refused" \
  "the input (exit 1 or 2), $failures failures"
[ "$failures" -eq 0 ]
