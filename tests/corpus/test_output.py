"""Where writers put their output: atomically, and never over the wrong kind of path."""

from __future__ import annotations

import pytest

from eccr.corpus.output import check_output_file, write_file_set, write_text_output
from eccr.errors import ConfigError, InputError


def test_paths_of_the_wrong_kind_are_e005(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"E005\].*is a directory"):
        check_output_file(tmp_path / "d")
    with pytest.raises(ConfigError, match=r"E005\].*is a file, not a folder"):
        check_output_file(tmp_path / "f" / "x.jsonl")
    with pytest.raises(ConfigError, match=r"E005\].*does not exist"):
        check_output_file(tmp_path / "missing" / "r.json", create_folders=False)
    assert check_output_file(tmp_path / "new" / "deep" / "c.jsonl").parent.is_dir()
    with pytest.raises(ConfigError, match=r"E005\].*is a file, but this format is written as a directory"):
        write_file_set(tmp_path / "f", [("a.txt", "x")], owned=lambda n: True, what="text")


def test_a_file_set_keeps_other_files_and_refuses_other_documents(tmp_path) -> None:
    folder = tmp_path / "brat"
    write_file_set(folder, [("a.txt", "x"), ("a.ann", "")], owned=lambda n: n.endswith((".txt", ".ann")),
                   what="brat")
    (folder / "annotation.conf").write_text("[entities]\n", encoding="utf-8")
    write_file_set(folder, [("a.txt", "y"), ("a.ann", "")], owned=lambda n: n.endswith((".txt", ".ann")),
                   what="brat")
    assert (folder / "a.txt").read_text(encoding="utf-8") == "y"
    assert (folder / "annotation.conf").read_text(encoding="utf-8") == "[entities]\n"  # kept
    with pytest.raises(InputError, match=r"E025\].*holds 2 brat file\(s\) of other documents"):
        write_file_set(folder, [("b.txt", "z"), ("b.ann", "")], owned=lambda n: n.endswith((".txt", ".ann")),
                       what="brat")
    assert sorted(p.name for p in folder.iterdir()) == ["a.ann", "a.txt", "annotation.conf"]


def test_a_writer_failing_part_way_leaves_the_previous_set_and_no_temporary_files(tmp_path) -> None:
    folder = tmp_path / "out"
    write_file_set(folder, [("a.txt", "old")], owned=lambda n: True, what="text")

    def files():
        yield "a.txt", "new"
        raise InputError("E025", "the second document cannot be written")

    with pytest.raises(InputError, match="E025"):
        write_file_set(folder, files(), owned=lambda n: True, what="text")
    assert (folder / "a.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(InputError, match="E025"):
        write_file_set(tmp_path / "fresh", files(), owned=lambda n: True, what="text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # not even an empty folder


def test_text_utf8_cannot_hold_is_e003_and_nothing_is_written(tmp_path) -> None:
    target = tmp_path / "c.txt"
    write_text_output(target, "old")
    with pytest.raises(InputError, match=r"E003\].*lone surrogate"):
        write_text_output(target, "新\ud83d")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]
