# SPDX-License-Identifier: MIT
"""Scores models on other writers' digits: the UCI handwritten digits that
scikit-learn ships (`sklearn.datasets.load_digits`: 1,797 digits by 43
writers who are not MNIST's, 8x8 with 17 grey levels).

Each digit becomes what a user would hand to `digitc classify`: upscaled to
64x64, black ink on white paper, saved as a PNG file, then read back with
`digit.load_image` (the same preprocessing as the CLI and the server).

    build/venv/bin/pip install scikit-learn     # once; not a test dependency
    python bench/other_writers.py models/digit-basic.safetensors other.safetensors
    python bench/other_writers.py --export build/uci-train --range 0:900
    python bench/other_writers.py --range 900:1797 mine.safetensors

--export DIR writes the chosen digits as an ImageFolder tree (DIR/0/...,
DIR/9/...) for `digitc train --from MODEL --images DIR` instead of scoring.
--range A:B picks digits A..B-1 (the data set's own order, which mixes the
writers), so that a fine-tuned model can be scored on digits it has not seen.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import digit  # noqa: E402

SIDE = 64


def uci_digits(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("other_writers: needs scikit-learn (pip install scikit-learn)")
    data = load_digits()
    return data.images[first:last], data.target[first:last]


def as_paper(image8: np.ndarray, resample: str):
    """An 8x8 digit (0 = paper .. 16 = ink) as a 64x64 black-on-white picture."""
    from PIL import Image

    gray = (255 - np.asarray(image8) * 255.0 / 16.0).round().astype(np.uint8)
    method = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST,
              "bicubic": Image.BICUBIC}[resample]
    return Image.fromarray(gray).resize((SIDE, SIDE), method)


def write_pictures(images: np.ndarray, labels: np.ndarray, root: Path,
                   resample: str, offset: int) -> list[Path]:
    paths = []
    for i, (image8, label) in enumerate(zip(images, labels)):
        path = root / str(int(label)) / f"uci-{offset + i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        as_paper(image8, resample).save(path)
        paths.append(path)
    return paths


def score(model_path: str, inputs: np.ndarray, labels: np.ndarray) -> dict:
    model = digit.Model.load(model_path)
    start = time.perf_counter()
    got = np.asarray(model.classify(inputs))
    seconds = time.perf_counter() - start
    per_digit = [float(np.mean(got[labels == d] == d)) if np.any(labels == d) else float("nan")
                 for d in range(10)]
    return {"model": model_path, "arch": model.arch, "accuracy": float(np.mean(got == labels)),
            "per_digit": per_digit, "ms_per_image": 1000.0 * seconds / len(labels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", help="model files (default: the shipped default)")
    ap.add_argument("--range", default="0:1797", help="digits A:B of the 1,797 (default: all)")
    ap.add_argument("--resample", default="bilinear", choices=["bilinear", "nearest", "bicubic"],
                    help="how 8x8 becomes 64x64 (default: bilinear)")
    ap.add_argument("--export", metavar="DIR", help="write an ImageFolder tree instead of scoring")
    args = ap.parse_args()
    first, last = (int(x) for x in args.range.split(":"))
    images, labels = uci_digits(first, last)
    if args.export:
        paths = write_pictures(images, labels, Path(args.export), args.resample, first)
        print(f"wrote {len(paths)} pictures under {args.export}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_pictures(images, labels, Path(tmp), args.resample, first)
        inputs = np.stack([digit.load_image(p) for p in paths])
    print(f"other writers: UCI digits {first}..{last - 1} ({len(labels)}), "
          f"{SIDE}x{SIDE} PNG, {args.resample}")
    for model_path in args.models or [str(digit.default_model_path())]:
        r = score(model_path, inputs, labels)
        digits = " ".join(f"{d}:{100 * a:.0f}" for d, a in enumerate(r["per_digit"]))
        print(f"{r['model']} ({r['arch']}): {100 * r['accuracy']:.2f}%  [{digits}]")


if __name__ == "__main__":
    main()
