"""Atomic file writes: a file (or a set of files) appears complete or not at all.

Every file eccr writes goes through this module. The rule: the content is written to a temporary file **in
the target's own folder** (so the final rename never crosses a file system), flushed and fsynced, and
renamed over the target only when writing succeeded. If anything fails — an exception in the writer, a full
disk, an interrupt — the temporary file is removed and whatever was at the target before is left untouched.
Reading and writing the same path (``eccr convert a.xml a.xml``) is therefore safe: the old file stays
readable until the new one replaces it.

A set of files that must appear together (BRAT's ``.txt`` + ``.ann`` pairs, a model directory) is written
into a temporary sibling directory by :func:`atomic_directory` and swapped into place at the end.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> target = atomic_write_text(folder / "a.txt", "一行目\\n")
>>> target.read_text(encoding="utf-8")
'一行目\\n'
>>> try:
...     with atomic_path(target) as tmp:
...         _ = tmp.write_text("half", encoding="utf-8")
...         raise RuntimeError("writer failed")
... except RuntimeError:
...     pass
>>> target.read_text(encoding="utf-8"), sorted(p.name for p in folder.iterdir())
('一行目\\n', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_directory", "atomic_path", "atomic_write_bytes", "atomic_write_text"]

_PREFIX = ".eccr-tmp-"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it is renamed to ``path``, on error removed.

    The caller writes the temporary file however it likes (``open``, a library's ``save(tmp)``). The
    temporary name keeps ``path``'s suffix (or ``suffix``) so libraries that choose a format by extension
    behave the same. The parent folder must exist; a missing folder is the caller's error to report.

    Raises:
        IsADirectoryError: ``path`` is an existing directory (checked before anything is written).
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory, not a file")
    fd, name = tempfile.mkstemp(
        prefix=_PREFIX + target.name + ".",
        suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        if target.exists():
            # keep the permissions of the file being replaced (mkstemp creates 0600)
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a :class:`~pathlib.Path`."""
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def atomic_write_text(
    path: str | Path, text: str, *, encoding: str = "utf-8", newline: str | None = ""
) -> Path:
    """Write ``text`` to ``path`` atomically.

    ``newline=""`` (the default) writes the text exactly as given — ``"\\r\\n"`` stays ``"\\r\\n"`` and
    ``"\\n"`` is not translated — so what a reader reads back indexes the same characters. Pass
    ``newline=None`` for the platform's translation.
    """
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "w", encoding=encoding, newline=newline) as handle:
        handle.write(text)
    return target


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; on success it replaces ``path`` as a whole.

    Use it for a set of files that must appear together. On success an existing ``path`` (a directory) is
    moved aside, the new directory renamed into place, and the old one deleted; on error the temporary
    directory is removed and ``path`` is untouched. The swap is two renames: a crash between them leaves the
    old directory under a ``.eccr-tmp-`` name beside ``path``, never a half-written ``path``.

    Raises:
        NotADirectoryError: ``path`` exists and is a file.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_PREFIX + target.name + ".", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=_PREFIX + target.name + ".old.", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)
