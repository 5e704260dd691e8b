"""Where writers put their output: through :mod:`eccr.atomic`, and never over the wrong kind of path.

Every corpus writer, and every other file eccr writes, follows the same rules:

* A **file** is written to a temporary file in the target's folder and renamed over the target only when
  the writer finished (:func:`open_output`, :func:`write_text_output`). A writer that fails part-way — a
  document it cannot express, a full disk — leaves the previous file untouched and no temporary file
  behind. Reading and writing the same path (``eccr convert a.xml a.xml``) is therefore safe.
* A **set of files** that belong together (BRAT's ``.txt``/``.ann`` pairs, inline or raw text written one
  document per file) is assembled in a temporary directory beside the target and swapped in as a whole
  (:func:`write_file_set`). Other files already in the target directory (a brat ``annotation.conf``, a
  ``README``) are kept; corpus files of documents not being written are refused (``E025``), since they would
  be read back with the corpus.
* The path must be of the right kind (``E005``): an existing directory cannot become a file, an existing
  file cannot become a directory, and a folder on the way cannot be a file. Missing folders are created
  for corpus outputs; a report path (``--report``) must name a file in an existing folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from eccr.atomic import atomic_directory, atomic_path
from eccr.errors import ConfigError, InputError, Location

#: Name prefix of :mod:`eccr.atomic`'s temporary files and folders (never carried over or read).
TEMPORARY_PREFIX = ".eccr-tmp-"


def check_output_file(path: str | Path, *, create_folders: bool = True) -> Path:
    """``path`` as a file to write: ``E005`` when it is a directory or a folder on its way is a file.

    With ``create_folders`` the missing folders are created; without it (report paths) a missing folder is
    ``E005`` too.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigError("E005", f"the output {target} is a directory; give a file name (or choose a format "
                          "written as a directory, e.g. --to brat)", Location(file=str(target)))
    _check_folders(target, create_folders)
    return target


def check_output_directory(path: str | Path) -> Path:
    """``path`` as a directory to write: ``E005`` when it is an existing file (its folder is created)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ConfigError("E005", f"the output {target} is a file, but this format is written as a directory "
                          "of files; give a directory (or a file name for a one-file format)",
                          Location(file=str(target)))
    _check_folders(target, create_folders=True)
    return target


def _check_folders(target: Path, create_folders: bool) -> None:
    """The folders on the way to ``target`` must be folders (``E005``); missing ones created or refused."""
    folder = target.parent
    for ancestor in (folder, *folder.parents):
        if ancestor.exists() and not ancestor.is_dir():
            raise ConfigError("E005", f"cannot write {target}: {ancestor} is a file, not a folder",
                              Location(file=str(target)))
        if ancestor.exists():
            break
    if not folder.exists():
        if not create_folders:
            raise ConfigError("E005", f"cannot write {target}: the folder {folder} does not exist",
                              Location(file=str(target)))
        folder.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def open_output(path: str | Path, *, create_folders: bool = True) -> Iterator[TextIO]:
    """A UTF-8 text handle (no newline translation) whose content replaces ``path`` only on success.

    Text that UTF-8 cannot hold (a lone surrogate, made in code rather than read) is ``E003``.
    """
    target = check_output_file(path, create_folders=create_folders)
    with _encodable(target), atomic_path(target) as tmp, \
            tmp.open("w", encoding="utf-8", newline="") as handle:
        yield handle


@contextlib.contextmanager
def _encodable(target: Path) -> Iterator[None]:
    try:
        yield
    except UnicodeEncodeError as err:
        bad = err.object[err.start : err.end] if isinstance(err.object, str) else ""
        raise InputError("E003", f"cannot write {target.name}: the text holds {bad!r}, a lone surrogate "
                         "(half of a UTF-16 pair), which UTF-8 cannot encode; nothing was written",
                         Location(file=str(target))) from None


def write_text_output(path: str | Path, text: str, *, create_folders: bool = True) -> Path:
    """Write ``text`` (UTF-8, exactly as given) to ``path`` atomically, after :func:`check_output_file`."""
    with open_output(path, create_folders=create_folders) as handle:
        handle.write(text)
    return Path(path)


def write_file_set(
    directory: str | Path,
    files: Iterable[tuple[str, str]],
    *,
    owned: Callable[[str], bool],
    what: str,
) -> Path:
    """Write ``(name, text)`` files as one set into ``directory``, atomically (see the module docstring).

    Args:
        directory: the target directory (created when missing).
        files: file names (no folders) and their texts; produced lazily, so a writer can raise part-way.
        owned: which existing file names are corpus files of this format; those not being written again are
            refused (``E025``), every other existing entry is kept.
        what: the format, for messages.
    """
    target = check_output_directory(directory)
    existing = [p for p in target.iterdir() if not p.name.startswith(TEMPORARY_PREFIX)] if target.is_dir() \
        else []
    with _encodable(target), atomic_directory(target) as staging:
        written: set[str] = set()
        for name, text in files:
            with (staging / name).open("w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            written.add(name)
        stale = sorted(p.name for p in existing if owned(p.name) and p.name not in written)
        if stale:
            shown = ", ".join(stale[:3]) + ("…" if len(stale) > 3 else "")
            raise InputError("E025", f"{target} already holds {len(stale)} {what} file(s) of other documents "
                             f"({shown}) that would be read back with this corpus; write to an empty "
                             "directory", Location(file=str(target)))
        carry_over((p for p in existing if p.name not in written), staging)
    return target


def carry_over(items: Iterable[Path], staging: Path) -> None:
    """Hard-link (or copy, across file systems) files and folders into ``staging``, keeping their names."""

    def link(source: str, destination: str) -> None:
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)

    for item in items:
        if item.is_dir() and not item.is_symlink():
            shutil.copytree(item, staging / item.name, copy_function=link, symlinks=True)
        else:
            link(str(item), str(staging / item.name))
