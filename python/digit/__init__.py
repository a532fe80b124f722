# SPDX-License-Identifier: MIT
"""digit — Python binding (ctypes) for libdigit, CNNs that read handwritten digits.

libdigit is a C library (include/digit.h) that trains and runs the two small
MNIST networks "basic" and "compact". This package wraps it with NumPy arrays,
Python exceptions and objects that free their C handles deterministically.

Example::

    import digit

    with digit.Model.default() as model:        # the shipped, trained model
        print(model.classify("seven.png"))       # 7

    train = digit.Dataset.mnist(digit.mnist_dir(), train=True)
    test = digit.Dataset.mnist(digit.mnist_dir(), train=False)
    with digit.Model("basic", seed=1) as model:
        model.train(train, test, epochs=1,
                    on_epoch=lambda p: print(p.epoch, p.test_accuracy))
        model.metadata["trained_with"] = "python"
        model.save("digit-basic.safetensors")

Images are 28x28, row-major, ink bright on black (MNIST polarity): uint8
arrays hold 0..255, float32/float64 arrays hold the same scaled to 0..1. The
model normalises by itself; never pass normalised pixels. predict() and
classify() answer per batch for arrays (one (28, 28) image gives shape
(1, 10)); one picture given as a PNG path or a PIL image is preprocessed
the MNIST way and gets one answer.

Weights are exchanged as {PyTorch state_dict name: array} (``state_dict()``,
``load_state_dict()``) or as safetensors files that PyTorch reads and writes
unchanged; ``digit.torch`` holds both architectures as PyTorch modules.

The modules: ``_capi`` (every ctypes declaration and the library loader),
``errors``, ``model``, ``dataset``, ``images``, ``results``, ``fetch`` (MNIST)
and ``torch``. ``python -m digit classify IMG...`` and ``python -m digit
fetch`` are the command line.
"""

from __future__ import annotations

from typing import Any

from . import _capi
from ._args import int_arg as _int_arg
from ._capi import (ABI_MAJOR, CLASSES, IMAGE_PIXELS, IMAGE_SIDE,
                    library_path, load_library)
from .dataset import Dataset, mnist_dir
from .errors import (ArgumentError, ClosedError, DigitError,
                     DigitFileNotFoundError, DigitIOError,
                     DigitIsADirectoryError, DigitMemoryError, FormatError, BusyError,
                     ImageError, LibraryError, TrainingCancelled)
from .images import (ImageReport, augment_images, decode_image, inspect_image, load_image, preprocess,
                     save_png)
from .model import Checkpoint, Model, default_model_path, read_checkpoint
from .results import (STOP, BatchProgress, EpochProgress, Evaluation,
                      LayerInfo)

__all__ = [
    "ABI_MAJOR", "IMAGE_SIDE", "IMAGE_PIXELS", "CLASSES", "STOP",
    "load_library", "library_path", "version", "presets", "set_threads", "threads",
    "DigitError", "ArgumentError", "DigitIOError", "DigitFileNotFoundError",
    "DigitIsADirectoryError", "FormatError", "DigitMemoryError",
    "TrainingCancelled", "ImageError", "LibraryError", "ClosedError", "BusyError",
    "Checkpoint", "read_checkpoint", "version_number",
    "Model", "Dataset", "Evaluation", "LayerInfo", "BatchProgress",
    "EpochProgress", "augment_images", "load_image", "decode_image", "inspect_image", "ImageReport",
    "preprocess", "save_png",
    "mnist_dir", "default_model_path",
]


def version() -> str:
    """The loaded library's version, e.g. "2.0.0"."""
    return str(_capi.library().digit_version().decode())


def version_number() -> int:
    """The loaded library's version as major*10000 + minor*100 + patch."""
    return int(_capi.library().digit_version_number())


def set_threads(threads: int) -> None:
    """How many threads inference and evaluation split a batch between
    (0, the default: one per online core). Process-wide. Training takes its
    count from ``Model.train(threads=...)``."""
    # The library clamps to its own limit (DIGIT_MAX_THREADS).
    threads = _int_arg(threads, "threads", 0, 2**31 - 1)
    _capi.library().digit_set_threads(threads)


def threads() -> int:
    """The effective number of inference threads (see set_threads)."""
    return int(_capi.library().digit_threads())


def presets() -> list[str]:
    """Names of the built-in architectures, e.g. ["basic", "compact"]."""
    lib = _capi.library()
    names: list[str] = []
    while True:
        n = lib.digit_preset_name(len(names))
        if n is None:
            return names
        names.append(n.decode())


def __getattr__(name: str) -> Any:
    # __version__ is looked up on demand, so `import digit` never fails for
    # want of the library: the version this binding mirrors (digit.h's, via
    # the package metadata of a wheel; see _capi.binding_version).
    if name == "__version__":
        return _capi.binding_version()
    raise AttributeError(f"module 'digit' has no attribute {name!r}")
