#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Load a model that `digitc train` wrote, describe it and evaluate it.

    python3 python/examples/load_cli_model.py MODEL.safetensors [--data DIR] [--limit N]

Model files are plain safetensors files, so a model trained by the Swift CLI
(or by C code, or by PyTorch) is used here unchanged.
"""

import argparse
import sys

import digit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", metavar="MODEL.safetensors")
    ap.add_argument("--data", help="folder with the MNIST IDX files")
    ap.add_argument("--limit", type=int, help="evaluate on the first N test images")
    args = ap.parse_args(argv)

    try:
        model = digit.Model.load(args.model)
    except digit.DigitError as e:
        print(f"load_cli_model: {e}", file=sys.stderr)
        return 2
    with model:
        print(model.summary(), end="")
        print("metadata:")
        for key, value in model.metadata.items():
            print(f"  {key} = {value}")
        if not model.metadata:
            print("  (none)")

        test = digit.Dataset.mnist(digit.mnist_dir(args.data), train=False)
        if args.limit:
            test = test[:args.limit]
        ev = model.evaluate(test)
        print(f"test set: {ev.count} images, accuracy {ev.accuracy:.2%}, loss {ev.loss:.4f}")
        print("confusion matrix (rows: true digit, columns: predicted):")
        print("      " + "".join(f"{d:6d}" for d in range(10)))
        for d, row in enumerate(ev.confusion):
            print(f"  {d:2d}  " + "".join(f"{n:6d}" for n in row))
        claimed = model.metadata.get("test_accuracy")
        if claimed is not None:
            print(f"(the file claims a test accuracy of {claimed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
