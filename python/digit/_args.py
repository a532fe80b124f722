# SPDX-License-Identifier: MIT
"""Checks of Python arguments, done before any C call so that bad input is
a TypeError or ValueError naming the argument and the problem."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from ._capi import IMAGE_PIXELS, IMAGE_SIDE, PathLike


def fspath(path: PathLike, what: str = "path") -> bytes:
    if isinstance(path, (bytes, bytearray)):
        raise TypeError(f"{what} must be a str or os.PathLike, not bytes")
    try:
        p = os.fspath(path)
    except TypeError:
        raise TypeError(f"{what} must be a str or os.PathLike, not "
                        f"{type(path).__name__}") from None
    if not p:
        raise ValueError(f"{what} is empty")
    if "\0" in p:
        raise ValueError(f"{what} contains a NUL character")
    return os.fsencode(os.path.expanduser(p))


def text(s: Any, what: str) -> bytes:
    if not isinstance(s, str):
        raise TypeError(f"{what} must be a str, not {type(s).__name__}")
    if "\0" in s:
        raise ValueError(f"{what} contains a NUL character")
    return s.encode("utf-8", "surrogateescape")


def int_arg(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    n = int(value)
    if not lo <= n <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {n}")
    return n


def number_arg(value: Any, name: str) -> float:
    """A finite number; whether it is in range is the library's to say."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, not {x}")
    return x


def as_array(images: Any, what: str) -> npt.NDArray[Any]:
    if isinstance(images, np.ndarray):
        return images
    # PyTorch tensors and the like: anything exposing __array__.
    detach = getattr(images, "detach", None)
    if callable(detach):
        return np.asarray(detach().cpu().numpy())
    if (isinstance(images, (list, tuple)) or hasattr(images, "__array__")
            or hasattr(images, "__array_interface__")):
        return np.asarray(images)
    raise TypeError(f"{what} must be a numpy array, not {type(images).__name__}")


def image_batch(images: Any) -> npt.NDArray[Any]:
    """Validates images and returns a C-contiguous (N, 784) uint8 or float32 array."""
    a = as_array(images, "images")
    if a.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(
            f"images must be uint8 (0..255) or float32/float64 (0..1), not {a.dtype}; "
            "convert with .astype(np.uint8) or scale to 0..1 floats")
    s = a.shape
    if s == (IMAGE_SIDE, IMAGE_SIDE) or s == (IMAGE_PIXELS,):
        n = 1
    elif len(s) == 3 and s[1:] == (IMAGE_SIDE, IMAGE_SIDE):
        n = s[0]
    elif len(s) == 2 and s[1] == IMAGE_PIXELS:
        n = s[0]
    elif len(s) == 4 and s[1:] == (1, IMAGE_SIDE, IMAGE_SIDE):
        n = s[0]
    else:
        raise ValueError(
            f"images have shape {s}; expected (28, 28), (784,), (N, 28, 28), "
            "(N, 784) or (N, 1, 28, 28)")
    if a.dtype != np.uint8 and a.size:
        if not np.isfinite(a).all():
            bad = int(np.flatnonzero(~np.isfinite(a.reshape(-1)))[0])
            raise ValueError(f"images contain NaN or infinity (image {bad // IMAGE_PIXELS}, "
                             f"pixel {bad % IMAGE_PIXELS})")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float images must hold pixels in 0..1 (ink bright), found "
                f"{lo:g}..{hi:g}; pass uint8 for 0..255 and never pre-normalise")
    dtype = np.uint8 if a.dtype == np.uint8 else np.float32
    return np.ascontiguousarray(a, dtype=dtype).reshape(n, IMAGE_PIXELS)


def gray_image(image: Any, what: str = "image") -> npt.NDArray[np.uint8]:
    """A 2-D C-contiguous uint8 array from uint8 or 0..1 float input."""
    a = as_array(image, what)
    if a.shape == (IMAGE_PIXELS,):
        a = a.reshape(IMAGE_SIDE, IMAGE_SIDE)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array (height, width), "
                         f"not shape {a.shape}")
    if a.dtype in (np.float32, np.float64):
        if not np.isfinite(a).all():
            raise ValueError(f"{what} contains NaN or infinity")
        if a.min() < 0 or a.max() > 1:
            raise ValueError(f"float {what} must hold values in 0..1")
        a = np.rint(a * 255.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise TypeError(f"{what} must be uint8 (0..255) or float32/float64 (0..1), "
                        f"not {a.dtype}")
    if max(a.shape) > 2**31 - 1:
        raise ValueError(f"{what} is too large")
    return np.ascontiguousarray(a, dtype=np.uint8)
