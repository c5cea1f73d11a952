"""Safe outputs: files are written to a temporary file in the same folder and renamed, several
files all-or-nothing, and output paths are checked against the inputs before any work starts.

A command that fails half-way leaves nothing half-written behind and never overwrites its input.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.
    ``mode`` is "w" (text, utf-8 by default) or "wb".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "\n")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def write_files(files: dict[str | os.PathLike, bytes | str]) -> None:
    """Write several files all-or-nothing: every one to a temporary file beside it first, then
    all renamed into place. If any write fails, the temporaries are removed and no target is
    touched (``str`` contents are written as UTF-8)."""
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


# --- output paths, checked before any work ------------------------------------------------------


def _same(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    outputs: dict[str, str | os.PathLike | None],
    inputs: dict[str, str | os.PathLike | None] | None = None,
) -> None:
    """Refuse, before any work, output paths that would destroy an input or each other, or that
    cannot be written. Keys are what the user typed (``"--output"``); ``None`` values are
    skipped. Raises ``UnmaskError`` naming the flag and the path.

    Checked: an output that resolves to an input (symlinks, ``..`` and hard links included) or
    to another output; an output that is a folder, lies under a file, or whose folder (the
    nearest existing one) refuses a new file (probed by creating and removing one).
    """
    from puzzles.errors import UnmaskError

    outs = [(flag, Path(p)) for flag, p in outputs.items() if p is not None]
    ins = [(flag, Path(p)) for flag, p in (inputs or {}).items() if p is not None]
    for i, (flag, path) in enumerate(outs):
        for in_flag, in_path in ins:
            if _same(path, in_path):
                raise UnmaskError(
                    f"{flag} {path} is the same file as {in_flag} {in_path}; refusing to "
                    "overwrite an input (choose another output path)"
                )
        for other_flag, other in outs[:i]:
            if _same(path, other):
                raise UnmaskError(f"{flag} {path} is the same file as {other_flag} {other}")
        check_writable(flag, path)


def check_writable(flag: str, path: str | os.PathLike) -> None:
    """Raise UnmaskError unless a file can be created at ``path`` (see ``check_outputs``)."""
    from puzzles.errors import UnmaskError

    path = Path(path)
    if path.is_dir():
        raise UnmaskError(f"{flag} {path} is a folder; give a file name")
    folder = path.parent
    while not folder.exists():
        if folder == folder.parent:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise UnmaskError(f"{flag} {path}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".unmask-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UnmaskError(f"{flag} {path}: cannot write in {folder} ({reason})") from None
