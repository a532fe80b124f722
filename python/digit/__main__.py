# SPDX-License-Identifier: MIT
"""The package's command line.

    python -m digit classify IMAGE... [--model FILE] [--json]
    python -m digit fetch [--dir DIR] [--quiet]

classify prints one line per picture ("IMAGE: DIGIT (NN.N% confident)"),
with the shipped model unless --model or $DIGIT_MODEL names another. fetch
downloads MNIST (see digit.fetch). Exit status: 0, 1 for usage errors, 2
when an input (image, model, data) is bad, as digitc does.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from . import fetch
from .errors import DigitError
from .model import Model, default_model_path


def classify(args: argparse.Namespace) -> int:
    try:
        model = Model.load(args.model) if args.model else Model.load(default_model_path())
    except DigitError as e:
        print(f"digit: {e}", file=sys.stderr)
        return 2
    failed = 0
    with model:
        for image in args.images:
            try:
                probs = model.predict(image)
            except DigitError as e:
                print(f"digit: {e}", file=sys.stderr)
                failed += 1
                continue
            d = int(probs.argmax())
            if args.json:
                print(json.dumps({"file": image, "digit": d,
                                  "probabilities": [float(p) for p in probs]}))
            else:
                print(f"{image}: {d} ({probs[d]:.1%} confident)")
    return 2 if failed else 0


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digit",
                                 description="libdigit from the command line.")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("classify", help="the digit in each PNG")
    c.add_argument("images", nargs="+", metavar="IMAGE.png")
    c.add_argument("--model", help="safetensors model (default: $DIGIT_MODEL, "
                   "else the shipped one)")
    c.add_argument("--json", action="store_true", help="one JSON object per image")
    f = sub.add_parser("fetch", help="download MNIST (four verified IDX files)")
    f.add_argument("--dir", help="target folder (default: $DIGIT_DATA, else the "
                   "per-user cache)")
    f.add_argument("--quiet", action="store_true", help="print only errors")
    args = ap.parse_args(argv)
    if args.command == "fetch":
        return fetch.main((["--dir", args.dir] if args.dir else [])
                          + (["--quiet"] if args.quiet else []))
    return classify(args)


if __name__ == "__main__":
    sys.exit(main())
