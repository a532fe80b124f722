# SPDX-License-Identifier: MIT
"""Pictures in — image files and their bytes (PNG or JPEG, told apart by
their first bytes, EXIF orientation applied), raw pixel arrays of any size
(gray, RGB, RGBA; uint8, uint16 or float) and PIL images — all preprocessed
by the library the MNIST way (uneven light divided away, ink found, ruled
lines and specks set aside, cropped, scaled to 20 px, centred by mass in
28x28); and 2-D arrays out as PNG files.

Every picture goes through the library's own calls (digit_image_load,
digit_image_load_memory, digit_image_preprocess): no conversion here, so
Python sees the very 28x28 input that digitc and Swift see."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _capi
from ._args import fspath, gray_image
from ._capi import IMAGE_SIDE, PathLike

__all__ = ["augment_images", "ImageReport", "inspect_image", "load_image", "decode_image", "preprocess",
           "save_png", "is_pil_image", "is_picture_array"]

Bytes = Union[bytes, bytearray, memoryview]

_SAMPLE_TYPES = {np.dtype(np.uint8): 0, np.dtype(np.uint16): 1, np.dtype(np.float32): 2}


@dataclass(frozen=True)
class ImageReport:
    """What preprocessing found (digit_image_report): the format ("png",
    "jpeg", "pixels"), the size stored and decoded (after JPEG scaling and
    EXIF orientation), the orientation applied (1..8), the number of
    digit-sized marks, warnings such as "several-marks" or "not-digit-like",
    and the digit's box (x, y, width, height) in the decoded picture."""
    format: str
    size: tuple[int, int]
    decoded_size: tuple[int, int]
    orientation: int
    marks: int
    warnings: tuple[str, ...]
    ink_box: tuple[int, int, int, int]


def _report(lib: Any, r: _capi.ImageReport) -> ImageReport:
    names = []
    for bit in range(32):
        if r.warnings & (1 << bit):
            name = _capi.decode(lib.digit_image_warning_name(1 << bit))
            if name:
                names.append(name)
    return ImageReport(r.format.decode(), (r.width, r.height),
                       (r.decoded_width, r.decoded_height), r.orientation, r.marks,
                       tuple(names), (r.ink_x, r.ink_y, r.ink_width, r.ink_height))


def inspect_image(source: Any) -> tuple[npt.NDArray[np.uint8], ImageReport]:
    """Any picture — a path, the bytes of a PNG or JPEG file, a raw array
    (H, W), (H, W, 3) or (H, W, 4) of uint8, uint16 or float 0..1, or a PIL
    image — preprocessed: ((28, 28) uint8, its ImageReport). Raises
    ImageError when it holds no ink, FormatError (naming the file) when it
    is no image libdigit reads."""
    lib = _capi.library()
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    report = _capi.sized(_capi.ImageReport)
    if isinstance(source, (str, os.PathLike)):
        p = fspath(source)
        _capi.check(lib, lib.digit_image_load(p, _capi.u8(out), ctypes.byref(report)), p)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
        _capi.check(lib, lib.digit_image_load_memory(buf, len(buf), _capi.u8(out),
                                                     ctypes.byref(report)))
    else:
        a = _pixels_array(source)
        px = _capi.sized(_capi.Pixels)
        px.data = a.ctypes.data
        px.height, px.width = a.shape[0], a.shape[1]
        px.stride = a.strides[0]
        px.channels = a.shape[2] if a.ndim == 3 else 1
        px.type = _SAMPLE_TYPES[a.dtype]
        _capi.check(lib, lib.digit_image_preprocess(ctypes.byref(px), _capi.u8(out),
                                                    ctypes.byref(report)))
    return out, _report(lib, report)


def load_image(path: PathLike) -> npt.NDArray[np.uint8]:
    """An image file (PNG or JPEG) preprocessed: (28, 28) uint8."""
    return inspect_image(os.fspath(path))[0]


def decode_image(data: Bytes) -> npt.NDArray[np.uint8]:
    """load_image() for the bytes of a PNG or JPEG file already in memory."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
    return inspect_image(data)[0]


def preprocess(pixels: Any) -> npt.NDArray[np.uint8]:
    """The preprocessing of load_image() applied to a raw array (H, W),
    (H, W, 3) or (H, W, 4) — uint8, uint16 or float 0..1, any polarity — or
    a PIL image: (28, 28) uint8."""
    return inspect_image(pixels)[0]


def _pixels_array(source: Any) -> npt.NDArray[Any]:
    """A raw picture as an array the library can describe: rows of 1, 3 or
    4 samples of uint8, uint16 or float32, each row contiguous."""
    if is_pil_image(source):
        source = _pil_array(source)
    if not isinstance(source, np.ndarray):
        raise TypeError("a picture is a path, bytes, a numpy array or a PIL image, "
                        f"not {type(source).__name__}")
    a = source
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"a picture array has shape (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.dtype.kind == "f" and a.dtype != np.float32:
        a = a.astype(np.float32)
    if a.dtype not in _SAMPLE_TYPES:
        raise TypeError(f"picture samples are uint8, uint16 or float, not {a.dtype}")
    # The library takes any row stride, but each row's samples packed.
    if a.strides[-1] != a.itemsize or (a.ndim == 3 and a.strides[1] != a.itemsize * a.shape[2]):
        a = np.ascontiguousarray(a)
    return a


def _pil_array(image: Any) -> npt.NDArray[Any]:
    """A PIL image's samples as they are (L, LA, RGB, RGBA; 16-bit gray);
    palette and other modes expanded to RGB(A) by PIL first."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(image)
    if image.mode in ("I;16", "I;16L", "I;16B"):
        return np.asarray(image).astype(np.uint16)
    has_alpha = image.mode in ("PA",) or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


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


def is_picture_array(a: Any) -> bool:
    """Whether an array is a picture to preprocess rather than model input:
    model input is MNIST-shaped ((28, 28), (784,), (N, 28, 28), (N, 784),
    (N, 1, 28, 28)); a 2-D array of another size, or (H, W, 3|4), is a
    picture."""
    if not isinstance(a, np.ndarray):
        return False
    if a.ndim == 3 and a.shape[2] in (3, 4) and a.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        return True
    return a.ndim == 2 and a.shape != (IMAGE_SIDE, IMAGE_SIDE) and a.shape[1] != IMAGE_SIDE ** 2


def picture(image: Any) -> npt.NDArray[np.uint8] | None:
    """One picture — a path, file bytes, a PIL image or a picture array —
    preprocessed to (28, 28) uint8; None for model input (MNIST-shaped
    arrays)."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)) \
            or is_pil_image(image) or is_picture_array(image):
        return inspect_image(image)[0]
    return None


def augment_images(images: Any, *, epoch: int = 1, first_index: int = 0, seed: int = 1,
                   rotate: float = 0.0, scale: float = 0.0, shift: float = 0.0,
                   shear: float = 0.0) -> npt.NDArray[np.uint8]:
    """The augmentation digit_train applies (digit_augment_images): the
    (N, 28, 28) uint8 images as epoch ``epoch`` of a run with ``seed`` sees
    training images first_index.. of them. rotate and shear are degrees,
    scale and shift fractions; the library checks the ranges."""
    from ._args import int_arg, number_arg
    lib = _capi.library()
    a = np.ascontiguousarray(images, dtype=np.uint8).reshape(-1, IMAGE_SIDE * IMAGE_SIDE)
    o = _capi.default_options(lib, b"basic")
    o.seed = int_arg(seed, "seed", 0, 2**64 - 1)
    o.augment_rotate, o.augment_scale = number_arg(rotate, "rotate"), number_arg(scale, "scale")
    o.augment_shift, o.augment_shear = number_arg(shift, "shift"), number_arg(shear, "shear")
    out = np.empty_like(a)
    _capi.check(lib, lib.digit_augment_images(ctypes.byref(o), int_arg(epoch, "epoch", 1, 2**31 - 1),
                                              _capi.u8(a), int_arg(first_index, "first_index", 0, 2**63),
                                              a.shape[0], _capi.u8(out)))
    return out.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
