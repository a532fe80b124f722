# SPDX-License-Identifier: MIT
"""Everything this package knows about libdigit's C interface (digit.h): the
constants, the ctypes mirrors of its structs, every function prototype, the
mapping of digit_status onto exceptions, and finding and loading the shared
library. The other modules call the C functions only through what is here.

The library is found, in order, from: the ``path`` given to
:func:`load_library`, ``$DIGIT_LIBRARY``, the copy bundled in the installed
package (``digit/_lib/``), the Makefile's ``build/`` of the checkout this
file sits in (for development), then the system
(``ctypes.util.find_library("digit")``, then ``libdigit.so``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import os
import re
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double,
                    c_float, c_int, c_size_t, c_uint8, c_uint32, c_uint64,
                    c_void_p)
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

from .errors import (ArgumentError, DigitError, DigitFileNotFoundError,
                     DigitIOError, DigitIsADirectoryError, DigitMemoryError,
                     FormatError, ImageError, LibraryError, TrainingCancelled,
                     BusyError)

PathLike = Union[str, "os.PathLike[str]"]

# digit.h's fixed sizes (the layouts below depend on them). The limits
# (DIGIT_MAX_EPOCHS and the like) are not copied here: the library checks
# options itself (digit_train_options_check) and its message is raised.
IMAGE_SIDE = 28
IMAGE_PIXELS = 784
CLASSES = 10
MAX_MILESTONES = 16
MAX_ARCH_NAME = 32

# digit_status
(OK, ERR_ARGUMENT, ERR_IO, ERR_FORMAT, ERR_MEMORY, ERR_CANCELLED, ERR_IMAGE,
 ERR_BUSY) = range(8)
# digit_output
OUTPUT_PROBABILITIES, OUTPUT_LOG_PROBABILITIES = 0, 1

_STATUS_CLASSES: dict[int, type[DigitError]] = {
    ERR_ARGUMENT: ArgumentError,
    ERR_IO: DigitIOError,
    ERR_FORMAT: FormatError,
    ERR_MEMORY: DigitMemoryError,
    ERR_CANCELLED: TrainingCancelled,
    ERR_IMAGE: ImageError,
    ERR_BUSY: BusyError,
}


# ---- C structures (mirrors of digit.h, same field order and types) ---------


class LayerInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("name", c_char_p),
        ("description", c_char_p),
        ("out_channels", c_int),
        ("out_height", c_int),
        ("out_width", c_int),
        ("param_count", c_size_t),
    ]


class TensorInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("name", c_char_p),
        ("rank", c_int),
        ("shape", c_int * 4),
        ("offset", c_size_t),
        ("count", c_size_t),
    ]


class Evaluation(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("loss", c_double),
        ("accuracy", c_double),
        ("count", c_size_t),
        ("confusion", (c_uint32 * CLASSES) * CLASSES),
    ]


class BatchProgress(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epoch", c_int),
        ("batch", c_int),
        ("batches_per_epoch", c_int),
        ("loss", c_float),
        ("images_seen", c_size_t),
        ("learning_rate", c_double),
    ]


class EpochProgress(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epoch", c_int),
        ("epochs", c_int),
        ("train_loss", c_double),
        ("test_loss", c_double),
        ("test_accuracy", c_double),
        ("seconds", c_double),
        ("learning_rate", c_double),
    ]


BatchCallback = CFUNCTYPE(c_int, POINTER(BatchProgress), c_void_p)
EpochCallback = CFUNCTYPE(c_int, POINTER(EpochProgress), c_void_p)


class TrainOptions(Structure):
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
        ("on_batch", BatchCallback),
        ("on_epoch", EpochCallback),
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
SCHEDULES = {"multistep": 0, "onecycle": 1, "cosine": 2, "exponential": 3}
AUGMENT_KEYS = ("rotate", "scale", "shift", "shear")


class CheckpointInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("arch", ctypes.c_char * MAX_ARCH_NAME),
        ("epochs_done", c_int),
        ("batches_done", c_int),
    ]


class Pixels(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("data", c_void_p),
        ("width", c_int),
        ("height", c_int),
        ("stride", c_size_t),
        ("channels", c_int),
        ("type", c_int),
    ]


class ImageReport(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("format", ctypes.c_char * 8),
        ("width", c_int),
        ("height", c_int),
        ("decoded_width", c_int),
        ("decoded_height", c_int),
        ("orientation", c_int),
        ("marks", c_int),
        ("warnings", c_uint32),
        ("ink_x", c_int),
        ("ink_y", c_int),
        ("ink_width", c_int),
        ("ink_height", c_int),
        ("reserved", c_uint32 * 8),
    ]


def sized(cls: Any) -> Any:
    """A zeroed struct with struct_size set, as digit.h's *_init helpers do."""
    s = cls()
    s.struct_size = ctypes.sizeof(cls)
    return s


model_p = c_void_p
dataset_p = c_void_p
_u8_p = POINTER(c_uint8)
_f32_p = POINTER(c_float)
int_p = POINTER(c_int)

# name: (restype, argtypes)
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "digit_version": (c_char_p, []),
    "digit_version_number": (c_int, []),
    "digit_last_error": (c_char_p, []),
    "digit_status_name": (c_char_p, [c_int]),
    "digit_set_threads": (None, [c_int]),
    "digit_threads": (c_int, []),
    "digit_preset_name": (c_char_p, [c_size_t]),
    "digit_default_model_file": (c_char_p, []),
    "digit_model_create": (c_int, [c_char_p, c_uint64, POINTER(model_p)]),
    "digit_model_free": (None, [model_p]),
    "digit_model_clone": (c_int, [model_p, POINTER(model_p)]),
    "digit_model_arch": (c_char_p, [model_p]),
    "digit_model_param_count": (c_size_t, [model_p]),
    "digit_model_normalization": (None, [model_p, _f32_p, _f32_p]),
    "digit_model_layer_count": (c_size_t, [model_p]),
    "digit_model_layer": (c_int, [model_p, c_size_t, POINTER(LayerInfo)]),
    "digit_model_summary": (c_size_t, [model_p, c_char_p, c_size_t]),
    "digit_model_metadata": (c_char_p, [model_p, c_char_p]),
    "digit_model_set_metadata": (c_int, [model_p, c_char_p, c_char_p]),
    "digit_model_remove_metadata": (c_int, [model_p, c_char_p]),
    "digit_model_metadata_key": (c_char_p, [model_p, c_size_t]),
    "digit_model_tensor_count": (c_size_t, [model_p]),
    "digit_model_tensor": (c_int, [model_p, c_size_t, POINTER(TensorInfo)]),
    "digit_model_weights": (_f32_p, [model_p]),
    "digit_model_weights_mutable": (_f32_p, [model_p]),
    "digit_model_save": (c_int, [model_p, c_char_p]),
    "digit_model_load": (c_int, [c_char_p, POINTER(model_p)]),
    "digit_model_load_memory": (c_int, [c_void_p, c_size_t, POINTER(model_p)]),
    "digit_predict_u8": (c_int, [model_p, _u8_p, c_size_t, c_int, _f32_p, int_p]),
    "digit_predict_f32": (c_int, [model_p, _f32_p, c_size_t, c_int, _f32_p, int_p]),
    "digit_dataset_load": (c_int, [c_char_p, c_char_p, POINTER(dataset_p)]),
    "digit_dataset_load_mnist": (c_int, [c_char_p, c_int, POINTER(dataset_p)]),
    "digit_dataset_create": (c_int, [_u8_p, _u8_p, c_size_t, POINTER(dataset_p)]),
    "digit_dataset_slice": (c_int, [dataset_p, c_size_t, c_size_t, POINTER(dataset_p)]),
    "digit_dataset_load_folder": (c_int, [c_char_p, POINTER(dataset_p)]),
    "digit_dataset_concat": (c_int, [dataset_p, dataset_p, POINTER(dataset_p)]),
    "digit_dataset_free": (None, [dataset_p]),
    "digit_dataset_count": (c_size_t, [dataset_p]),
    "digit_dataset_images": (_u8_p, [dataset_p]),
    "digit_dataset_labels": (_u8_p, [dataset_p]),
    "digit_evaluate": (c_int, [model_p, dataset_p, POINTER(Evaluation)]),
    "digit_train_options_init": (c_int, [c_void_p, c_size_t, c_char_p]),
    "digit_train_options_check": (c_int, [POINTER(TrainOptions)]),
    "digit_augment_images": (c_int, [POINTER(TrainOptions), c_int, _u8_p, c_size_t,
                                     c_size_t, _u8_p]),
    "digit_checkpoint_read": (c_int, [c_char_p, POINTER(CheckpointInfo),
                                      POINTER(TrainOptions)]),
    "digit_train": (c_int, [model_p, dataset_p, dataset_p,
                            POINTER(TrainOptions), c_char_p]),
    "digit_image_load": (c_int, [c_char_p, _u8_p, POINTER(ImageReport)]),
    "digit_image_load_memory": (c_int, [c_void_p, c_size_t, _u8_p, POINTER(ImageReport)]),
    "digit_image_preprocess": (c_int, [POINTER(Pixels), _u8_p, POINTER(ImageReport)]),
    "digit_image_warning_name": (c_char_p, [c_uint32]),
    "digit_image_save_png": (c_int, [c_char_p, _u8_p, c_int, c_int]),
}

# Functions added after 2.0.0 go here (with the minor version that added
# them): a library without them still loads, and only the calls that need
# them refuse to work.
_OPTIONAL: set[str] = set()


# ---- the version this binding was made for ---------------------------------


def binding_version() -> str:
    """The libdigit version this package mirrors: written once, in digit.h's
    DIGIT_VERSION_* macros, which setup.py copies into the package metadata
    of a wheel; a checkout reads the header itself."""
    header = Path(__file__).resolve().parent.parent.parent / "include" / "digit.h"
    if header.is_file():
        text = header.read_text()
        parts = [re.search(rf"^#define DIGIT_VERSION_{k} (\d+)", text, re.M)
                 for k in ("MAJOR", "MINOR", "PATCH")]
        if all(parts):
            return ".".join(m.group(1) for m in parts if m)
    try:
        return importlib.metadata.version("digit")
    except importlib.metadata.PackageNotFoundError:
        raise LibraryError("cannot tell which libdigit this binding is for: no "
                           "include/digit.h next to it and no package metadata") from None


# The major version: the struct layouts above are those of libdigit ABI_MAJOR.x.
ABI_MAJOR = int(binding_version().split(".")[0])


# ---- finding and loading the library --------------------------------------

_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_lib_lock = threading.Lock()

_PACKAGE = Path(__file__).resolve().parent
# Only a checkout has python/digit/ two levels under a folder with include/digit.h.
_CHECKOUT = _PACKAGE.parent.parent


def bundled_library() -> Optional[Path]:
    """The libdigit.so.N that a wheel carries in digit/_lib/, if any."""
    found = sorted((_PACKAGE / "_lib").glob("libdigit.so*"))
    return found[0] if found else None


def checkout_library() -> Optional[Path]:
    """<checkout>/build/libdigit.so after `make`, when running from a checkout."""
    lib = _CHECKOUT / "build" / "libdigit.so"
    if (_CHECKOUT / "include" / "digit.h").is_file() and lib.exists():
        return lib
    return None


def _candidates(path: Optional[PathLike]) -> list[tuple[str, bool]]:
    """(name, explicit) pairs to try in order; an explicit one is the only try."""
    if path is not None:
        return [(os.fspath(path), True)]
    env = os.environ.get("DIGIT_LIBRARY")
    if env:
        return [(env, True)]
    found = [(str(p), False) for p in (bundled_library(), checkout_library()) if p]
    system = ctypes.util.find_library("digit")
    if system:
        found.append((system, False))
    found.append(("libdigit.so", False))
    return found


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
    """Loads libdigit and makes it the library this package uses.

    ``path`` (or else ``$DIGIT_LIBRARY``) names the file exactly; without
    either, the copy bundled with the package, a checkout's ``build/`` and
    then the system's library are tried. Raises :class:`LibraryError` when
    nothing loads or the library's ABI version is not the binding's. Objects
    made before a reload keep using the library that made them.
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
            number = lib.digit_version_number
        except AttributeError:
            raise LibraryError(f"{name} is not libdigit 2 or later "
                               "(no digit_version_number)") from None
        number.restype, number.argtypes = c_int, []
        got = number() // 10000
        if got != ABI_MAJOR:
            raise LibraryError(
                f"{name} is libdigit {got}.x, this binding needs {ABI_MAJOR}.x; "
                f"use a matching libdigit")
        _bind(lib, name)
        with _lib_lock:
            _lib, _lib_path = lib, name
        return lib
    raise LibraryError(
        "cannot load libdigit; tried: " + "; ".join(tried) +
        ". Install the digit wheel, build it with `make -j2 all` in the "
        "repository, or point DIGIT_LIBRARY (or digit.load_library(path)) at "
        "libdigit.so")


def library() -> ctypes.CDLL:
    """The library in use, loaded on first need."""
    lib = _lib
    if lib is None:
        with _lib_lock:
            lib = _lib
        if lib is None:
            lib = load_library()
    return lib


def library_path() -> str:
    """The file (or name) the library in use was loaded from."""
    library()
    assert _lib_path is not None
    return _lib_path


def optional(lib: ctypes.CDLL, fn: str) -> Any:
    """A function that older libraries lack; LibraryError when missing."""
    try:
        return getattr(lib, fn)
    except AttributeError:
        raise LibraryError(f"{_lib_path} has no {fn}: rebuild libdigit") from None


# ---- statuses -> exceptions --------------------------------------------------


def decode(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "surrogateescape")


def raise_status(lib: ctypes.CDLL, status: int,
                 paths: tuple[Optional[bytes], ...] = ()) -> None:
    """Raises the exception for a failed call (status != OK)."""
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


def check(lib: ctypes.CDLL, status: int, *paths: Optional[bytes]) -> None:
    if status != OK:
        raise_status(lib, status, paths)


# ---- arrays as C pointers ------------------------------------------------------


def u8(a: npt.NDArray[np.uint8]) -> Any:
    return a.ctypes.data_as(_u8_p)


def f32(a: npt.NDArray[np.float32]) -> Any:
    return a.ctypes.data_as(_f32_p)


def default_options(lib: ctypes.CDLL, arch: bytes) -> TrainOptions:
    """The preset's digit_train_options, sized as this binding knows them (a
    library older than the struct refuses the size with a message)."""
    o = TrainOptions()
    check(lib, lib.digit_train_options_init(ctypes.byref(o), ctypes.sizeof(o), arch))
    return o
