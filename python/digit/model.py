# SPDX-License-Identifier: MIT
"""digit.Model: a digit-recognition CNN held by libdigit (digit_model)."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _capi
from ._args import (as_array, fspath, image_batch, int_arg, number_arg, text)
from ._capi import CLASSES, MAX_MILESTONES, PathLike
from ._handle import Handle
from .dataset import Dataset
from .errors import ArgumentError, DigitFileNotFoundError, TrainingCancelled
from .images import load_image, picture
from .results import BatchProgress, EpochProgress, Evaluation, LayerInfo

__all__ = ["Model", "Checkpoint", "read_checkpoint", "default_model_path"]

_PACKAGE = Path(__file__).resolve().parent


def default_model_path() -> Path:
    """The shipped model: ``$DIGIT_MODEL``, else the copy bundled in the
    package (digit/_data/), else models/ of the checkout this file is in.
    Raises DigitFileNotFoundError naming every path tried."""
    env = os.environ.get("DIGIT_MODEL")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise DigitFileNotFoundError(f"{path}: no such model file ($DIGIT_MODEL)",
                                         _capi.ERR_IO, str(path))
        return path
    name = default_model_name()
    tried = [_PACKAGE / "_data" / name, _PACKAGE.parent.parent / "models" / name]
    for path in tried:
        if path.is_file():
            return path
    raise DigitFileNotFoundError(
        f"the default model {name} was not found (tried {', '.join(map(str, tried))}); "
        "pass a path to Model.load(), set DIGIT_MODEL, or reinstall the digit package",
        _capi.ERR_IO, str(tried[0]))


def default_model_name() -> str:
    """DIGIT_DEFAULT_MODEL_FILE, as the loaded library spells it."""
    lib = _capi.library()
    name = _capi.decode(lib.digit_default_model_file())
    assert name is not None
    return name


class _Metadata(Mapping[str, str]):
    """A model's free-form string metadata: a read-only Mapping plus item
    assignment and deletion (keys and values are str; "format", "arch",
    "mean" and "std" are reserved). Keys iterate in insertion order."""

    def __init__(self, model: "Model"):
        self._model = model

    def __getitem__(self, key: str) -> str:
        m = self._model
        with m._use() as h:
            v = _capi.decode(m._lib.digit_model_metadata(h, text(key, "metadata key")))
        if v is None:
            raise KeyError(key)
        return v

    def __setitem__(self, key: str, value: str) -> None:
        m = self._model
        k, v = text(key, "metadata key"), text(value, "metadata value")
        with m._use() as h:
            _capi.check(m._lib, m._lib.digit_model_set_metadata(h, k, v))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        m = self._model
        with m._use() as h:
            _capi.check(m._lib, m._lib.digit_model_remove_metadata(h, text(key, "metadata key")))

    def update(self, other: Any = (), **kwargs: str) -> None:
        items = other.items() if isinstance(other, Mapping) else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def _keys(self) -> list[str]:
        m = self._model
        keys: list[str] = []
        with m._use() as h:
            while True:
                k = _capi.decode(m._lib.digit_model_metadata_key(h, len(keys)))
                if k is None:
                    return keys
                keys.append(k)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        m = self._model
        with m._use() as h:
            return m._lib.digit_model_metadata(h, text(key, "metadata key")) is not None

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self.items())}}}"


class Model(Handle):
    """A digit-recognition CNN (digit_model).

    ``Model(preset="basic", seed=1)`` creates a freshly initialised network
    ("basic" or "compact", see :func:`presets`); :meth:`load` reads a
    safetensors file written by libdigit, ``digitc`` or PyTorch;
    :meth:`default` loads the shipped model. Use as a context manager or call
    :meth:`close` to free it deterministically.

    A model may be shared between threads: predictions run in parallel, and
    close() on one thread never frees the model under a call running on
    another (that call finishes; later ones raise ClosedError). Training,
    loading weights and setting metadata need exclusive access.
    """

    _kind = "Model"
    _free_fn = "digit_model_free"

    def __init__(self, preset: str = "basic", seed: int = 1):
        lib = _capi.library()
        p = text(preset, "preset")
        seed = int_arg(seed, "seed", 0, 2**64 - 1)
        out = _capi.model_p()
        _capi.check(lib, lib.digit_model_create(p, seed, ctypes.byref(out)))
        Handle.__init__(self, lib, int(out.value or 0))

    # -- files --

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Loads a safetensors model file (libdigit's, digitc's or one saved
        from PyTorch with ``safetensors.torch.save_file(model.state_dict())``)."""
        lib = _capi.library()
        p = fspath(path)
        out = _capi.model_p()
        _capi.check(lib, lib.digit_model_load(p, ctypes.byref(out)), p)
        return cls._adopt(lib, int(out.value or 0))

    @classmethod
    def default(cls) -> "Model":
        """The shipped, trained model (see :func:`default_model_path`)."""
        return cls.load(default_model_path())

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        """Loads a model from the bytes of a safetensors file."""
        lib = _capi.library()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        buf = bytes(data)
        if not buf:
            raise ValueError("data is empty")
        out = _capi.model_p()
        _capi.check(lib, lib.digit_model_load_memory(buf, len(buf), ctypes.byref(out)))
        return cls._adopt(lib, int(out.value or 0))

    def save(self, path: PathLike) -> None:
        """Writes the model as a safetensors file (atomically)."""
        p = fspath(path)
        with self._use() as h:
            _capi.check(self._lib, self._lib.digit_model_save(h, p), p)

    def clone(self) -> "Model":
        """An independent deep copy (weights and metadata)."""
        out = _capi.model_p()
        with self._use() as h:
            _capi.check(self._lib, self._lib.digit_model_clone(h, ctypes.byref(out)))
        return Model._adopt(self._lib, int(out.value or 0))

    __copy__ = clone

    def __deepcopy__(self, memo: Any) -> "Model":
        return self.clone()

    # -- description --

    @property
    def arch(self) -> str:
        """The architecture's preset name, "basic" or "compact"."""
        with self._use() as h:
            return _capi.decode(self._lib.digit_model_arch(h)) or ""

    @property
    def param_count(self) -> int:
        """Number of trainable parameters."""
        with self._use() as h:
            return int(self._lib.digit_model_param_count(h))

    @property
    def normalization(self) -> tuple[float, float]:
        """(mean, std) of the input normalisation the model applies itself:
        (pixel/255 - mean) / std."""
        mean, std = ctypes.c_float(), ctypes.c_float()
        with self._use() as h:
            self._lib.digit_model_normalization(h, ctypes.byref(mean), ctypes.byref(std))
        return float(mean.value), float(std.value)

    @property
    def layers(self) -> list[LayerInfo]:
        """The layer table: name, description, output shape, parameters."""
        info = _capi.sized(_capi.LayerInfo)
        rows = []
        with self._use() as h:
            for i in range(self._lib.digit_model_layer_count(h)):
                _capi.check(self._lib, self._lib.digit_model_layer(h, i, ctypes.byref(info)))
                rows.append(LayerInfo(_capi.decode(info.name) or "",
                                      _capi.decode(info.description) or "",
                                      (info.out_channels, info.out_height, info.out_width),
                                      int(info.param_count)))
        return rows

    def summary(self) -> str:
        """A printable multi-line summary: layer table and totals."""
        with self._use() as h:
            need = self._lib.digit_model_summary(h, None, 0)
            buf = ctypes.create_string_buffer(need + 1)
            self._lib.digit_model_summary(h, buf, need + 1)
        return buf.value.decode("utf-8", "replace")

    @property
    def metadata(self) -> _Metadata:
        """Free-form str metadata saved with the model (dict-like; get/set)."""
        with self._use():
            return _Metadata(self)

    def __repr__(self) -> str:
        if self.closed:
            return "<digit.Model (closed)>"
        return f"<digit.Model {self.arch}, {self.param_count} parameters>"

    # -- weights --

    def _tensors(self, h: int) -> list[tuple[str, tuple[int, ...], int, int]]:
        info = _capi.sized(_capi.TensorInfo)
        out = []
        for i in range(self._lib.digit_model_tensor_count(h)):
            _capi.check(self._lib, self._lib.digit_model_tensor(h, i, ctypes.byref(info)))
            shape = tuple(info.shape[d] for d in range(info.rank))
            out.append((_capi.decode(info.name) or "", shape, int(info.offset), int(info.count)))
        return out

    def _weights(self, h: int, writable: bool = False) -> npt.NDArray[np.float32]:
        """A view of the C weight buffer, valid while `h` is in use: read-only,
        or through digit_model_weights_mutable (which marks what the library
        derived from the weights as stale)."""
        n = int(self._lib.digit_model_param_count(h))
        if not writable:
            view = np.ctypeslib.as_array(self._lib.digit_model_weights(h), shape=(n,))
            view.flags.writeable = False
            return view
        ptr = self._lib.digit_model_weights_mutable(h)
        if not ptr:
            _capi.raise_status(self._lib, _capi.ERR_BUSY)
        return np.ctypeslib.as_array(ptr, shape=(n,))

    def state_dict(self) -> dict[str, npt.NDArray[np.float32]]:
        """The weights as {PyTorch state_dict name: float32 array copy}, e.g.
        "conv1.weight" (32, 1, 3, 3), in state_dict order."""
        with self._use() as h:
            w = self._weights(h)
            return {name: w[off:off + count].reshape(shape).copy()
                    for name, shape, off, count in self._tensors(h)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replaces the weights from a {name: array} mapping with exactly the
        model's tensor names and shapes (NumPy arrays or PyTorch tensors)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping of name to array, not "
                            f"{type(state).__name__}")
        with self._use() as h:
            tensors = self._tensors(h)
            arrays = _checked_state(state, tensors, self.arch)
            w = self._weights(h, writable=True)
            for name, _shape, off, count in tensors:
                w[off:off + count] = arrays[name].reshape(-1)

    # -- inference --

    def predict(self, images: Any, log: bool = False) -> npt.NDArray[np.float32]:
        """Class probabilities, (N, 10) float32, for images of shape
        (N, 28, 28), (N, 784), (N, 1, 28, 28), or one image (28, 28) / (784,)
        (which gives N = 1). uint8 pixels are 0..255, float32/float64 0..1.
        One picture — an image file's path or bytes (PNG or JPEG), a PIL
        image, or a raw array of another shape ((H, W), (H, W, 3), (H, W, 4);
        uint8, uint16 or float) — is preprocessed by the library
        (see :func:`inspect_image`) and gives (10,).
        ``log=True`` gives log-probabilities."""
        one = picture(images)
        x = image_batch(one if one is not None else images)
        n = x.shape[0]
        out = np.empty((n, CLASSES), dtype=np.float32)
        if n:
            kind = _capi.OUTPUT_LOG_PROBABILITIES if log else _capi.OUTPUT_PROBABILITIES
            self._run(x, kind, _capi.f32(out), None)
        return out[0] if one is not None else out

    def classify(self, images: Any) -> Any:
        """The most likely digit of each image, (N,) int64 (see predict());
        an int for one picture (a path, file bytes, a PIL image or a picture array)."""
        one = picture(images)
        x = image_batch(one if one is not None else images)
        n = x.shape[0]
        labels = np.empty(n, dtype=np.intc)
        if n:
            self._run(x, _capi.OUTPUT_PROBABILITIES, None, labels.ctypes.data_as(_capi.int_p))
        return int(labels[0]) if one is not None else labels.astype(np.int64)

    def _run(self, x: npt.NDArray[Any], kind: int, out: Any, labels: Any) -> None:
        with self._use() as h:
            if x.dtype == np.uint8:
                st = self._lib.digit_predict_u8(h, _capi.u8(x), x.shape[0], kind, out, labels)
            else:
                st = self._lib.digit_predict_f32(h, _capi.f32(x), x.shape[0], kind, out, labels)
            _capi.check(self._lib, st)

    def classify_image(self, path: PathLike) -> tuple[int, npt.NDArray[np.float32]]:
        """Loads and preprocesses an image file (see :func:`load_image`) and returns
        (digit, probabilities (10,) float32)."""
        p = self.predict(load_image(path))[0]
        return int(np.argmax(p)), p

    def evaluate(self, dataset: Dataset) -> Evaluation:
        """Loss, accuracy and confusion matrix on a dataset."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a digit.Dataset, not {type(dataset).__name__}")
        ev = _capi.sized(_capi.Evaluation)
        with self._use() as h, dataset._use() as d:
            _capi.check(self._lib, self._lib.digit_evaluate(h, d, ctypes.byref(ev)))
        confusion = np.ctypeslib.as_array(ev.confusion).astype(np.int64)
        return Evaluation(float(ev.loss), float(ev.accuracy), int(ev.count), confusion)

    # -- training --

    def train_options(self) -> dict[str, Any]:
        """The preset's default training options (digit_train_options_init)."""
        return options_dict(_capi.default_options(self._lib, text(self.arch, "preset")))

    def train(self, train: Dataset, test: Optional[Dataset] = None, *,
              epochs: Optional[int] = None, batch_size: Optional[int] = None,
              lr: Optional[float] = None, milestones: Optional[list[int]] = None,
              gamma: Optional[float] = None, seed: Optional[int] = None,
              threads: Optional[int] = None, checkpoint: Optional[PathLike] = None,
              resume: Optional[PathLike] = None,
              on_batch: Optional[Callable[[BatchProgress], Any]] = None,
              on_epoch: Optional[Callable[[EpochProgress], Any]] = None,
              schedule: Optional[str] = None, pct_start: Optional[float] = None,
              div_factor: Optional[float] = None, final_div_factor: Optional[float] = None,
              cycle_momentum: Optional[bool] = None,
              betas: Optional[tuple[float, float]] = None,
              weight_decay: Optional[float] = None, label_smoothing: Optional[float] = None,
              augment: Optional[Mapping[str, float]] = None,
              ) -> list[EpochProgress]:
        """Trains the model in place (Adam) and returns one EpochProgress per
        epoch run.

        Options left as None keep the preset's defaults (see
        :meth:`train_options`); the library checks them and its message is
        raised as :class:`ArgumentError`. ``checkpoint`` is written after
        every epoch and on cancellation; ``resume`` continues from such a
        file (same options; see :func:`read_checkpoint`) to the same model
        bit for bit. ``test`` is evaluated after every epoch.

        The schedule and regularisation: ``schedule`` ("multistep",
        "onecycle", "cosine", "exponential") with ``pct_start``,
        ``div_factor``, ``final_div_factor`` and ``cycle_momentum`` for
        one-cycle; Adam ``betas``; ``weight_decay`` (decoupled, AdamW);
        ``label_smoothing``; ``augment``, a mapping of ``rotate`` (degrees),
        ``scale``, ``shift`` (fractions) and ``shear`` (degrees), keys left
        out being 0 (off). None keeps the preset's value.

        A callback returning a true value (``True`` or ``digit.STOP``) stops
        training after the current batch and raises :class:`TrainingCancelled`.
        An exception raised by a callback (KeyboardInterrupt included) also
        stops training and is re-raised here once the library has returned.
        Either way the model keeps the weights reached so far. A callback
        may read the model (predict, evaluate, save) but not modify it:
        that raises :class:`BusyError`.
        """
        _check_training_args(train, test, on_batch, on_epoch)
        o = self._training_options(epochs=epochs, batch_size=batch_size, lr=lr, gamma=gamma,
                                   milestones=milestones, seed=seed, threads=threads)
        _apply_schedule_options(o, schedule=schedule, pct_start=pct_start,
                                div_factor=div_factor, final_div_factor=final_div_factor,
                                cycle_momentum=cycle_momentum, betas=betas,
                                weight_decay=weight_decay, label_smoothing=label_smoothing,
                                augment=augment)
        _capi.check(self._lib, self._lib.digit_train_options_check(ctypes.byref(o)))
        ckpt = fspath(checkpoint, "checkpoint") if checkpoint is not None else None
        res = fspath(resume, "resume") if resume is not None else None
        o.checkpoint_path = ckpt
        run = _TrainingRun(on_batch, on_epoch)
        # The batch callback is always installed so that Ctrl-C (delivered
        # when Python code runs) stops training within a batch.
        o.on_batch, o.on_epoch, o.user = run.c_batch, run.c_epoch, None
        status = self._run_training(train, test, o, res)
        return run.finish(self._lib, status, res, ckpt)

    def _training_options(self, **given: Any) -> _capi.TrainOptions:
        """The preset's defaults with the options given (train() has the
        library check them once the schedule options are in too)."""
        o = _capi.default_options(self._lib, text(self.arch, "preset"))
        _apply_options(o, **given)
        return o

    def _run_training(self, train: Dataset, test: Optional[Dataset],
                      o: _capi.TrainOptions, resume: Optional[bytes]) -> int:
        """digit_train with every handle held; returns its status."""
        with ExitStack() as stack:
            h = stack.enter_context(self._use())
            train_h = stack.enter_context(train._use())
            test_h = stack.enter_context(test._use()) if test is not None else None
            return int(self._lib.digit_train(h, train_h, test_h, ctypes.byref(o), resume))


def _check_training_args(train: Any, test: Any, on_batch: Any, on_epoch: Any) -> None:
    if not isinstance(train, Dataset):
        raise TypeError(f"train must be a digit.Dataset, not {type(train).__name__}")
    if test is not None and not isinstance(test, Dataset):
        raise TypeError(f"test must be a digit.Dataset or None, not {type(test).__name__}")
    for name, cb in (("on_batch", on_batch), ("on_epoch", on_epoch)):
        if cb is not None and not callable(cb):
            raise TypeError(f"{name} must be callable")


def options_dict(o: _capi.TrainOptions) -> dict[str, Any]:
    """A digit_train_options as train()'s keyword arguments."""
    return {
        "epochs": o.epochs, "batch_size": o.batch_size, "lr": o.learning_rate,
        "milestones": list(o.milestones[:o.milestone_count]), "gamma": o.gamma,
        "seed": o.seed, "threads": o.threads,
        "schedule": next(k for k, v in _capi.SCHEDULES.items() if v == o.schedule),
        "pct_start": o.pct_start, "div_factor": o.div_factor,
        "final_div_factor": o.final_div_factor, "cycle_momentum": bool(o.cycle_momentum),
        "betas": (o.beta1, o.beta2), "weight_decay": o.weight_decay,
        "label_smoothing": o.label_smoothing,
        "augment": {k: getattr(o, "augment_" + k) for k in _capi.AUGMENT_KEYS},
    }


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint written by Model.train(checkpoint=...) says about
    its run: the architecture, how far it got, and the options it used (as
    train()'s keyword arguments, to resume it)."""
    arch: str
    epochs_done: int
    batches_done: int
    options: dict[str, Any]


def read_checkpoint(path: PathLike) -> Checkpoint:
    """Reads a training checkpoint (digit_checkpoint_read). Raises
    DigitIOError / FormatError naming the file."""
    lib = _capi.library()
    p = fspath(path, "path")
    info = _capi.sized(_capi.CheckpointInfo)
    o = _capi.default_options(lib, b"basic")
    _capi.check(lib, lib.digit_checkpoint_read(p, ctypes.byref(info), ctypes.byref(o)), p)
    return Checkpoint(info.arch.decode(), int(info.epochs_done), int(info.batches_done),
                      options_dict(o))


def _checked_state(state: Mapping[str, Any], tensors: list[tuple[str, tuple[int, ...], int, int]],
                   arch: str) -> dict[str, npt.NDArray[np.float32]]:
    """The arrays of `state`, checked against the model's tensors."""
    want = {name for name, *_ in tensors}
    missing = [n for n, *_ in tensors if n not in state]
    extra = [n for n in state if n not in want]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(map(str, extra)))
        raise ValueError(f"state_dict does not fit a '{arch}' model: " + "; ".join(parts))
    arrays = {}
    for name, shape, _off, _count in tensors:
        a = as_array(state[name], name)
        if a.dtype.kind != "f":
            raise TypeError(f"{name} must hold floats, not {a.dtype}")
        if a.shape != shape:
            raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
        f = np.asarray(a, dtype=np.float32)
        if not np.isfinite(f).all():
            raise ValueError(f"{name} contains NaN or infinity")
        arrays[name] = f
    return arrays


# A C int: what the struct can hold. The ranges are the library's to check.
_C_INT = (-2**31, 2**31 - 1)


def _apply_options(o: _capi.TrainOptions, *, epochs: Optional[int], batch_size: Optional[int],
                   lr: Optional[float], gamma: Optional[float], milestones: Optional[list[int]],
                   seed: Optional[int], threads: Optional[int]) -> None:
    """Writes the options given over the preset's defaults, checking only
    that they are numbers that fit the C struct."""
    if epochs is not None:
        o.epochs = int_arg(epochs, "epochs", *_C_INT)
    if batch_size is not None:
        o.batch_size = int_arg(batch_size, "batch_size", *_C_INT)
    if lr is not None:
        o.learning_rate = number_arg(lr, "lr")
    if gamma is not None:
        o.gamma = number_arg(gamma, "gamma")
    if milestones is not None:
        ms = [int_arg(m, "milestone", *_C_INT) for m in milestones]
        if len(ms) > MAX_MILESTONES:  # the struct's capacity
            raise ArgumentError(f"at most {MAX_MILESTONES} milestones, not {len(ms)}",
                                _capi.ERR_ARGUMENT)
        for i in range(MAX_MILESTONES):
            o.milestones[i] = ms[i] if i < len(ms) else 0
        o.milestone_count = len(ms)
    if seed is not None:
        o.seed = int_arg(seed, "seed", 0, 2**64 - 1)
    if threads is not None:
        o.threads = int_arg(threads, "threads", *_C_INT)


def _apply_schedule_options(o: _capi.TrainOptions, *, schedule: Optional[str],
                            pct_start: Optional[float], div_factor: Optional[float],
                            final_div_factor: Optional[float], cycle_momentum: Optional[bool],
                            betas: Optional[tuple[float, float]], weight_decay: Optional[float],
                            label_smoothing: Optional[float],
                            augment: Optional[Mapping[str, float]]) -> None:
    """The schedule, optimiser and augmentation fields; None keeps the
    preset's value, and the ranges are the library's to check."""
    if schedule is not None:
        if schedule not in _capi.SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(_capi.SCHEDULES)}, "
                             f"not {schedule!r}")
        o.schedule = _capi.SCHEDULES[schedule]
    for name, value in (("pct_start", pct_start), ("div_factor", div_factor),
                        ("final_div_factor", final_div_factor),
                        ("weight_decay", weight_decay), ("label_smoothing", label_smoothing)):
        if value is not None:
            setattr(o, name, number_arg(value, name))
    if cycle_momentum is not None:
        o.cycle_momentum = 1 if cycle_momentum else 0
    if betas is not None:
        if len(betas) != 2:
            raise ValueError(f"betas must be two numbers, not {betas!r}")
        o.beta1, o.beta2 = (number_arg(b, "betas") for b in betas)
    if augment is not None:
        unknown = set(augment) - set(_capi.AUGMENT_KEYS)
        if unknown:
            raise ValueError(f"unknown augment key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(_capi.AUGMENT_KEYS)})")
        for k in _capi.AUGMENT_KEYS:
            setattr(o, "augment_" + k, number_arg(augment.get(k, 0.0), "augment " + k))


class _TrainingRun:
    """The C callbacks of one digit_train call and what they collected."""

    def __init__(self, on_batch: Optional[Callable[[BatchProgress], Any]],
                 on_epoch: Optional[Callable[[EpochProgress], Any]]):
        self.on_batch, self.on_epoch = on_batch, on_epoch
        self.history: list[EpochProgress] = []
        self.failure: list[BaseException] = []
        # Kept on self: the C side holds only raw pointers to these.
        self.c_batch = _capi.BatchCallback(self._batch)
        self.c_epoch = _capi.EpochCallback(self._epoch)

    def _call(self, cb: Optional[Callable[[Any], Any]], progress: Any) -> int:
        # Never let an exception cross the C frame: keep it, stop, re-raise later.
        try:
            return 1 if cb is not None and cb(progress) else 0
        except BaseException as e:  # KeyboardInterrupt too
            self.failure.append(e)
            return 1

    def _batch(self, p: Any, _user: Any) -> int:
        if self.failure:
            return 1
        c = p.contents
        return self._call(self.on_batch, BatchProgress(
            c.epoch, c.batch, c.batches_per_epoch, float(c.loss), int(c.images_seen),
            c.learning_rate))

    def _epoch(self, p: Any, _user: Any) -> int:
        if self.failure:
            return 1
        c = p.contents
        progress = EpochProgress(c.epoch, c.epochs, c.train_loss, c.test_loss,
                                 c.test_accuracy, c.seconds, c.learning_rate)
        self.history.append(progress)
        return self._call(self.on_epoch, progress)

    def finish(self, lib: Any, status: int, *paths: Optional[bytes]) -> list[EpochProgress]:
        """What train() returns or raises once digit_train has returned: a
        callback's own exception first, then the library's status."""
        if self.failure:
            raise self.failure[0]
        try:
            _capi.check(lib, status, *(p for p in paths if p is not None))
        except TrainingCancelled as e:
            e.history = self.history  # the epochs that did finish
            raise
        return self.history
