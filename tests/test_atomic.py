"""eccr.atomic: a failed write leaves the previous file (or directory) untouched and no temporary behind."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eccr.atomic import atomic_directory, atomic_path, atomic_write_bytes, atomic_write_text


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_text_keeps_newlines_exactly(tmp_path) -> None:
    target = atomic_write_text(tmp_path / "a.txt", "一\r\n二\n三\r")
    assert target.read_bytes() == "一\r\n二\n三\r".encode()
    assert _names(tmp_path) == ["a.txt"]


def test_failure_leaves_previous_content_and_no_temporary(tmp_path) -> None:
    target = atomic_write_bytes(tmp_path / "corpus.xml", b"<articles/>\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"<articles><article")  # partial output
        raise RuntimeError("writer failed half-way")
    assert target.read_bytes() == b"<articles/>\n"
    assert _names(tmp_path) == ["corpus.xml"]


def test_failure_on_a_new_path_creates_nothing(tmp_path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "new.jsonl") as tmp:
        tmp.write_text("{", encoding="utf-8")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_temporary_keeps_suffix_and_target_permissions(tmp_path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".onnx"
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_file_gets_umask_permissions_not_0600(tmp_path) -> None:
    mask = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "summary.md", "# x\n")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_directory_target_is_refused_before_writing(tmp_path) -> None:
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError), atomic_directory(tmp_path / "f"):
        pass


def test_directory_swap_is_all_or_nothing(tmp_path) -> None:
    target = tmp_path / "brat"
    with atomic_directory(target) as tmp:
        (tmp / "d1.txt").write_text("a", encoding="utf-8")
        (tmp / "d1.ann").write_text("", encoding="utf-8")
    assert _names(target) == ["d1.ann", "d1.txt"]
    with pytest.raises(OSError), atomic_directory(target) as tmp:
        (tmp / "d2.txt").write_text("b", encoding="utf-8")
        raise OSError("disk full")
    assert _names(target) == ["d1.ann", "d1.txt"]
    with atomic_directory(target) as tmp:
        (tmp / "d3.txt").write_text("c", encoding="utf-8")
    assert _names(target) == ["d3.txt"]
    assert _names(tmp_path) == ["brat"]


@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_round_trip_and_replace(tmp_path_factory, first: bytes, second: bytes) -> None:
    folder = tmp_path_factory.mktemp("atomic")
    target = atomic_write_bytes(folder / "f.bin", first)
    assert target.read_bytes() == first
    atomic_write_bytes(target, second)
    assert target.read_bytes() == second and _names(folder) == ["f.bin"]
