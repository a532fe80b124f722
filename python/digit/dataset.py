# SPDX-License-Identifier: MIT
"""Labelled 28x28 images held by libdigit (digit_dataset), and finding MNIST."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from . import _capi, fetch
from ._args import as_array, fspath, int_arg
from ._capi import IMAGE_PIXELS, IMAGE_SIDE, PathLike
from ._handle import Handle
from .errors import DigitFileNotFoundError, DigitIOError

__all__ = ["Dataset", "mnist_dir"]


def mnist_dir(directory: Optional[PathLike] = None) -> Path:
    """The folder holding MNIST: `directory` if given, else ``$DIGIT_DATA``
    (both read as they are), else the per-user cache, which is fetched into
    and verified (see digit.fetch). Raises DigitIOError when that fails."""
    if directory or os.environ.get("DIGIT_DATA"):
        return Path(os.fspath(directory or os.environ["DIGIT_DATA"])).expanduser()
    target = fetch.default_dir()
    try:
        fetch.fetch(target, quiet=True)
    except fetch.FetchError as e:
        raise DigitIOError(f"cannot get MNIST into {target}: {e} (set DIGIT_DATA to a "
                           "folder with the IDX files)", _capi.ERR_IO, target) from None
    return Path(target)


class Dataset(Handle):
    """Labelled 28x28 uint8 images held by libdigit (digit_dataset).

    Make one with :meth:`load`, :meth:`mnist`, :meth:`from_folder` or
    :meth:`from_arrays`. ``len(ds)``, ``ds.images`` ((N, 28, 28) uint8
    copy), ``ds.labels`` ((N,) uint8 copy), ``ds[a:b]`` (a copy of a
    contiguous range) and ``a + b`` (a copy of both, a's images first).
    """

    _kind = "Dataset"
    _free_fn = "digit_dataset_free"

    def __init__(self, *args: Any, **kwargs: Any):
        raise TypeError("use Dataset.load(), Dataset.mnist(), Dataset.from_folder() or "
                        "Dataset.from_arrays()")

    @classmethod
    def load(cls, images_path: PathLike, labels_path: PathLike) -> "Dataset":
        """Loads an IDX image file and its IDX label file (raw or .gz)."""
        lib = _capi.library()
        ip, lp = fspath(images_path, "images_path"), fspath(labels_path, "labels_path")
        out = _capi.dataset_p()
        _capi.check(lib, lib.digit_dataset_load(ip, lp, ctypes.byref(out)), ip, lp)
        return cls._adopt(lib, int(out.value or 0))

    @classmethod
    def mnist(cls, directory: PathLike, train: bool = True) -> "Dataset":
        """Loads ``<dir>/train-*-ubyte`` (train=True) or ``<dir>/t10k-*-ubyte``."""
        lib = _capi.library()
        d = fspath(directory, "directory")
        if not os.path.isdir(d):
            missing = not os.path.lexists(d)
            what = "does not exist" if missing else "is not a folder"
            err = DigitFileNotFoundError if missing else DigitIOError
            raise err(f"{os.fsdecode(d)}: MNIST folder {what}", _capi.ERR_IO,
                      os.fsdecode(d), "I/O error")
        out = _capi.dataset_p()
        status = lib.digit_dataset_load_mnist(d, 1 if train else 0, ctypes.byref(out))
        if status != _capi.OK:
            prefix = "train" if train else "t10k"
            _capi.raise_status(lib, status, (
                os.path.join(d, f"{prefix}-images-idx3-ubyte".encode()),
                os.path.join(d, f"{prefix}-labels-idx1-ubyte".encode()), d))
        return cls._adopt(lib, int(out.value or 0))

    @classmethod
    def from_folder(cls, directory: PathLike) -> "Dataset":
        """Your own labelled pictures, in folders named by their digit as
        torchvision's ImageFolder has them: ``directory/0/…`` to
        ``directory/9/…``, any format :func:`digit.load_image` reads, each
        preprocessed as it does, in sorted path order. Raises DigitError
        naming the folder or file that is not usable."""
        lib = _capi.library()
        d = fspath(directory, "directory")
        out = _capi.dataset_p()
        _capi.check(lib, lib.digit_dataset_load_folder(d, ctypes.byref(out)), d)
        return cls._adopt(lib, int(out.value or 0))

    def __add__(self, other: "Dataset") -> "Dataset":
        """A new dataset of this one's images followed by `other`'s (to
        fine-tune on your own pictures mixed with MNIST, say)."""
        if not isinstance(other, Dataset):
            return NotImplemented
        with self._use() as a, other._use() as b:
            out = _capi.dataset_p()
            _capi.check(self._lib, self._lib.digit_dataset_concat(a, b, ctypes.byref(out)))
        return Dataset._adopt(self._lib, int(out.value or 0))

    @classmethod
    def from_arrays(cls, images: Any, labels: Any) -> "Dataset":
        """A dataset copied from uint8 images (N, 28, 28) or (N, 784) and N
        integer labels 0..9."""
        lib = _capi.library()
        a = as_array(images, "images")
        if a.dtype != np.uint8:
            raise TypeError(f"dataset images must be uint8 (0..255), not {a.dtype}")
        if a.ndim == 3 and a.shape[1:] == (IMAGE_SIDE, IMAGE_SIDE):
            n = a.shape[0]
        elif a.ndim == 2 and a.shape[1] == IMAGE_PIXELS:
            n = a.shape[0]
        else:
            raise ValueError(f"dataset images have shape {a.shape}; expected (N, 28, 28) "
                             "or (N, 784)")
        y = as_array(labels, "labels")
        if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"labels must be integers 0..9, not {y.dtype}")
        if y.shape != (n,):
            raise ValueError(f"labels have shape {y.shape}; expected ({n},) to match "
                             f"{n} images")
        if n == 0:
            raise ValueError("a dataset needs at least one image")
        if y.min() < 0 or y.max() > 9:
            bad = int(np.flatnonzero((y < 0) | (y > 9))[0])
            raise ValueError(f"label {bad} is {y[bad]}, not a digit 0..9")
        a = np.ascontiguousarray(a).reshape(n, IMAGE_PIXELS)
        y = np.ascontiguousarray(y, dtype=np.uint8)
        out = _capi.dataset_p()
        _capi.check(lib, lib.digit_dataset_create(_capi.u8(a), _capi.u8(y), n,
                                                  ctypes.byref(out)))
        return cls._adopt(lib, int(out.value or 0))

    def __len__(self) -> int:
        with self._use() as h:
            return int(self._lib.digit_dataset_count(h))

    def _arrays(self, h: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """Views of the C images and labels: valid only while `h` is in use."""
        n = int(self._lib.digit_dataset_count(h))
        images = np.ctypeslib.as_array(self._lib.digit_dataset_images(h),
                                       shape=(n, IMAGE_SIDE, IMAGE_SIDE))
        labels = np.ctypeslib.as_array(self._lib.digit_dataset_labels(h), shape=(n,))
        return images, labels

    @property
    def images(self) -> npt.NDArray[np.uint8]:
        """A copy of the images, (N, 28, 28) uint8."""
        with self._use() as h:
            return self._arrays(h)[0].copy()

    @property
    def labels(self) -> npt.NDArray[np.uint8]:
        """A copy of the labels, (N,) uint8."""
        with self._use() as h:
            return self._arrays(h)[1].copy()

    def slice(self, start: int, count: int) -> "Dataset":
        """A new dataset holding a copy of images [start, start+count)."""
        with self._use() as h:
            n = int(self._lib.digit_dataset_count(h))
            start = int_arg(start, "start", 0, n)
            count = int_arg(count, "count", 1, max(1, n - start))
            if start + count > n:
                raise ValueError(f"slice [{start}, {start + count}) is outside the {n} images")
            out = _capi.dataset_p()
            _capi.check(self._lib, self._lib.digit_dataset_slice(h, start, count,
                                                                 ctypes.byref(out)))
        return Dataset._adopt(self._lib, int(out.value or 0))

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("Dataset slices must be contiguous (step 1)")
            if stop <= start:
                raise ValueError("a Dataset slice must hold at least one image")
            return self.slice(start, stop - start)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            with self._use() as h:
                images, labels = self._arrays(h)
                n = len(labels)
                i = int(key) + n if key < 0 else int(key)
                if not 0 <= i < n:
                    raise IndexError(f"image index {key} out of range for {n} images")
                return images[i].copy(), int(labels[i])
        raise TypeError(f"Dataset indices must be int or slice, not {type(key).__name__}")

    def __iter__(self) -> Iterator[tuple[npt.NDArray[np.uint8], int]]:
        images, labels = self.images, self.labels
        for i in range(len(labels)):
            yield images[i], int(labels[i])

    def __repr__(self) -> str:
        if self.closed:
            return "<digit.Dataset (closed)>"
        return f"<digit.Dataset of {len(self)} images>"
