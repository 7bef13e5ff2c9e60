"""Exceptions of the local stack."""

from __future__ import annotations


class StackError(RuntimeError):
    """A stack process could not be built, started, or did not become ready in time.

    The message carries the tail of the process's log when there is one.
    """

    def __init__(self, message: str, *, process: str | None = None, log_file=None) -> None:
        super().__init__(message)
        self.process = process
        self.log_file = log_file
