"""digit — Python binding (ctypes) for libdigit, CNNs that read handwritten digits.

libdigit is a C library (include/digit.h) that trains and runs the two small
MNIST networks "basic" and "compact". This module wraps it with NumPy arrays,
Python exceptions and objects that free their C handles deterministically.

Example::

    import digit

    train = digit.Dataset.mnist("~/.cache/libdigit/mnist", train=True)
    test = digit.Dataset.mnist("~/.cache/libdigit/mnist", train=False)

    with digit.Model("basic", seed=1) as model:
        model.train(train, test, epochs=1,
                    on_epoch=lambda p: print(p.epoch, p.test_accuracy))
        model.metadata["trained_with"] = "python"
        model.save("digit-basic.safetensors")

    with digit.Model.load("digit-basic.safetensors") as model:
        probs = model.predict(test.images[:5])   # (5, 10) float32
        labels = model.classify(test.images[:5])  # (5,) int64
        d, p = model.classify_png("seven.png")    # 7, (10,) float32
        print(model.evaluate(test).accuracy)

Images are 28x28, row-major, ink bright on black (MNIST polarity): uint8
arrays hold 0..255, float32/float64 arrays hold the same scaled to 0..1. The
model normalises by itself; never pass normalised pixels. predict() and
classify() always answer per batch: one (28, 28) image gives shape (1, 10).

Weights are exchanged as {PyTorch state_dict name: array} (``state_dict()``,
``load_state_dict()``) or as safetensors files that PyTorch reads and writes
unchanged (see examples/torch_interop.py). Training callbacks receive
BatchProgress / EpochProgress; returning True (or ``digit.STOP``) cancels.

The shared library is found, in order, from: the ``path`` given to
:func:`load_library`, the environment variable ``DIGIT_LIBRARY``, the
Makefile's build folder (``<repo>/build/libdigit.so.1``, relative to this
file), then the system (``ctypes.util.find_library("digit")``, then
``libdigit.so.1``).

Errors reported by the library raise :class:`DigitError` subclasses that carry
the library's message (``str(e)``) and status (``e.status``). Invalid Python
arguments (wrong array shape, dtype or range) raise ``ValueError`` /
``TypeError`` before any C call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno as _errno
import math
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double,
                    c_float, c_int, c_size_t, c_uint8, c_uint32, c_uint64,
                    c_void_p)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Optional, Union

import numpy as np

__all__ = [
    "ABI_VERSION", "IMAGE_SIDE", "IMAGE_PIXELS", "CLASSES", "STOP",
    "load_library", "library_path", "version", "presets", "set_threads", "threads",
    "DigitError", "ArgumentError", "DigitIOError", "DigitFileNotFoundError",
    "DigitIsADirectoryError", "FormatError", "DigitMemoryError",
    "TrainingCancelled", "ImageError", "LibraryError", "ClosedError",
    "Model", "Dataset", "Evaluation", "LayerInfo", "BatchProgress",
    "EpochProgress", "load_png", "decode_png", "preprocess", "save_png",
]

PathLike = Union[str, "os.PathLike[str]"]

ABI_VERSION = 1
IMAGE_SIDE = 28
IMAGE_PIXELS = 784
CLASSES = 10
MAX_MILESTONES = 16

# digit_status
_OK, _ERR_ARGUMENT, _ERR_IO, _ERR_FORMAT, _ERR_MEMORY, _ERR_CANCELLED, _ERR_IMAGE = range(7)
# digit_output
_OUTPUT_PROBABILITIES, _OUTPUT_LOG_PROBABILITIES = 0, 1


class _Stop:
    """Return this (or True) from a training callback to stop training."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "digit.STOP"


STOP = _Stop()


# ---- exceptions -----------------------------------------------------------


class DigitError(Exception):
    """An error reported by libdigit.

    ``str(e)`` is the library's message (digit_last_error()), ``e.status`` the
    digit_status code, ``e.status_name`` its name and ``e.path`` the file
    concerned, when there is one.
    """

    def __init__(self, message: str, status: Optional[int] = None,
                 path: Optional[str] = None, status_name: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.status_name = status_name
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.status, self.path, self.status_name))


class ArgumentError(DigitError, ValueError):
    """DIGIT_ERR_ARGUMENT: the library refused an argument or option."""


class DigitIOError(DigitError, OSError):
    """DIGIT_ERR_IO: a file could not be opened, read or written."""

    def __init__(self, message: str, status: Optional[int] = None,
                 path: Optional[str] = None, status_name: Optional[str] = None):
        super().__init__(message, status, path, status_name)
        self.strerror = message
        self.filename = path


class DigitFileNotFoundError(DigitIOError, FileNotFoundError):
    """An I/O error because the file does not exist."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errno = _errno.ENOENT


class DigitIsADirectoryError(DigitIOError, IsADirectoryError):
    """An I/O error because the path names a folder."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errno = _errno.EISDIR


class FormatError(DigitError, ValueError):
    """DIGIT_ERR_FORMAT: a file's contents are malformed or unsupported."""


class DigitMemoryError(DigitError, MemoryError):
    """DIGIT_ERR_MEMORY: an allocation failed or a size is too large."""


class TrainingCancelled(DigitError):
    """DIGIT_ERR_CANCELLED: a training callback asked to stop.

    The model keeps the weights reached so far and stays usable;
    ``e.history`` lists the EpochProgress of the epochs that finished.
    """

    history: list = []


class ImageError(DigitError, ValueError):
    """DIGIT_ERR_IMAGE: an image holds no usable digit (e.g. no ink)."""


class LibraryError(OSError):
    """libdigit could not be found or loaded, or has the wrong ABI."""


class ClosedError(ValueError):
    """A Model or Dataset was used after close()."""


_STATUS_CLASSES = {
    _ERR_ARGUMENT: ArgumentError,
    _ERR_IO: DigitIOError,
    _ERR_FORMAT: FormatError,
    _ERR_MEMORY: DigitMemoryError,
    _ERR_CANCELLED: TrainingCancelled,
    _ERR_IMAGE: ImageError,
}


# ---- C structures (mirrors of digit.h, same field order and types) ---------


class _LayerInfo(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("description", c_char_p),
        ("out_channels", c_int),
        ("out_height", c_int),
        ("out_width", c_int),
        ("param_count", c_size_t),
    ]


class _TensorInfo(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("rank", c_int),
        ("shape", c_int * 4),
        ("offset", c_size_t),
        ("count", c_size_t),
    ]


class _Evaluation(Structure):
    _fields_ = [
        ("loss", c_double),
        ("accuracy", c_double),
        ("count", c_size_t),
        ("confusion", (c_uint32 * CLASSES) * CLASSES),
    ]


class _BatchProgress(Structure):
    _fields_ = [
        ("epoch", c_int),
        ("batch", c_int),
        ("batches_per_epoch", c_int),
        ("loss", c_float),
        ("images_seen", c_size_t),
        ("learning_rate", c_double),
    ]


class _EpochProgress(Structure):
    _fields_ = [
        ("epoch", c_int),
        ("epochs", c_int),
        ("train_loss", c_double),
        ("test_loss", c_double),
        ("test_accuracy", c_double),
        ("seconds", c_double),
        ("learning_rate", c_double),
    ]


_BatchCallback = CFUNCTYPE(c_int, POINTER(_BatchProgress), c_void_p)
_EpochCallback = CFUNCTYPE(c_int, POINTER(_EpochProgress), c_void_p)


class _TrainOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epochs", c_int),
        ("batch_size", c_int),
        ("learning_rate", c_double),
        ("milestones", c_int * MAX_MILESTONES),
        ("milestone_count", c_int),
        ("gamma", c_double),
        ("seed", c_uint64),
        ("threads", c_int),
        ("on_batch", _BatchCallback),
        ("on_epoch", _EpochCallback),
        ("user", c_void_p),
        ("checkpoint_path", c_char_p),
        # appended in libdigit 2.1
        ("schedule", c_int),
        ("pct_start", c_double),
        ("div_factor", c_double),
        ("final_div_factor", c_double),
        ("cycle_momentum", c_int),
        ("beta1", c_double),
        ("beta2", c_double),
        ("weight_decay", c_double),
        ("label_smoothing", c_double),
        ("augment_rotate", c_double),
        ("augment_scale", c_double),
        ("augment_shift", c_double),
        ("augment_shear", c_double),
    ]


# digit_schedule values, by the names Model.train takes.
_SCHEDULES = {"multistep": 0, "onecycle": 1, "cosine": 2, "exponential": 3}
_AUGMENT_KEYS = ("rotate", "scale", "shift", "shear")


_model_p = c_void_p
_dataset_p = c_void_p
_u8_p = POINTER(c_uint8)
_f32_p = POINTER(c_float)
_int_p = POINTER(c_int)

# name: (restype, argtypes)
_SIGNATURES = {
    "digit_version": (c_char_p, []),
    "digit_abi_version": (c_int, []),
    "digit_last_error": (c_char_p, []),
    "digit_status_name": (c_char_p, [c_int]),
    "digit_set_threads": (None, [c_int]),
    "digit_threads": (c_int, []),
    "digit_preset_name": (c_char_p, [c_size_t]),
    "digit_model_create": (c_int, [c_char_p, c_uint64, POINTER(_model_p)]),
    "digit_model_free": (None, [_model_p]),
    "digit_model_clone": (c_int, [_model_p, POINTER(_model_p)]),
    "digit_model_arch": (c_char_p, [_model_p]),
    "digit_model_param_count": (c_size_t, [_model_p]),
    "digit_model_layer_count": (c_size_t, [_model_p]),
    "digit_model_layer": (c_int, [_model_p, c_size_t, POINTER(_LayerInfo)]),
    "digit_model_summary": (c_size_t, [_model_p, c_char_p, c_size_t]),
    "digit_model_metadata": (c_char_p, [_model_p, c_char_p]),
    "digit_model_set_metadata": (c_int, [_model_p, c_char_p, c_char_p]),
    "digit_model_metadata_key": (c_char_p, [_model_p, c_size_t]),
    "digit_model_tensor_count": (c_size_t, [_model_p]),
    "digit_model_tensor": (c_int, [_model_p, c_size_t, POINTER(_TensorInfo)]),
    "digit_model_weights": (_f32_p, [_model_p]),
    "digit_model_save": (c_int, [_model_p, c_char_p]),
    "digit_model_load": (c_int, [c_char_p, POINTER(_model_p)]),
    "digit_model_load_memory": (c_int, [c_void_p, c_size_t, POINTER(_model_p)]),
    "digit_predict_u8": (c_int, [_model_p, _u8_p, c_size_t, c_int, _f32_p, _int_p]),
    "digit_predict_f32": (c_int, [_model_p, _f32_p, c_size_t, c_int, _f32_p, _int_p]),
    "digit_dataset_load": (c_int, [c_char_p, c_char_p, POINTER(_dataset_p)]),
    "digit_dataset_load_mnist": (c_int, [c_char_p, c_int, POINTER(_dataset_p)]),
    "digit_dataset_create": (c_int, [_u8_p, _u8_p, c_size_t, POINTER(_dataset_p)]),
    "digit_dataset_slice": (c_int, [_dataset_p, c_size_t, c_size_t, POINTER(_dataset_p)]),
    "digit_dataset_free": (None, [_dataset_p]),
    "digit_dataset_count": (c_size_t, [_dataset_p]),
    "digit_dataset_images": (_u8_p, [_dataset_p]),
    "digit_dataset_labels": (_u8_p, [_dataset_p]),
    "digit_evaluate": (c_int, [_model_p, _dataset_p, POINTER(_Evaluation)]),
    "digit_train_options_init": (c_int, [c_void_p, c_size_t, c_char_p]),
    "digit_train": (c_int, [_model_p, _dataset_p, _dataset_p,
                            POINTER(_TrainOptions), c_char_p]),
    "digit_image_load_png": (c_int, [c_char_p, _u8_p]),
    "digit_image_load_png_memory": (c_int, [c_void_p, c_size_t, _u8_p]),
    "digit_image_preprocess": (c_int, [_u8_p, c_int, c_int, _u8_p]),
    "digit_image_save_png": (c_int, [c_char_p, _u8_p, c_int, c_int]),
}


# ---- finding and loading the library --------------------------------------

_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_lib_lock = threading.Lock()

_REPO_BUILD = Path(__file__).resolve().parent.parent / "build" / "libdigit.so.1"


def _candidates(path: Optional[PathLike]) -> list[tuple[str, bool]]:
    """(name, explicit) pairs to try in order; an explicit one is the only try."""
    if path is not None:
        return [(os.fspath(path), True)]
    env = os.environ.get("DIGIT_LIBRARY")
    if env:
        return [(env, True)]
    found = []
    if _REPO_BUILD.exists():
        found.append((str(_REPO_BUILD), False))
    system = ctypes.util.find_library("digit")
    if system:
        found.append((system, False))
    found.append(("libdigit.so.1", False))
    return found


# Newer than the first 1.0 headers: a library without them still loads, and
# only the functions that need them refuse to work.
_OPTIONAL = {"digit_set_threads", "digit_threads"}


def _bind(lib: ctypes.CDLL, name: str) -> None:
    for fn, (restype, argtypes) in _SIGNATURES.items():
        try:
            f = getattr(lib, fn)
        except AttributeError:
            if fn in _OPTIONAL:
                continue
            raise LibraryError(
                f"{name} lacks the symbol {fn}: it is older than this binding "
                f"or incomplete; rebuild it with `make -j2 all`") from None
        f.restype = restype
        f.argtypes = argtypes


def load_library(path: Optional[PathLike] = None) -> ctypes.CDLL:
    """Loads libdigit and makes it the library this module uses.

    ``path`` (or else ``$DIGIT_LIBRARY``) names the file exactly; without
    either, the Makefile's ``build/libdigit.so.1`` next to this package and
    then the system's library are tried. Raises :class:`LibraryError` when
    nothing loads or the library's ABI version is not 1. Objects made before
    a reload keep using the library that made them.
    """
    global _lib, _lib_path
    tried = []
    for name, explicit in _candidates(path):
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"{name} ({e})")
            if explicit:
                break
            continue
        try:
            abi = lib.digit_abi_version
        except AttributeError:
            raise LibraryError(f"{name} is not libdigit (no digit_abi_version)") from None
        abi.restype, abi.argtypes = c_int, []
        got = abi()
        if got != ABI_VERSION:
            raise LibraryError(
                f"{name} has ABI version {got}, this binding needs {ABI_VERSION}; "
                f"use a matching libdigit (soname libdigit.so.{ABI_VERSION})")
        _bind(lib, name)
        with _lib_lock:
            _lib, _lib_path = lib, name
        return lib
    raise LibraryError(
        "cannot load libdigit; tried: " + "; ".join(tried) +
        ". Build it with `make -j2 all` in the repository, or point "
        "DIGIT_LIBRARY (or digit.load_library(path)) at libdigit.so.1")


def _library() -> ctypes.CDLL:
    lib = _lib
    if lib is None:
        with _lib_lock:
            lib = _lib
        if lib is None:
            lib = load_library()
    return lib


def library_path() -> str:
    """The file (or name) the library in use was loaded from."""
    _library()
    assert _lib_path is not None
    return _lib_path


def version() -> str:
    """The loaded library's version, e.g. "1.0.0"."""
    return _library().digit_version().decode()


def _optional(lib: ctypes.CDLL, fn: str):
    try:
        return getattr(lib, fn)
    except AttributeError:
        raise LibraryError(f"{_lib_path} has no {fn}: rebuild libdigit") from None


def set_threads(threads: int) -> None:
    """How many threads inference and evaluation split a batch between
    (0, the default: one per online core). Process-wide. Training takes its
    count from ``Model.train(threads=...)``."""
    threads = _int_arg(threads, "threads", 0, 1024)
    _optional(_library(), "digit_set_threads")(threads)


def threads() -> int:
    """The effective number of inference threads (see set_threads)."""
    return int(_optional(_library(), "digit_threads")())


def presets() -> list[str]:
    """Names of the built-in architectures, e.g. ["basic", "compact"]."""
    lib = _library()
    names = []
    while True:
        n = lib.digit_preset_name(len(names))
        if n is None:
            return names
        names.append(n.decode())


# ---- helpers ---------------------------------------------------------------


def _fspath(path: PathLike, what: str = "path") -> bytes:
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


def _text(s: str, what: str) -> bytes:
    if not isinstance(s, str):
        raise TypeError(f"{what} must be a str, not {type(s).__name__}")
    if "\0" in s:
        raise ValueError(f"{what} contains a NUL character")
    return s.encode("utf-8", "surrogateescape")


def _decode(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "surrogateescape")


def _raise(lib: ctypes.CDLL, status: int, paths: tuple = ()) -> None:
    """Raises the exception for a failed call (status != 0)."""
    message = (lib.digit_last_error() or b"").decode("utf-8", "replace")
    name = (lib.digit_status_name(status) or b"").decode()
    if not message:
        message = f"libdigit: {name or 'error'} (status {status})"
    path = None
    for p in paths:
        if p is not None and message.startswith(os.fsdecode(p)):
            path = os.fsdecode(p)
            break
    if path is None and paths and paths[0] is not None:
        path = os.fsdecode(paths[0])
    cls = _STATUS_CLASSES.get(status, DigitError)
    if cls is DigitIOError and path is not None:
        if not os.path.lexists(path):
            cls = DigitFileNotFoundError
        elif os.path.isdir(path):
            cls = DigitIsADirectoryError
    raise cls(message, status, path, name)


def _check(lib: ctypes.CDLL, status: int, *paths) -> None:
    if status != _OK:
        _raise(lib, status, paths)


def _int_arg(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {value}")
    return value


def _float_arg(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, not {value}")
    return value


def _number_arg(value: Any, name: str) -> float:
    # Any finite number: the library checks the option's range and names it.
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")
    return value


def _as_array(images: Any, what: str) -> np.ndarray:
    if isinstance(images, np.ndarray):
        return images
    # PyTorch tensors and the like: anything exposing __array__.
    detach = getattr(images, "detach", None)
    if callable(detach):
        images = detach().cpu().numpy()
        return images
    if (isinstance(images, (list, tuple)) or hasattr(images, "__array__")
            or hasattr(images, "__array_interface__")):
        return np.asarray(images)
    raise TypeError(f"{what} must be a numpy array, not {type(images).__name__}")


def _image_batch(images: Any) -> np.ndarray:
    """Validates images and returns a C-contiguous (N, 784) uint8 or float32 array."""
    a = _as_array(images, "images")
    if a.dtype == np.uint8:
        pass
    elif a.dtype in (np.float32, np.float64):
        pass
    else:
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


def _gray_image(image: Any, what: str = "image") -> np.ndarray:
    """A 2-D C-contiguous uint8 array from uint8 or 0..1 float input."""
    a = _as_array(image, what)
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
    return np.ascontiguousarray(a)


def _u8(a: np.ndarray):
    return a.ctypes.data_as(_u8_p)


def _f32(a: np.ndarray):
    return a.ctypes.data_as(_f32_p)


# ---- result and progress types ----------------------------------------------


class LayerInfo(NamedTuple):
    """One row of a model's layer table."""
    name: str
    description: str
    shape: tuple  # output (channels, height, width) per image; flat layers (n, 1, 1)
    param_count: int


@dataclass(frozen=True)
class Evaluation:
    """digit_evaluate's result: mean NLL loss, accuracy (0..1), image count
    and the confusion matrix ``confusion[true, predicted]`` (10x10 int64)."""
    loss: float
    accuracy: float
    count: int
    confusion: np.ndarray

    def __repr__(self) -> str:
        return (f"Evaluation(loss={self.loss:.4f}, accuracy={self.accuracy:.4f}, "
                f"count={self.count})")


@dataclass(frozen=True)
class BatchProgress:
    """Passed to ``on_batch`` after every training batch."""
    epoch: int              # 1-based
    batch: int              # 1-based within the epoch
    batches_per_epoch: int
    loss: float             # mean loss of this batch
    images_seen: int        # in this epoch, this batch included
    learning_rate: float


@dataclass(frozen=True)
class EpochProgress:
    """Passed to ``on_epoch`` after every epoch (and returned by train())."""
    epoch: int              # 1-based
    epochs: int
    train_loss: float
    test_loss: float        # NaN without a test set
    test_accuracy: float    # 0..1, NaN without a test set
    seconds: float
    learning_rate: float


# ---- handles -----------------------------------------------------------------


class _Handle:
    """Owns one C handle; freed by close(), the context manager or __del__."""

    _kind = "object"
    _free_fn = ""

    def __init__(self, lib: ctypes.CDLL, handle: int):
        self._lib = lib
        self._h: Optional[int] = handle

    @classmethod
    def _adopt(cls, lib: ctypes.CDLL, handle: int):
        obj = cls.__new__(cls)
        _Handle.__init__(obj, lib, handle)
        return obj

    @property
    def _ptr(self) -> int:
        h = getattr(self, "_h", None)
        if h is None:
            raise ClosedError(f"this {self._kind} has been closed")
        return h

    @property
    def closed(self) -> bool:
        return getattr(self, "_h", None) is None

    def close(self) -> None:
        """Frees the C handle now. Further use raises ClosedError; closing
        twice is harmless."""
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            getattr(self._lib, self._free_fn)(h)

    def __enter__(self):
        self._ptr  # refuse a closed handle
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Dataset(_Handle):
    """Labelled 28x28 uint8 images held by libdigit (digit_dataset).

    Make one with :meth:`load`, :meth:`mnist` or :meth:`from_arrays`.
    ``len(ds)``, ``ds.images`` ((N, 28, 28) uint8 copy), ``ds.labels``
    ((N,) uint8 copy) and ``ds[a:b]`` (a copy of a contiguous range).
    """

    _kind = "Dataset"
    _free_fn = "digit_dataset_free"

    def __init__(self, *args, **kwargs):
        raise TypeError("use Dataset.load(), Dataset.mnist() or Dataset.from_arrays()")

    @classmethod
    def load(cls, images_path: PathLike, labels_path: PathLike) -> "Dataset":
        """Loads an IDX image file and its IDX label file (raw or .gz)."""
        lib = _library()
        ip, lp = _fspath(images_path, "images_path"), _fspath(labels_path, "labels_path")
        out = _dataset_p()
        _check(lib, lib.digit_dataset_load(ip, lp, ctypes.byref(out)), ip, lp)
        return cls._adopt(lib, out.value)

    @classmethod
    def mnist(cls, directory: PathLike, train: bool = True) -> "Dataset":
        """Loads ``<dir>/train-*-ubyte`` (train=True) or ``<dir>/t10k-*-ubyte``."""
        lib = _library()
        d = _fspath(directory, "directory")
        if not os.path.isdir(d):
            what = "does not exist" if not os.path.lexists(d) else "is not a folder"
            cls_ = DigitFileNotFoundError if not os.path.lexists(d) else DigitIOError
            raise cls_(f"{os.fsdecode(d)}: MNIST folder {what}", _ERR_IO,
                       os.fsdecode(d), "I/O error")
        out = _dataset_p()
        status = lib.digit_dataset_load_mnist(d, 1 if train else 0, ctypes.byref(out))
        if status != _OK:
            prefix = "train" if train else "t10k"
            _raise(lib, status, (os.path.join(d, f"{prefix}-images-idx3-ubyte".encode()),
                                 os.path.join(d, f"{prefix}-labels-idx1-ubyte".encode()), d))
        return cls._adopt(lib, out.value)

    @classmethod
    def from_arrays(cls, images: Any, labels: Any) -> "Dataset":
        """A dataset copied from uint8 images (N, 28, 28) or (N, 784) and N
        integer labels 0..9."""
        lib = _library()
        a = _as_array(images, "images")
        if a.dtype != np.uint8:
            raise TypeError(f"dataset images must be uint8 (0..255), not {a.dtype}")
        if a.ndim == 3 and a.shape[1:] == (IMAGE_SIDE, IMAGE_SIDE):
            n = a.shape[0]
        elif a.ndim == 2 and a.shape[1] == IMAGE_PIXELS:
            n = a.shape[0]
        else:
            raise ValueError(f"dataset images have shape {a.shape}; expected (N, 28, 28) "
                             "or (N, 784)")
        y = _as_array(labels, "labels")
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
        out = _dataset_p()
        _check(lib, lib.digit_dataset_create(_u8(a), _u8(y), n, ctypes.byref(out)))
        return cls._adopt(lib, out.value)

    def __len__(self) -> int:
        return int(self._lib.digit_dataset_count(self._ptr))

    @property
    def images(self) -> np.ndarray:
        """A copy of the images, (N, 28, 28) uint8."""
        n = len(self)
        p = self._lib.digit_dataset_images(self._ptr)
        return np.ctypeslib.as_array(p, shape=(n, IMAGE_SIDE, IMAGE_SIDE)).copy()

    @property
    def labels(self) -> np.ndarray:
        """A copy of the labels, (N,) uint8."""
        n = len(self)
        p = self._lib.digit_dataset_labels(self._ptr)
        return np.ctypeslib.as_array(p, shape=(n,)).copy()

    def slice(self, start: int, count: int) -> "Dataset":
        """A new dataset holding a copy of images [start, start+count)."""
        n = len(self)
        start = _int_arg(start, "start", 0, n)
        count = _int_arg(count, "count", 1, max(1, n - start))
        if start + count > n:
            raise ValueError(f"slice [{start}, {start + count}) is outside the {n} images")
        out = _dataset_p()
        _check(self._lib, self._lib.digit_dataset_slice(self._ptr, start, count,
                                                        ctypes.byref(out)))
        return Dataset._adopt(self._lib, out.value)

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("Dataset slices must be contiguous (step 1)")
            if stop <= start:
                raise ValueError("a Dataset slice must hold at least one image")
            return self.slice(start, stop - start)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self)
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"image index {key} out of range for {n} images")
            img = np.ctypeslib.as_array(self._lib.digit_dataset_images(self._ptr),
                                        shape=(n, IMAGE_SIDE, IMAGE_SIDE))[i].copy()
            label = int(self._lib.digit_dataset_labels(self._ptr)[i])
            return img, label
        raise TypeError(f"Dataset indices must be int or slice, not {type(key).__name__}")

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        images, labels = self.images, self.labels
        for i in range(len(labels)):
            yield images[i], int(labels[i])

    def __repr__(self) -> str:
        if self.closed:
            return "<digit.Dataset (closed)>"
        return f"<digit.Dataset of {len(self)} images>"


class _Metadata(Mapping):
    """A model's free-form string metadata: a read-only Mapping plus item
    assignment (keys and values are str; "format", "arch", "mean" and "std"
    are reserved). Keys iterate in insertion order. There is no deletion."""

    def __init__(self, model: "Model"):
        self._model = model

    def __getitem__(self, key: str) -> str:
        m = self._model
        v = m._lib.digit_model_metadata(m._ptr, _text(key, "metadata key"))
        if v is None:
            raise KeyError(key)
        return _decode(v)

    def __setitem__(self, key: str, value: str) -> None:
        m = self._model
        k = _text(key, "metadata key")
        v = _text(value, "metadata value")
        _check(m._lib, m._lib.digit_model_set_metadata(m._ptr, k, v))

    def __delitem__(self, key: str) -> None:
        raise TypeError("libdigit cannot delete model metadata keys")

    def update(self, other=(), **kwargs) -> None:
        items = other.items() if isinstance(other, Mapping) else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def _keys(self) -> list[str]:
        m = self._model
        keys = []
        while True:
            k = m._lib.digit_model_metadata_key(m._ptr, len(keys))
            if k is None:
                return keys
            keys.append(_decode(k))

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key) -> bool:
        if not isinstance(key, str):
            return False
        return self._model._lib.digit_model_metadata(
            self._model._ptr, _text(key, "metadata key")) is not None

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self.items())}}}"


class Model(_Handle):
    """A digit-recognition CNN (digit_model).

    ``Model(preset="basic", seed=1)`` creates a freshly initialised network
    ("basic" or "compact", see :func:`presets`); :meth:`load` reads a
    safetensors file written by libdigit, ``digitc`` or PyTorch. Use as a
    context manager or call :meth:`close` to free it deterministically.

    A model may be used for prediction from several threads at once;
    training, loading weights and setting metadata need exclusive access.
    """

    _kind = "Model"
    _free_fn = "digit_model_free"

    def __init__(self, preset: str = "basic", seed: int = 1):
        lib = _library()
        p = _text(preset, "preset")
        seed = _int_arg(seed, "seed", 0, 2**64 - 1)
        out = _model_p()
        _check(lib, lib.digit_model_create(p, seed, ctypes.byref(out)))
        _Handle.__init__(self, lib, out.value)

    # -- files --

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Loads a safetensors model file (libdigit's, digitc's or one saved
        from PyTorch with ``safetensors.torch.save_file(model.state_dict())``)."""
        lib = _library()
        p = _fspath(path)
        out = _model_p()
        _check(lib, lib.digit_model_load(p, ctypes.byref(out)), p)
        return cls._adopt(lib, out.value)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        """Loads a model from the bytes of a safetensors file."""
        lib = _library()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        buf = bytes(data)
        if not buf:
            raise ValueError("data is empty")
        out = _model_p()
        _check(lib, lib.digit_model_load_memory(buf, len(buf), ctypes.byref(out)))
        return cls._adopt(lib, out.value)

    def save(self, path: PathLike) -> None:
        """Writes the model as a safetensors file (atomically)."""
        p = _fspath(path)
        _check(self._lib, self._lib.digit_model_save(self._ptr, p), p)

    def clone(self) -> "Model":
        """An independent deep copy (weights and metadata)."""
        out = _model_p()
        _check(self._lib, self._lib.digit_model_clone(self._ptr, ctypes.byref(out)))
        return Model._adopt(self._lib, out.value)

    __copy__ = clone

    def __deepcopy__(self, memo) -> "Model":
        return self.clone()

    # -- description --

    @property
    def arch(self) -> str:
        """The architecture's preset name, "basic" or "compact"."""
        return _decode(self._lib.digit_model_arch(self._ptr))

    @property
    def param_count(self) -> int:
        """Number of trainable parameters."""
        return int(self._lib.digit_model_param_count(self._ptr))

    @property
    def layers(self) -> list[LayerInfo]:
        """The layer table: name, description, output shape, parameters."""
        h = self._ptr
        info = _LayerInfo()
        rows = []
        for i in range(self._lib.digit_model_layer_count(h)):
            _check(self._lib, self._lib.digit_model_layer(h, i, ctypes.byref(info)))
            rows.append(LayerInfo(_decode(info.name), _decode(info.description),
                                  (info.out_channels, info.out_height, info.out_width),
                                  int(info.param_count)))
        return rows

    def summary(self) -> str:
        """A printable multi-line summary: layer table and totals."""
        h = self._ptr
        need = self._lib.digit_model_summary(h, None, 0)
        buf = ctypes.create_string_buffer(need + 1)
        self._lib.digit_model_summary(h, buf, need + 1)
        return buf.value.decode("utf-8", "replace")

    @property
    def metadata(self) -> _Metadata:
        """Free-form str metadata saved with the model (dict-like; get/set)."""
        self._ptr
        return _Metadata(self)

    def __repr__(self) -> str:
        if self.closed:
            return "<digit.Model (closed)>"
        return f"<digit.Model {self.arch}, {self.param_count} parameters>"

    # -- weights --

    def _tensors(self) -> list[tuple[str, tuple, int, int]]:
        h = self._ptr
        info = _TensorInfo()
        out = []
        for i in range(self._lib.digit_model_tensor_count(h)):
            _check(self._lib, self._lib.digit_model_tensor(h, i, ctypes.byref(info)))
            shape = tuple(info.shape[d] for d in range(info.rank))
            out.append((_decode(info.name), shape, int(info.offset), int(info.count)))
        return out

    def _weights(self) -> np.ndarray:
        """A writable view of the C weight buffer; valid while the model is open."""
        p = self._lib.digit_model_weights(self._ptr)
        return np.ctypeslib.as_array(p, shape=(self.param_count,))

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights as {PyTorch state_dict name: float32 array copy}, e.g.
        "conv1.weight" (32, 1, 3, 3), in state_dict order."""
        w = self._weights()
        return {name: w[off:off + count].reshape(shape).copy()
                for name, shape, off, count in self._tensors()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replaces the weights from a {name: array} mapping with exactly the
        model's tensor names and shapes (NumPy arrays or PyTorch tensors)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping of name to array, not "
                            f"{type(state).__name__}")
        tensors = self._tensors()
        want = {name for name, *_ in tensors}
        missing = [n for n, *_ in tensors if n not in state]
        extra = [n for n in state if n not in want]
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if extra:
                parts.append("unexpected " + ", ".join(map(str, extra)))
            raise ValueError(f"state_dict does not fit a '{self.arch}' model: "
                             + "; ".join(parts))
        arrays = {}
        for name, shape, off, count in tensors:
            a = _as_array(state[name], name)
            if a.dtype.kind != "f":
                raise TypeError(f"{name} must hold floats, not {a.dtype}")
            if a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
            a = np.asarray(a, dtype=np.float32)
            if not np.isfinite(a).all():
                raise ValueError(f"{name} contains NaN or infinity")
            arrays[name] = a
        w = self._weights()
        for name, shape, off, count in tensors:
            w[off:off + count] = arrays[name].reshape(-1)

    # -- inference --

    def predict(self, images: Any, log: bool = False) -> np.ndarray:
        """Class probabilities, (N, 10) float32, for images of shape
        (N, 28, 28), (N, 784), (N, 1, 28, 28), or one image (28, 28) / (784,)
        (which gives N = 1). uint8 pixels are 0..255, float32/float64 0..1.
        ``log=True`` gives log-probabilities."""
        x = _image_batch(images)
        n = x.shape[0]
        out = np.empty((n, CLASSES), dtype=np.float32)
        if n:
            kind = _OUTPUT_LOG_PROBABILITIES if log else _OUTPUT_PROBABILITIES
            self._run(x, kind, _f32(out), None)
        return out

    def classify(self, images: Any) -> np.ndarray:
        """The most likely digit of each image, (N,) int64 (see predict())."""
        x = _image_batch(images)
        n = x.shape[0]
        labels = np.empty(n, dtype=np.intc)
        if n:
            self._run(x, _OUTPUT_PROBABILITIES, None, labels.ctypes.data_as(_int_p))
        return labels.astype(np.int64)

    def _run(self, x: np.ndarray, kind: int, out, labels) -> None:
        if x.dtype == np.uint8:
            st = self._lib.digit_predict_u8(self._ptr, _u8(x), x.shape[0], kind, out, labels)
        else:
            st = self._lib.digit_predict_f32(self._ptr, _f32(x), x.shape[0], kind, out, labels)
        _check(self._lib, st)

    def classify_png(self, path: PathLike) -> tuple[int, np.ndarray]:
        """Loads and preprocesses a PNG (see :func:`load_png`) and returns
        (digit, probabilities (10,) float32)."""
        p = self.predict(load_png(path))[0]
        return int(np.argmax(p)), p

    def evaluate(self, dataset: Dataset) -> Evaluation:
        """Loss, accuracy and confusion matrix on a dataset."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a digit.Dataset, not {type(dataset).__name__}")
        ev = _Evaluation()
        _check(self._lib, self._lib.digit_evaluate(self._ptr, dataset._ptr, ctypes.byref(ev)))
        confusion = np.ctypeslib.as_array(ev.confusion).astype(np.int64)
        return Evaluation(float(ev.loss), float(ev.accuracy), int(ev.count), confusion)

    # -- training --

    def train_options(self) -> dict[str, Any]:
        """The preset's default training options (digit_train_options_init)."""
        o = _default_options(self._lib, self.arch)
        return {
            "epochs": o.epochs, "batch_size": o.batch_size, "lr": o.learning_rate,
            "milestones": list(o.milestones[:o.milestone_count]), "gamma": o.gamma,
            "seed": o.seed, "threads": o.threads,
        }

    def train(self, train: Dataset, test: Optional[Dataset] = None, *,
              epochs: Optional[int] = None, batch_size: Optional[int] = None,
              lr: Optional[float] = None, milestones: Optional[list] = None,
              gamma: Optional[float] = None, seed: Optional[int] = None,
              threads: Optional[int] = None, checkpoint: Optional[PathLike] = None,
              resume: Optional[PathLike] = None,
              on_batch: Optional[Callable[[BatchProgress], Any]] = None,
              on_epoch: Optional[Callable[[EpochProgress], Any]] = None,
              schedule: Optional[str] = None, pct_start: Optional[float] = None,
              div_factor: Optional[float] = None, final_div_factor: Optional[float] = None,
              cycle_momentum: Optional[bool] = None, betas: Optional[tuple] = None,
              weight_decay: Optional[float] = None, label_smoothing: Optional[float] = None,
              augment: Optional[dict] = None,
              ) -> list[EpochProgress]:
        """Trains the model in place (Adam) and returns one EpochProgress per
        epoch run.

        Options left as None keep the preset's defaults (see
        :meth:`train_options`). ``checkpoint`` is written after every epoch
        and on cancellation; ``resume`` continues from such a file (same
        options) to the same model bit for bit. ``test`` is evaluated after
        every epoch.

        libdigit 2.1 options: ``schedule`` ("multistep", "onecycle", "cosine",
        "exponential") with ``pct_start``, ``div_factor``, ``final_div_factor``
        and ``cycle_momentum`` for one-cycle; Adam ``betas``; ``weight_decay``
        (decoupled, AdamW); ``label_smoothing``; ``augment``, a dict of
        ``rotate`` (degrees), ``scale``, ``shift`` (fractions) and ``shear``
        (degrees), keys left out being 0 (off). The library checks ranges.

        A callback returning a true value (``True`` or ``digit.STOP``) stops
        training after the current batch and raises :class:`TrainingCancelled`.
        An exception raised by a callback (KeyboardInterrupt included) also
        stops training and is re-raised here once the library has returned.
        Either way the model keeps the weights reached so far.
        """
        if not isinstance(train, Dataset):
            raise TypeError(f"train must be a digit.Dataset, not {type(train).__name__}")
        if test is not None and not isinstance(test, Dataset):
            raise TypeError(f"test must be a digit.Dataset or None, not {type(test).__name__}")
        for name, cb in (("on_batch", on_batch), ("on_epoch", on_epoch)):
            if cb is not None and not callable(cb):
                raise TypeError(f"{name} must be callable")
        model_h = self._ptr
        train_h = train._ptr
        test_h = test._ptr if test is not None else None

        o = _default_options(self._lib, self.arch)
        if epochs is not None:
            o.epochs = _int_arg(epochs, "epochs", 1, 100000)
        if batch_size is not None:
            o.batch_size = _int_arg(batch_size, "batch_size", 1, 65536)
        if lr is not None:
            o.learning_rate = _float_arg(lr, "lr")
        if gamma is not None:
            o.gamma = _float_arg(gamma, "gamma")
        if milestones is not None:
            ms = [_int_arg(m, "milestone", 1, 2**31 - 1) for m in milestones]
            if len(ms) > MAX_MILESTONES:
                raise ValueError(f"at most {MAX_MILESTONES} milestones, not {len(ms)}")
            if any(b <= a for a, b in zip(ms, ms[1:])):
                raise ValueError(f"milestones must be increasing, not {ms}")
            for i, m in enumerate(ms):
                o.milestones[i] = m
            for i in range(len(ms), MAX_MILESTONES):
                o.milestones[i] = 0
            o.milestone_count = len(ms)
        if seed is not None:
            o.seed = _int_arg(seed, "seed", 0, 2**64 - 1)
        if threads is not None:
            o.threads = _int_arg(threads, "threads", 0, 1024)
        _set_added_options(o, schedule, pct_start, div_factor, final_div_factor,
                           cycle_momentum, betas, weight_decay, label_smoothing, augment)
        ckpt = _fspath(checkpoint, "checkpoint") if checkpoint is not None else None
        res = _fspath(resume, "resume") if resume is not None else None
        o.checkpoint_path = ckpt

        history: list[EpochProgress] = []
        failure: list[BaseException] = []

        def call(cb, progress) -> int:
            # Never let an exception cross the C frame: keep it, stop, re-raise later.
            try:
                return 1 if cb is not None and cb(progress) else 0
            except BaseException as e:  # noqa: B902 - KeyboardInterrupt too
                failure.append(e)
                return 1

        def batch_cb(p, _user):
            if failure:
                return 1
            c = p.contents
            return call(on_batch, BatchProgress(c.epoch, c.batch, c.batches_per_epoch,
                                                float(c.loss), int(c.images_seen),
                                                c.learning_rate))

        def epoch_cb(p, _user):
            if failure:
                return 1
            c = p.contents
            progress = EpochProgress(c.epoch, c.epochs, c.train_loss, c.test_loss,
                                     c.test_accuracy, c.seconds, c.learning_rate)
            history.append(progress)
            return call(on_epoch, progress)

        # The batch callback is always installed so that Ctrl-C (delivered
        # when Python code runs) stops training within a batch.
        c_batch = _BatchCallback(batch_cb)
        c_epoch = _EpochCallback(epoch_cb)
        o.on_batch = c_batch
        o.on_epoch = c_epoch
        o.user = None
        status = self._lib.digit_train(model_h, train_h, test_h, ctypes.byref(o), res)
        if failure:
            raise failure[0]
        paths = tuple(p for p in (res, ckpt) if p is not None)
        try:
            _check(self._lib, status, *paths)
        except TrainingCancelled as e:
            e.history = history  # the epochs that did finish
            raise
        return history


def _set_added_options(o: _TrainOptions, schedule, pct_start, div_factor, final_div_factor,
                       cycle_momentum, betas, weight_decay, label_smoothing, augment) -> None:
    # The 2.1 fields of digit_train_options; None keeps the preset's value.
    if schedule is not None:
        if schedule not in _SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(_SCHEDULES)}, not {schedule!r}")
        o.schedule = _SCHEDULES[schedule]
    for name, value in (("pct_start", pct_start), ("div_factor", div_factor),
                        ("final_div_factor", final_div_factor),
                        ("weight_decay", weight_decay), ("label_smoothing", label_smoothing)):
        if value is not None:
            setattr(o, name, _number_arg(value, name))
    if cycle_momentum is not None:
        o.cycle_momentum = 1 if cycle_momentum else 0
    if betas is not None:
        if len(betas) != 2:
            raise ValueError(f"betas must be two numbers, not {betas!r}")
        o.beta1, o.beta2 = (_number_arg(b, "betas") for b in betas)
    if augment is not None:
        unknown = set(augment) - set(_AUGMENT_KEYS)
        if unknown:
            raise ValueError(f"unknown augment key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(_AUGMENT_KEYS)})")
        for k in _AUGMENT_KEYS:
            setattr(o, "augment_" + k, _number_arg(augment.get(k, 0.0), "augment " + k))


def _default_options(lib: ctypes.CDLL, arch: str) -> _TrainOptions:
    # The library writes at most the size this binding knows, and says in
    # struct_size how much of it it filled (an older library: less).
    o = _TrainOptions()
    _check(lib, lib.digit_train_options_init(ctypes.byref(o), ctypes.sizeof(o),
                                             _text(arch, "preset")))
    if o.struct_size < ctypes.sizeof(_TrainOptions):
        raise LibraryError(f"libdigit's digit_train_options is {o.struct_size} bytes, "
                           f"smaller than this binding's {ctypes.sizeof(_TrainOptions)}")
    o.struct_size = ctypes.sizeof(_TrainOptions)
    return o


# ---- images (PNG) ---------------------------------------------------------------


def mnist_dir(directory: Optional[PathLike] = None) -> Path:
    """The folder holding MNIST: `directory` if given, else ``$DIGIT_DATA``,
    else what the checkout's ``scripts/fetch_mnist.py`` fetches (and
    verifies) into the per-user cache. Raises DigitIOError when it fails."""
    if directory or os.environ.get("DIGIT_DATA"):
        return Path(directory or os.environ["DIGIT_DATA"]).expanduser()
    script = Path(__file__).resolve().parent.parent / "scripts" / "fetch_mnist.py"
    r = subprocess.run([sys.executable, str(script), "--quiet"],
                       capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        raise DigitIOError(f"cannot get MNIST: {script} exited {r.returncode}: "
                           f"{r.stderr.strip()} (set DIGIT_DATA to a folder with the "
                           "IDX files)", path=str(script))
    return Path(lines[-1])


def load_png(path: PathLike) -> np.ndarray:
    """Reads a PNG of any colour type and preprocesses it the MNIST way (gray,
    ink bright, cropped, scaled to 20 px, centred by mass): (28, 28) uint8.
    Raises ImageError when the picture holds no ink."""
    lib = _library()
    p = _fspath(path)
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _check(lib, lib.digit_image_load_png(p, _u8(out)), p)
    return out


def decode_png(data: Union[bytes, bytearray, memoryview]) -> np.ndarray:
    """load_png() for the bytes of a PNG file already in memory."""
    lib = _library()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
    buf = bytes(data)
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _check(lib, lib.digit_image_load_png_memory(buf, len(buf), _u8(out)))
    return out


def preprocess(gray: Any) -> np.ndarray:
    """The MNIST preprocessing of load_png() applied to a decoded 2-D gray
    image (uint8 0..255 or float 0..1, any polarity): (28, 28) uint8."""
    lib = _library()
    g = _gray_image(gray, "gray image")
    out = np.empty((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    _check(lib, lib.digit_image_preprocess(_u8(g), g.shape[1], g.shape[0], _u8(out)))
    return out


def save_png(path: PathLike, image: Any) -> None:
    """Writes a 2-D image (uint8 0..255 or float 0..1; (784,) is taken as
    28x28) as an 8-bit grayscale PNG, atomically."""
    lib = _library()
    p = _fspath(path)
    g = _gray_image(image)
    _check(lib, lib.digit_image_save_png(p, _u8(g), g.shape[1], g.shape[0]), p)
