#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Classify PNG pictures of handwritten digits with a libdigit model.

    python3 python/examples/classify.py seven.png [more.png ...] [--model FILE]

The model defaults to $DIGIT_MODEL, else the shipped one (digit.default_model_path()).
Each picture may be any PNG (colour, either polarity, any size): libdigit
crops, scales and centres the ink the way MNIST was prepared.
"""

import argparse
import sys
from pathlib import Path

import digit



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="+", metavar="IMAGE.png")
    ap.add_argument("--model", help="safetensors model file (default: $DIGIT_MODEL, "
                    "else the shipped model)")
    ap.add_argument("--all", action="store_true", help="also print every probability")
    args = ap.parse_args(argv)

    try:
        model_path = Path(args.model) if args.model else digit.default_model_path()
    except digit.DigitFileNotFoundError as e:
        print(f"classify: {e}", file=sys.stderr)
        return 2
    if not model_path.is_file():
        print(f"classify: no model at {model_path}; pass --model FILE, set DIGIT_MODEL, "
              "or make one with `digitc train` or python/examples/train.py --save FILE",
              file=sys.stderr)
        return 2

    failed = 0
    try:
        model = digit.Model.load(model_path)
    except digit.DigitError as e:
        print(f"classify: {e}", file=sys.stderr)
        return 2
    with model:
        for image in args.images:
            try:
                d, probs = model.classify_image(image)
            except digit.DigitError as e:
                print(f"classify: {e}", file=sys.stderr)
                failed += 1
                continue
            print(f"{image}: {d} ({probs[d]:.1%} confident)")
            if args.all:
                print("  " + "  ".join(f"{k}:{p:.4f}" for k, p in enumerate(probs)))
    return 2 if failed else 0  # as digitc: 2 for input errors


if __name__ == "__main__":
    sys.exit(main())
