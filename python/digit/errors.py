# SPDX-License-Identifier: MIT
"""The exceptions of the digit package.

Errors the C library reports are DigitError subclasses carrying its message
(``str(e)``), status and the file concerned; they also derive from the
matching built-in (ValueError, OSError, ...) so ordinary handlers catch them.
Mapping a C status onto these classes is done in ``_capi``, next to the rest
of the C knowledge.
"""

from __future__ import annotations

import errno as _errno
from typing import Any, Optional

__all__ = [
    "DigitError", "ArgumentError", "DigitIOError", "DigitFileNotFoundError",
    "DigitIsADirectoryError", "FormatError", "DigitMemoryError",
    "TrainingCancelled", "ImageError", "LibraryError", "ClosedError",
]


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

    def __reduce__(self) -> tuple[Any, ...]:
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

    def __init__(self, message: str, status: Optional[int] = None,
                 path: Optional[str] = None, status_name: Optional[str] = None):
        super().__init__(message, status, path, status_name)
        self.errno = _errno.ENOENT


class DigitIsADirectoryError(DigitIOError, IsADirectoryError):
    """An I/O error because the path names a folder."""

    def __init__(self, message: str, status: Optional[int] = None,
                 path: Optional[str] = None, status_name: Optional[str] = None):
        super().__init__(message, status, path, status_name)
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

    history: list[Any] = []


class ImageError(DigitError, ValueError):
    """DIGIT_ERR_IMAGE: an image holds no usable digit (e.g. no ink)."""


class BusyError(DigitError):
    """DIGIT_ERR_BUSY: the model is being trained; a training callback may
    read it but not modify or train it."""


class LibraryError(OSError):
    """libdigit could not be found or loaded, or has the wrong ABI."""


class ClosedError(ValueError):
    """A Model or Dataset was used after close()."""
