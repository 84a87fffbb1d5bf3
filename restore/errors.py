"""One exception tree for the whole tool.

Every error a user can cause carries the bad value and says what to do; the CLI
prints ``str(error)`` as one line and exits with ``error.exit_code``.
"""

from __future__ import annotations

import os


class ReelError(Exception):
    """Base of every error reelscribe raises on purpose."""

    exit_code = 1


class UsageError(ReelError):
    """Options that cannot work together, or a value out of range."""

    exit_code = 2


class MediaError(ReelError):
    """The input cannot be read as a film (missing, empty, corrupt, no streams)."""

    exit_code = 3

    def __init__(self, path: object, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        message = f"{path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ModelNotFound(ReelError):
    """A model name or path that does not resolve to weights on this machine."""

    exit_code = 4


class OutputError(ReelError):
    """The output cannot be written (folder missing or read-only, disk full)."""

    exit_code = 5


# errno values that mean "no room": the disk (or a quota, or a file-size limit) is full.
DISK_FULL = {28, 27, 122}  # ENOSPC, EFBIG, EDQUOT


def write_error(path: object, error: BaseException, errno: int | None = None) -> OutputError:
    """An OutputError for a failed write, saying so plainly when the disk is full."""
    errno = errno or getattr(error, "errno", None)
    if errno in DISK_FULL:
        return OutputError(
            f"cannot write {path}: the disk is full ({os.strerror(errno)}); "
            "free some space or choose another output folder; nothing finished was left behind"
        )
    return OutputError(f"cannot write {path}: {getattr(error, 'strerror', None) or error}")
