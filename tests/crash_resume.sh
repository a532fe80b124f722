#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash-safe training, end to end through digitc:
#   1. train without interruption;
#   2. train the same run again and kill it with SIGKILL in the middle of
#      epoch 2, after epoch 1's checkpoint was written (no chance to save
#      anything: a power cut, the OOM killer);
#   3. resume it from that checkpoint with --resume;
#   4. the resumed run's model must equal the uninterrupted one bit for bit
#      (tests/compare_models.py: every tensor, and the metadata other than
#      trained_at/trained_with).
# Then the same with SIGINT in the middle of epoch 2, which writes a
# mid-epoch checkpoint (exit status 130) to resume from.
#
# Environment: DIGITC (default .build/debug/digitc), DIGIT_DATA (MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."

digitc="${DIGITC:-$PWD/.build/debug/digitc}"
data="${DIGIT_DATA:?set DIGIT_DATA to a folder holding MNIST}"
[ -x "$digitc" ] || { echo "crash_resume: no digitc at $digitc (swift build first)" >&2; exit 1; }

root="$(mktemp -d "${TMPDIR:-/tmp}/digit-crash-resume-XXXXXX")"
trap 'rm -rf "$root"' EXIT
export DIGIT_FETCH_SCRIPT=/bin/false  # never download anything here

# Each architecture's scenario: limit, batch size (batches = limit / batch).
# strong and speedrun also carry batch-norm buffers, dropout, augmentation
# and a one-cycle schedule through the checkpoint.
archs="${CRASH_RESUME_ARCHS:-compact strong speedrun}"

fail() { echo "crash_resume: FAIL: $*" >&2; exit 1; }

# Starts a run in $work/$1, waits until it has trained at least $3 batches
# of epoch 2, sends it signal $2 and checks how it ended: $4 is the exit
# status expected.
interrupt() {
  local dir="$work/$1" sig="$2" after="$3" want="$4"
  "$digitc" "${args[@]}" --output "$dir/model.safetensors" >"$dir.out" 2>"$dir.log" &
  local pid=$! t=0 status=0
  until grep -Eq "^epoch 2 batch ([0-9]+)/" "$dir.log" 2>/dev/null &&
        [ "$(grep -Eo '^epoch 2 batch [0-9]+' "$dir.log" | tail -1 | grep -Eo '[0-9]+$')" -ge "$after" ]; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
    t=$((t + 1))
    [ "$t" -lt 15000 ] || { kill -9 "$pid"; fail "$1: epoch 2 never started"; }
  done
  kill -"$sig" "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || status=$?  # (no "Killed" line from bash)
  [ "$status" -ne 0 ] || fail "$1: the run finished before the signal; nothing was interrupted"
  [ "$status" -eq "$want" ] || { cat "$dir.log" >&2; fail "$1: exit status $status, expected $want"; }
  local last
  last="$(grep -Eo '^epoch 2 batch [0-9]+' "$dir.log" | tail -1 | grep -Eo '[0-9]+$')"
  [ "$last" -lt "$batches" ] || fail "$1: epoch 2 had already ended (batch $last)"
  [ -f "$dir/model.checkpoint.safetensors" ] || fail "$1: no checkpoint"
  [ ! -e "$dir/model.safetensors" ] || fail "$1: a model file exists although the run never ended"
  echo "crash_resume: $1: signal $sig after batch $last/$batches of epoch 2, exit status $status"
}

# Resumes the run in $work/$1 and compares its model with the full run's.
resume_and_compare() {
  local dir="$work/$1"
  # Leftover temporaries (a kill during a checkpoint write) are harmless: the
  # checkpoint is replaced by rename, never written in place.
  "$digitc" "${args[@]}" --output "$dir/model.safetensors" \
    --resume "$dir/model.checkpoint.safetensors" >"$dir.resume.out" 2>"$dir.resume.log" ||
    { cat "$dir.resume.log" >&2; fail "$1: the resumed run failed"; }
  python3 tests/compare_models.py "$work/full/model.safetensors" "$dir/model.safetensors" ||
    fail "$1: the resumed model differs from the uninterrupted one"
  echo "crash_resume: $1: resumed model is identical to the uninterrupted one"
}

scenario() {
  local arch="$1" limit="$2" batch="$3"
  args=(train --arch "$arch" --limit "$limit" --epochs 2 --batch-size "$batch" --threads 2 --seed 3
        --data "$data" --log-every 1)
  batches=$(( (limit + batch - 1) / batch ))
  work="$root/$arch"
  mkdir -p "$work/killed" "$work/interrupted"
  echo "crash_resume: $arch: uninterrupted run"
  "$digitc" "${args[@]}" --output "$work/full/model.safetensors" >"$work/full.out" 2>"$work/full.log" ||
    { cat "$work/full.log" >&2; fail "$arch: the uninterrupted run failed"; }
  interrupt killed KILL 5 137
# The checkpoint a SIGKILL leaves behind is epoch 1's, whole.
grep -aq '"checkpoint.epoch":"1","checkpoint.batch":"0"' "$work/killed/model.checkpoint.safetensors" ||
  fail "killed: the checkpoint is not the end of epoch 1"
resume_and_compare killed

interrupt interrupted INT 20 130
grep -aq '"checkpoint.epoch":"1","checkpoint.batch":"' "$work/interrupted/model.checkpoint.safetensors" ||
  fail "interrupted: the checkpoint is not inside epoch 2"
grep -q "resume with:" "$work/interrupted.log" || fail "interrupted: no resume command printed"
resume_and_compare interrupted
}

for arch in $archs; do
  case "$arch" in
    compact) scenario compact 2000 32 ;;   # 63 batches an epoch
    strong) scenario strong 1600 64 ;;     # 25
    speedrun) scenario speedrun 3200 128 ;; # 25
    *) fail "no scenario for architecture '$arch'" ;;
  esac
done
echo "crash_resume: passed"
