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

    On an exception the temporary file is removed and ``path`` is left untouched; a failure of
    the file system (a full disk) is an ``UnmaskError`` naming ``path``. ``mode`` is "w" (text,
    utf-8 by default) or "wb".
    """
    try:
        with _atomic_open(path, mode, **kwargs) as f:
            yield f
    except OSError as err:
        from puzzles.errors import UnmaskError

        raise UnmaskError(f"cannot write {quoted(path)}: {err.strerror or err}; nothing was "
                          "written") from None  # fmt: skip


@contextlib.contextmanager
def _atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
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
    touched (``str`` contents are written as UTF-8). A failure of the file system (a full disk,
    a folder gone read-only) is an ``UnmaskError`` naming the file."""
    try:
        _write_files(files)
    except OSError as err:
        from puzzles.errors import UnmaskError

        where = err.filename or next(iter(files), "?")
        raise UnmaskError(f"cannot write {quoted(where)}: {err.strerror or err}; nothing was "
                          "written") from None  # fmt: skip


def quoted(path) -> str:
    """A path for a one-line message: as it is, or in quotes with escapes when it holds a
    newline, a tab or another control character."""
    text = str(path)
    return repr(text) if any(c < " " or c == "\x7f" for c in text) else text


def _write_files(files: dict[str | os.PathLike, bytes | str]) -> None:
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
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
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
                    f"{flag} {quoted(path)} is the same file as {in_flag} {quoted(in_path)}; "
                    "refusing to overwrite an input (choose another output path)"
                )
        for other_flag, other in outs[:i]:
            if _same(path, other):
                raise UnmaskError(f"{flag} {quoted(path)} is the same file as {other_flag} "
                                  f"{quoted(other)}")  # fmt: skip
        check_writable(flag, path)


def check_writable(flag: str, path: str | os.PathLike) -> None:
    """Raise UnmaskError unless a file can be created at ``path`` (see ``check_outputs``): not
    a folder, a link, a pipe or a device (the atomic rename would replace it by a regular
    file), a name the file system takes, in a folder that takes a new file."""
    from puzzles.errors import UnmaskError

    path = Path(path)
    shown = f"{flag} {quoted(path)}"
    try:
        _check_writable(path, shown)
    except OSError as err:  # a name too long, a path through a file, a loop of links...
        raise UnmaskError(f"{shown}: cannot be written ({err.strerror or err})") from None


def _check_writable(path: Path, shown: str) -> None:
    from puzzles.errors import UnmaskError

    if path.is_symlink():
        raise UnmaskError(f"{shown} is a symbolic link; refusing to replace it (give the file "
                          "it points to, or another name)")  # fmt: skip
    if path.is_dir():
        raise UnmaskError(f"{shown} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise UnmaskError(f"{shown} is not a regular file (a pipe, socket or device); refusing "
                          "to replace it")  # fmt: skip
    folder = path.parent
    while not folder.exists():
        if folder == folder.parent:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise UnmaskError(f"{shown}: {folder} is a file, not a folder")
    longest = max((len(part.encode()) for part in path.parts), default=0)
    limit = _name_max(folder)
    if longest + len(".unmask-probe..tmp") + 8 > limit:
        raise UnmaskError(f"{shown}: a name of {longest} bytes is too long for this file system "
                          f"(at most {limit - 26} here)")  # fmt: skip
    try:
        fd, probe = tempfile.mkstemp(prefix=".unmask-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UnmaskError(f"{shown}: cannot write in {folder} ({reason})") from None


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_folder(flag: str, folder: str | os.PathLike) -> None:
    """Raise UnmaskError unless ``folder`` is, or can be made, a folder whose files can be
    written (a training run's output); nothing is created."""
    from puzzles.errors import UnmaskError

    folder = Path(folder)
    shown = f"{flag} {quoted(folder)}"
    try:
        if folder.exists() and not folder.is_dir():
            raise UnmaskError(f"{shown} is a file, not a folder")
        _check_writable(folder / "config.json", shown)
    except OSError as err:
        raise UnmaskError(f"{shown}: cannot be written ({err.strerror or err})") from None
