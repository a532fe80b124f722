# SPDX-License-Identifier: MIT
"""What the library hands back: layer rows, evaluations and training progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["LayerInfo", "Evaluation", "BatchProgress", "EpochProgress", "STOP"]


class _Stop:
    """Return this (or True) from a training callback to stop training."""

    _instance: "_Stop | None" = None

    def __new__(cls) -> "_Stop":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "digit.STOP"


STOP = _Stop()


class LayerInfo(NamedTuple):
    """One row of a model's layer table."""
    name: str
    description: str
    shape: tuple[int, int, int]  # output (channels, height, width); flat layers (n, 1, 1)
    param_count: int


@dataclass(frozen=True)
class Evaluation:
    """digit_evaluate's result: mean NLL loss, accuracy (0..1), image count
    and the confusion matrix ``confusion[true, predicted]`` (10x10 int64)."""
    loss: float
    accuracy: float
    count: int
    confusion: npt.NDArray[np.int64]

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
