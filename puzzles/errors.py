"""The project's own error types.

Every error a user can cause (bad file, bad flag, wrong model file) is an ``UnmaskError``;
the command line prints its message as one line on stderr and exits with code 2.
"""

from __future__ import annotations


class UnmaskError(Exception):
    """Base class for errors caused by user input; the CLI turns these into exit code 2."""


class PuzzleFormatError(UnmaskError):
    """Malformed puzzle or solution text/file. Names the file, the line and what is wrong."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")
