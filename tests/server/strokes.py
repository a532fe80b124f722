# SPDX-License-Identifier: MIT
"""Turns an MNIST digit into pen strokes: thins its ink to a one-pixel
skeleton (Zhang-Suen) and walks the skeleton into polylines, so that a
browser test can redraw the digit the way a hand would."""
import numpy as np

NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9, clockwise


def thin(ink: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image (the border must be False)."""
    img = ink.copy()
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            remove = []
            for r, c in zip(*np.nonzero(img)):
                p = [bool(img[r + dr, c + dc]) for dr, dc in NEIGHBOURS]
                count = sum(p)
                transitions = sum(not p[i] and p[(i + 1) % 8] for i in range(8))
                p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
                if step == 0:
                    ok = not (p2 and p4 and p6) and not (p4 and p6 and p8)
                else:
                    ok = not (p2 and p4 and p8) and not (p2 and p6 and p8)
                if 2 <= count <= 6 and transitions == 1 and ok:
                    remove.append((r, c))
            for r, c in remove:
                img[r, c] = False
            changed |= bool(remove)
    return img


def polylines(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Walks a skeleton into polylines of (row, column) points, endpoints
    first so that strokes start where a pen would, then any loops left."""
    points = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton))}

    def neighbours(p):
        return [(p[0] + dr, p[1] + dc) for dr, dc in NEIGHBOURS if (p[0] + dr, p[1] + dc) in points]

    used = set()  # edges already drawn, as frozensets of two points
    lines = []
    starts = sorted(p for p in points if len(neighbours(p)) == 1) + sorted(points)
    for start in starts:
        if not neighbours(start):
            lines.append([start])  # an isolated dot
            continue
        line, current = [start], start
        while True:
            # Prefer straight-on (4-connected) steps: smoother strokes.
            options = [n for n in neighbours(current) if frozenset((current, n)) not in used]
            if not options:
                break
            nxt = min(options, key=lambda n: abs(n[0] - current[0]) + abs(n[1] - current[1]))
            used.add(frozenset((current, nxt)))
            line.append(nxt)
            current = nxt
        if len(line) > 1:
            lines.append(line)
    return lines


def strokes(pixels: np.ndarray, threshold: int = 100, min_points: int = 3) -> list[list[tuple[float, float]]]:
    """Polylines as (x, y) in 0..1 of the 28x28 frame, tiny fragments dropped."""
    ink = np.zeros((30, 30), bool)
    ink[1:29, 1:29] = pixels > threshold
    lines = polylines(thin(ink))
    kept = [line for line in lines if len(line) >= min_points] or lines
    return [[((c - 1 + 0.5) / 28, (r - 1 + 0.5) / 28) for r, c in line] for line in kept]
