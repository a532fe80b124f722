"""Pictures in: PNG files and bytes, decoded gray arrays and PIL images, all
preprocessed the MNIST way (gray, ink bright, cropped to the ink, scaled to
20 px, centred by mass in 28x28); and 2-D arrays out as PNG files."""

from __future__ import annotations

import os
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _capi
from ._args import fspath, gray_image
from ._capi import IMAGE_SIDE, PathLike

__all__ = ["load_png", "decode_png", "preprocess", "save_png", "is_pil_image",
           "pil_to_gray"]


def load_png(path: PathLike) -> npt.NDArray[np.uint8]:
    """Reads a PNG of any colour type and preprocesses it: (28, 28) uint8.
    Raises ImageError when the picture holds no ink."""
    lib = _capi.library()
    p = fspath(path)
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _capi.check(lib, lib.digit_image_load_png(p, _capi.u8(out)), p)
    return out


def decode_png(data: Union[bytes, bytearray, memoryview]) -> npt.NDArray[np.uint8]:
    """load_png() for the bytes of a PNG file already in memory."""
    lib = _capi.library()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
    buf = bytes(data)
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _capi.check(lib, lib.digit_image_load_png_memory(buf, len(buf), _capi.u8(out)))
    return out


def preprocess(gray: Any) -> npt.NDArray[np.uint8]:
    """The preprocessing of load_png() applied to a decoded 2-D gray image
    (uint8 0..255 or float 0..1, any polarity) or a PIL image: (28, 28) uint8."""
    lib = _capi.library()
    g = pil_to_gray(gray) if is_pil_image(gray) else gray_image(gray, "gray image")
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _capi.check(lib, lib.digit_image_preprocess(_capi.u8(g), g.shape[1], g.shape[0],
                                                _capi.u8(out)))
    return out


def save_png(path: PathLike, image: Any) -> None:
    """Writes a 2-D image (uint8 0..255 or float 0..1; (784,) is taken as
    28x28) as an 8-bit grayscale PNG, atomically."""
    lib = _capi.library()
    p = fspath(path)
    g = gray_image(image)
    _capi.check(lib, lib.digit_image_save_png(p, _capi.u8(g), g.shape[1], g.shape[0]), p)


def is_pil_image(obj: Any) -> bool:
    """True for a PIL.Image.Image, without importing PIL when it is absent."""
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "convert")


def pil_to_gray(image: Any) -> npt.NDArray[np.uint8]:
    """A PIL image (L, RGB, RGBA, P, ...) as a 2-D uint8 gray array.

    Transparency is flattened onto white first, so ink drawn only in the
    alpha channel stays visible. The one place PIL pixels are converted:
    when libdigit decodes colour itself, this is what changes."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        from PIL import Image  # present: the caller passed one of its images
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))


def picture(image: Any) -> npt.NDArray[np.uint8] | None:
    """One picture given by file path or as a PIL image, preprocessed to
    (28, 28) uint8; None for anything else (arrays: already pixels)."""
    if isinstance(image, (str, os.PathLike)):
        return load_png(image)
    if is_pil_image(image):
        return preprocess(image)
    return None
