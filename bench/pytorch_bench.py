#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch side of libdigit's benchmark: the `basic` and `compact`
architectures trained and run the same way `digitc bench` does, so the two
can be compared on one machine.

    python3 bench/pytorch_bench.py --data DIR [--threads 2] [--batches 300]
                                   [--json FILE]

Needs torch (CPU build), numpy and the digit package (installed, e.g.
`pip install ./python`, or PYTHONPATH=python); reads MNIST IDX files from
DIR (as `scripts/fetch_mnist.py` writes them). Prints a table and, with --json,
writes the figures for BENCHMARKS.md.
"""
import argparse
import json
import os
import resource
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

from digit.torch import NETS, NORMALISATION


# The models are the package's (python/digit/torch.py), the one definition
# shared with the examples and tests; normalisation as libdigit's.
ARCHS = {name: (net, *NORMALISATION[name]) for name, net in NETS.items()}


def read_idx(path, rank):
    with open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data_dir, train):
    stem = "train" if train else "t10k"
    x = read_idx(os.path.join(data_dir, f"{stem}-images-idx3-ubyte"), 3)
    y = read_idx(os.path.join(data_dir, f"{stem}-labels-idx1-ubyte"), 1)
    return x, y


def normalised(x, mean, std):
    return ((torch.from_numpy(x.astype(np.float32)) / 255.0 - mean) / std).unsqueeze(1)


def bench_train(arch, x, y, batches, batch_size):
    """Median seconds per batch of Adam training over `batches` batches."""
    cls, mean, std = ARCHS[arch]
    torch.manual_seed(1)
    model = cls()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    xs, ys = normalised(x, mean, std), torch.from_numpy(y.astype(np.int64))
    perm = torch.randperm(len(xs))
    times = []
    for b in range(batches + 20):
        idx = perm[(b * batch_size) % (len(xs) - batch_size):][:batch_size]
        start = time.perf_counter()
        opt.zero_grad()
        out = model(xs[idx])
        loss = F.nll_loss(out, ys[idx]) if arch == "basic" else F.cross_entropy(out, ys[idx])
        loss.backward()
        opt.step()
        if b >= 20:  # warm-up excluded
            times.append(time.perf_counter() - start)
    return statistics.median(times), model


def bench_infer(model, arch, x):
    _, mean, std = ARCHS[arch]
    xs = normalised(x, mean, std)
    model.eval()
    with torch.no_grad():
        for i in range(0, 2000, 1000):
            model(xs[i:i + 1000])
        start = time.perf_counter()
        for i in range(0, len(xs), 1000):
            model(xs[i:i + 1000])
        rate = len(xs) / (time.perf_counter() - start)
        lat = []
        for i in range(1100):
            t = time.perf_counter()
            model(xs[i:i + 1])
            if i >= 100:
                lat.append(time.perf_counter() - t)
    lat.sort()
    return rate, statistics.median(lat), lat[int(0.9 * len(lat))]


def memory_run(args):
    """A training run as the tutorials write it, for its peak memory."""
    arch = (args.arch or ["basic"])[0]
    cls, mean, std = ARCHS[arch]
    x, y = load(args.data, True)
    xt, _ = load(args.data, False)
    torch.manual_seed(1)
    model = cls()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    data = torch.utils.data.TensorDataset(normalised(x, mean, std), torch.from_numpy(y.astype(np.int64)))
    for i, (xb, yb) in enumerate(torch.utils.data.DataLoader(data, batch_size=args.batch_size,
                                                             shuffle=True)):
        if i == args.memory_run:
            break
        opt.zero_grad()
        out = model(xb)
        (F.nll_loss(out, yb) if arch == "basic" else F.cross_entropy(out, yb)).backward()
        opt.step()
    with torch.no_grad():
        xs = normalised(xt, mean, std)
        for i in range(0, len(xs), 1000):
            model(xs[i:i + 1000])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("DIGIT_DATA"), required=not os.environ.get("DIGIT_DATA"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--arch", choices=sorted(ARCHS), action="append")
    ap.add_argument("--json")
    ap.add_argument("--memory-run", type=int, metavar="BATCHES",
                    help="instead: train one preset (--arch) for BATCHES batches through a "
                         "DataLoader and evaluate in batches of 1000, for peak memory")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_run:
        return memory_run(args)
    xtr, ytr = load(args.data, True)
    xte, _ = load(args.data, False)
    results = {"torch": torch.__version__, "threads": args.threads, "batch_size": args.batch_size}
    print(f"PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch_size}")
    print(f"{'arch':8} {'s/batch':>9} {'s/epoch':>8} {'img/s':>8} {'infer img/s':>12} {'lat p50 us':>11} {'lat p90 us':>11}")
    for arch in args.arch or ["basic", "compact"]:
        per_batch, model = bench_train(arch, xtr, ytr, args.batches, args.batch_size)
        epoch = per_batch * len(xtr) / args.batch_size
        rate, p50, p90 = bench_infer(model, arch, xte)
        results[arch] = {"train_s_per_batch": per_batch, "train_s_per_epoch": epoch,
                         "train_img_per_s": args.batch_size / per_batch,
                         "infer_img_per_s": rate, "latency_p50_us": p50 * 1e6,
                         "latency_p90_us": p90 * 1e6}
        print(f"{arch:8} {per_batch:9.4f} {epoch:8.2f} {args.batch_size / per_batch:8.0f} "
              f"{rate:12.0f} {p50 * 1e6:11.0f} {p90 * 1e6:11.0f}")
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
