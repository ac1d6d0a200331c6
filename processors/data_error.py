"""The error every bad input turns into: it always says which file, which line and what is wrong."""

from __future__ import annotations

import os


class DataError(Exception):
    """A problem in a data file, located by path and 1-based physical line.

    ``str(error)`` is ``"path:line: message"`` (the format compilers use, so editors and terminals
    can jump to the line); ``line`` is ``None`` for a problem with the file as a whole, and then
    ``str(error)`` is ``"path: message"``.
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        # Pass everything to Exception so the error pickles (multiprocessing, pytest-xdist).
        super().__init__(os.fspath(path), line, message)
        self.path = os.fspath(path)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"
