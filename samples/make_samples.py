#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draws samples/digit-0.png ... digit-9.png: each digit the way a person
draws it in a paint program, to try `digitc classify` and the Python binding
on pictures that are not MNIST digits.

Each digit is one or two pen strokes (polylines and arcs in a unit box,
x to the right, y down, written in the order a hand moves), made a little
irregular like handwriting (a slant, a slight rotation and a smooth wobble),
and drawn with a round pen 12-18 px wide, antialiased, in black on a white
200x200 canvas, somewhat away from the centre. The random choices come from
a fixed seed per digit, so running this again writes the same files.

    python3 samples/make_samples.py [--out samples] [--seed 0]

Needs NumPy and libdigit (the checkout's python/digit package's save_png
writes the PNG files; build the library with `make -j2 all` first).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
import digit  # noqa: E402

CANVAS = 200


# ---- stroke shapes in a unit box ------------------------------------------

def arc(cx, cy, rx, ry, start, end, steps=72):
    """Points on an elliptical arc; angles in degrees, 0 = right, 90 = down
    (y grows downwards), going from start to end (either direction)."""
    t = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def line(*points):
    return list(points)


def shape(d):
    """The strokes of digit d: a list of point lists. Each stroke is listed
    in the order a pen would draw it; consecutive pieces join up."""
    if d == 0:
        # one loop, started at the top and closed with a small overlap
        return [arc(0.5, 0.5, 0.36, 0.49, -95, 280)]
    if d == 1:
        # a short up-stroke, then straight down
        return [line((0.3, 0.2), (0.58, 0.0), (0.55, 1.0))]
    if d == 2:
        # hook over the top, diagonal down to the left, a flat base
        return [arc(0.5, 0.3, 0.36, 0.28, 200, 380)
                + line((0.82, 0.42), (0.1, 1.0), (0.92, 0.98))]
    if d == 3:
        # two bowls open to the left, meeting in the middle
        return [arc(0.48, 0.26, 0.32, 0.24, 215, 450)
                + arc(0.48, 0.74, 0.36, 0.25, -90, 150)]
    if d == 4:
        # down-left slant, across, then the long upright
        return [line((0.55, 0.0), (0.06, 0.66), (0.94, 0.66)),
                line((0.7, 0.3), (0.7, 1.0))]
    if d == 5:
        # the upright, the belly, then the flag on top
        return [line((0.25, 0.02), (0.2, 0.45))
                + arc(0.46, 0.7, 0.37, 0.29, -120, 150),
                line((0.24, 0.02), (0.88, 0.0))]
    if d == 6:
        # from the top right down the left side into the bottom loop
        return [arc(0.62, 0.62, 0.48, 0.6, -80, -180) + arc(0.49, 0.72, 0.35, 0.27, 180, 530)]
    if d == 7:
        # the bar, then the long stroke down
        return [line((0.06, 0.04), (0.93, 0.02), (0.4, 1.0))]
    if d == 8:
        # one continuous figure of eight: S down, then back up
        pts = []
        for t in np.linspace(0, 2 * math.pi, 120):
            y = 0.5 - 0.5 * math.cos(t)
            half = 0.28 if y < 0.5 else 0.36
            pts.append((0.5 + half * math.sin(2 * t), y))
        pts.append(pts[1])
        return [pts]
    if d == 9:
        # the loop, counter-clockwise from its right side, then the tail
        return [arc(0.45, 0.28, 0.33, 0.27, 0, -360)
                + line((0.78, 0.28), (0.7, 1.0))]
    raise ValueError(d)


ASPECT = {0: 0.75, 1: 0.5, 2: 0.75, 3: 0.7, 4: 0.8, 5: 0.72, 6: 0.72, 7: 0.72, 8: 0.7, 9: 0.7}


# ---- a hand's irregularity and the pen ------------------------------------

def handwritten(strokes, rng, height, aspect, origin):
    """Unit-box strokes placed on the canvas: `height` px tall, slanted,
    slightly rotated and wobbled by a smooth random displacement."""
    slant = math.radians(rng.uniform(5, 15))      # to the right, as most hands
    turn = math.radians(rng.uniform(-5, 5))
    waves = [(rng.uniform(0.5, 1.2), rng.uniform(0, 2 * math.pi), rng.uniform(0.01, 0.02))
             for _ in range(2)]
    out = []
    for stroke in strokes:
        pts = []
        for x, y in stroke:
            # wobble: a slow wave along each axis
            dx = sum(a * math.sin(2 * math.pi * f * y + p) for f, p, a in waves)
            dy = sum(a * math.sin(2 * math.pi * f * x + p + 1.0) for f, p, a in waves)
            u = (x + dx - 0.5) * aspect * height
            v = (y + dy - 0.5) * height
            u -= v * math.tan(slant)
            u, v = (u * math.cos(turn) - v * math.sin(turn),
                    u * math.sin(turn) + v * math.cos(turn))
            pts.append((origin[0] + u, origin[1] + v))
        out.append(np.array(pts))
    return out


def draw(strokes, radius, size=CANVAS):
    """Ink coverage (0..1) of a round pen of `radius` moved along the
    strokes: 1 within radius of the path, antialiased over one pixel."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    dist = np.full((size, size), np.inf)
    for pts in strokes:
        for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
            dx, dy = bx - ax, by - ay
            l2 = dx * dx + dy * dy
            t = np.zeros_like(xs) if l2 == 0 else np.clip(((xs - ax) * dx + (ys - ay) * dy) / l2, 0, 1)
            d = np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))
            np.minimum(dist, d, out=dist)
    return np.clip(radius + 0.5 - dist, 0.0, 1.0)


def make(d, seed=0):
    rng = np.random.default_rng(1000 + d + 100 * seed)
    height = rng.uniform(115, 150)
    pen = rng.uniform(12, 18)
    origin = (CANVAS / 2 + rng.uniform(-18, 18), CANVAS / 2 + rng.uniform(-12, 12))
    strokes = handwritten(shape(d), rng, height, ASPECT[d], origin)
    ink = draw(strokes, pen / 2)
    return np.round(255 * (1 - ink)).astype(np.uint8), pen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE), help="folder for digit-N.png (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0,
                    help="other drawings of the same digits (the committed files: 0)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for d in range(10):
        img, pen = make(d, args.seed)
        path = out / f"digit-{d}.png"
        digit.save_png(path, img)
        print(f"{path}: pen {pen:.1f} px")


if __name__ == "__main__":
    main()
