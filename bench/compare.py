#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs libdigit's benchmark and PyTorch's side by side on this machine and
prints each target of BENCHMARKS.md as a ratio, in one run.

    python3 bench/compare.py [--data DIR] [--threads 2] [--batches 300]

Needs `make` (build/digit-bench), `swift build -c release` (for the memory
of `digitc train`), and torch. OPENBLAS_CORETYPE is passed through as it is
set: unset it (`env -u OPENBLAS_CORETYPE ...`) to measure what a user's
machine does by default.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_json(cmd, path):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(Path(path).read_text())


def peak_rss_mb(cmd):
    """Peak resident memory of one child process, in MB (wait4's rusage is
    that process's own, unlike RUSAGE_CHILDREN's running maximum)."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"compare: {cmd[0]} exited {proc.returncode}")
    return usage.ru_maxrss / 1024


def median_of(results):
    """Each numeric figure's median over the rounds' results."""
    out = dict(results[0])
    for key, value in results[0].items():
        if isinstance(value, dict):
            out[key] = {k: statistics.median(r[key][k] for r in results) for k in value}
        elif isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in results)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("DIGIT_DATA"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the two benchmarks this many times; figures are medians")
    ap.add_argument("--memory-batches", type=int, default=300,
                    help="training batches for the peak-memory runs")
    args = ap.parse_args()
    if not args.data:
        sys.exit("compare: give --data DIR or set DIGIT_DATA")
    tmp = Path(tempfile.mkdtemp(prefix="digit-compare-"))
    # Rounds alternate the two sides so that a slow spell of the machine (a
    # shared VM's vCPU stalled by its host) hits both alike.
    rounds = []
    for r in range(args.rounds):
        ours = run_json([REPO / "build/digit-bench", "--data", args.data, "--threads",
                         str(args.threads), "--batches", str(args.batches), "--json",
                         tmp / f"ours{r}.json"], tmp / f"ours{r}.json")
        torch = run_json([sys.executable, REPO / "bench/pytorch_bench.py", "--data",
                          args.data, "--threads", str(args.threads), "--batches",
                          str(args.batches), "--json", tmp / f"torch{r}.json"],
                         tmp / f"torch{r}.json")
        rounds.append((ours, torch))
    ours, torch = median_of([o for o, _ in rounds]), median_of([t for _, t in rounds])
    digitc = REPO / ".build/release/digitc"
    rss = {}
    for arch in ("basic", "compact"):
        limit = str(args.memory_batches * 64)
        # Peak memory of a training run with per-epoch evaluation, both sides.
        rss[arch] = (
            peak_rss_mb([digitc, "train", "--arch", arch, "--epochs", "1", "--limit", limit,
                         "--threads", str(args.threads), "--data", args.data,
                         "--output", tmp / f"{arch}.safetensors"]),
            peak_rss_mb([sys.executable, REPO / "bench/pytorch_bench.py", "--data", args.data,
                         "--threads", str(args.threads), "--arch", arch,
                         "--memory-run", str(args.memory_batches)]))

    print(f"\nmedians of {args.rounds} alternating rounds; {args.threads} threads, batch 64, "
          f"OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, torch {torch['torch']}\n")
    print("| figure | arch | libdigit | PyTorch | ratio | target |")
    print("|---|---|---|---|---|---|")
    for arch in ("basic", "compact"):
        o, t = ours[arch], torch[arch]
        train_target = "≤ 0.33" if arch == "basic" else "≤ 0.25"
        rows = [
            ("training, s/epoch (median batch × 938)", o["train_s_per_epoch"],
             t["train_s_per_epoch"], "{:.2f}", train_target),
            ("inference, img/s at batch 1000", o["infer_img_per_s"], t["infer_img_per_s"],
             "{:.0f}", "≥ 5"),
            ("single-image latency p50, µs", o["latency_p50_us"], t["latency_p50_us"],
             "{:.0f}", "≤ 0.25"),
            ("single-image latency p90, µs", o["latency_p90_us"], t["latency_p90_us"],
             "{:.0f}", ""),
            ("peak memory of a training run, MB", rss[arch][0], rss[arch][1], "{:.0f}",
             "≤ 0.25"),
        ]
        for name, a, b, fmt, target in rows:
            print(f"| {name} | {arch} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f} | {target} |")
    print(f"\nlibdigit training GFLOP/s: basic {ours['basic']['train_gflops']:.1f}, "
          f"compact {ours['compact']['train_gflops']:.1f}; OpenBLAS sgemm 1024^3 "
          f"{ours['sgemm_gflops_per_thread']:.1f} GFLOP/s per thread")


if __name__ == "__main__":
    main()
