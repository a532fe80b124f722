# SPDX-License-Identifier: MIT
"""Ownership of one C handle, safe to share between threads.

ctypes releases the GIL during every C call, so without care one thread's
close() could free a model another thread is predicting with. Each call
therefore runs inside use(), which counts it in flight; close() marks the
handle closed at once (later use() raises ClosedError) and the handle is
freed by whoever finishes last: close() itself when nothing is in flight,
else the last in-flight call on its way out. No call ever sees freed memory,
and close() never blocks (so a training callback may close its own model).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional, TypeVar

from .errors import ClosedError

T = TypeVar("T", bound="Handle")


class Handle:
    """Owns one C handle; freed by close(), the context manager or __del__."""

    _kind = "object"
    _free_fn = ""

    def __init__(self, lib: ctypes.CDLL, handle: int):
        self._lib = lib
        self._h: Optional[int] = handle
        self._state = threading.Lock()
        self._in_flight = 0
        self._closing = False

    @classmethod
    def _adopt(cls: type[T], lib: ctypes.CDLL, handle: int) -> T:
        obj = cls.__new__(cls)
        Handle.__init__(obj, lib, handle)
        return obj

    @contextmanager
    def _use(self) -> Iterator[int]:
        """The raw handle, kept alive (not freed) until the block ends."""
        with self._state:
            h = self._h
            if h is None or self._closing:
                raise ClosedError(f"this {self._kind} has been closed")
            self._in_flight += 1
        try:
            yield h
        finally:
            self._release()

    def _release(self) -> None:
        with self._state:
            self._in_flight -= 1
            h = self._take_if_unused()
        self._free(h)

    def _take_if_unused(self) -> Optional[int]:
        """With _state held: the handle to free, if closing and unused."""
        if self._closing and self._in_flight == 0 and self._h is not None:
            h, self._h = self._h, None
            return h
        return None

    def _free(self, h: Optional[int]) -> None:
        if h is not None:
            getattr(self._lib, self._free_fn)(h)

    @property
    def closed(self) -> bool:
        state = getattr(self, "_state", None)
        if state is None:
            return True
        with state:
            return self._closing or self._h is None

    def close(self) -> None:
        """Frees the C handle (at once, or when the calls still running on
        other threads return). Further use raises ClosedError; closing twice
        is harmless."""
        state = getattr(self, "_state", None)
        if state is None:
            return
        with state:
            self._closing = True
            h = self._take_if_unused()
        self._free(h)

    def __enter__(self: T) -> T:
        with self._use():  # refuse a closed handle
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
