#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Train a libdigit model on MNIST for a little while, printing progress.

    python3 python/examples/train.py [--data DIR] [--arch basic] [--epochs 1]
                                     [--limit N] [--save FILE] [--plot FILE]

--data defaults to $DIGIT_DATA, else what scripts/fetch_mnist.py fetches.
--limit trains on the first N training images only (quick experiments).
--plot draws the loss curve with matplotlib, when it is installed.
Ctrl-C stops training cleanly after the current batch.
"""

import argparse
import sys
import time

import digit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder with the MNIST IDX files")
    ap.add_argument("--arch", default="basic", choices=digit.presets())
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, help="use only the first N training images")
    ap.add_argument("--test-limit", type=int, help="evaluate on the first N test images")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--save", metavar="FILE", help="write the trained model here")
    ap.add_argument("--plot", metavar="FILE", help="save a loss plot (needs matplotlib)")
    ap.add_argument("--every", type=int, default=100, help="print every N batches")
    args = ap.parse_args(argv)

    data = digit.mnist_dir(args.data)
    train = digit.Dataset.mnist(data, train=True)
    test = digit.Dataset.mnist(data, train=False)
    if args.limit:
        train = train[:args.limit]
    if args.test_limit:
        test = test[:args.test_limit]
    print(f"training {args.arch} on {len(train)} images, testing on {len(test)} "
          f"(libdigit {digit.version()})")

    losses = []

    def on_batch(p: digit.BatchProgress):
        losses.append(p.loss)
        if p.batch % args.every == 0 or p.batch == p.batches_per_epoch:
            print(f"  epoch {p.epoch} batch {p.batch:4d}/{p.batches_per_epoch} "
                  f"loss {p.loss:.4f} lr {p.learning_rate:g}", flush=True)

    def on_epoch(p: digit.EpochProgress):
        print(f"epoch {p.epoch}/{p.epochs}: train loss {p.train_loss:.4f}, test loss "
              f"{p.test_loss:.4f}, test accuracy {p.test_accuracy:.2%} ({p.seconds:.1f} s)",
              flush=True)

    options = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr))
               if v is not None}
    start = time.monotonic()
    with digit.Model(args.arch, seed=args.seed) as model:
        try:
            model.train(train, test, epochs=args.epochs, seed=args.seed,
                        threads=args.threads, on_batch=on_batch, on_epoch=on_epoch,
                        **options)
        except KeyboardInterrupt:
            print("interrupted: keeping the weights reached so far")
        ev = model.evaluate(test)
        print(f"done in {time.monotonic() - start:.1f} s: test accuracy {ev.accuracy:.2%}, "
              f"loss {ev.loss:.4f}")
        if args.save:
            model.metadata["trained_with"] = "python/examples/train.py"
            model.metadata["test_accuracy"] = f"{ev.accuracy:.4f}"
            model.save(args.save)
            print(f"saved {args.save}")

    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed; no plot", file=sys.stderr)
        else:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.plot(losses, lw=0.8)
            ax.set_xlabel("batch")
            ax.set_ylabel("training loss")
            ax.set_yscale("log")
            fig.tight_layout()
            fig.savefig(args.plot)
            print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
