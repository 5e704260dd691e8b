"""The pretraining record beside a model: sources, exclusion, parent chain, fingerprints, leakage check."""

from __future__ import annotations

import json

import pytest

from eccr.corpus.types import Document
from eccr.errors import ModelError
from eccr.pretrain.provenance import (
    FINGERPRINTS_FILE,
    PROVENANCE_FILE,
    fingerprint,
    read_provenance,
    write_provenance,
)
from eccr.pretrain.texts import exclude_overlapping, read_pretraining_texts

SHARED = "胸部ＣＴで両側肺野にすりガラス影を認めた。"  # 21 characters: a sentence that counts as shared
NOTES = [SHARED + "翌日解熱した。", "頭部MRIでは異常を認めなかった。", "短い。"]


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("\n".join(NOTES) + "\n", encoding="utf-8")
    return read_pretraining_texts([path])


def test_round_trip_and_leakage_check(texts, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    assert read_provenance(model) is None
    written = write_provenance(model, texts, details={"command": "test"})
    assert written == model / PROVENANCE_FILE
    prov = read_provenance(model)
    summary = prov.summary()
    assert summary["documents"] == 3 and summary["characters"] == sum(map(len, NOTES))
    assert summary["sources"][0]["kind"] == "lines" and summary["details"] == {"command": "test"}
    assert summary["parent"] is None and summary["exclusion"] is None
    lines = (model / FINGERPRINTS_FILE).read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines) and all(len(line) == 18 for line in lines)
    assert f"d {fingerprint(NOTES[1])}" in lines
    check = prov.check([
        Document("dup", "頭部 ＭＲＩでは異常を認めなかった。"),  # same text after NFKC and whitespace removal
        Document("shared", "胸部CTで両側肺野にすりガラス影を認めた。抗菌薬を開始した。"),
        Document("short", "短い。別の文。"),  # "短い。" is too short to count as shared
        Document("new", "腹部エコーで胆石を認めた。"),
    ])
    assert (check.checked, check.duplicate, check.shared_sentence) == (4, ("dup",), ("shared",))
    assert check.found == 2
    assert check.to_dict()["duplicate"] == 1


def test_exclusion_and_parent_chain(texts, tmp_path):
    parent, child = tmp_path / "parent", tmp_path / "child"
    parent.mkdir()
    child.mkdir()
    excluded = exclude_overlapping(texts, [Document("t1", NOTES[1])])
    write_provenance(parent, excluded, details={"excluded": "gold.jsonl"})
    parent_prov = read_provenance(parent)
    assert parent_prov.summary()["exclusion"] == {
        "candidates": 3, "duplicate": 1, "shared-sentence": 0, "kept": 2}
    assert parent_prov.record["exclusion"]["overlaps"][0]["id"] == "notes.txt:2"
    assert parent_prov.record["sources"][0]["removed"] == 1
    assert not parent_prov.check([Document("t1", NOTES[1])]).found

    other = tmp_path / "more.txt"
    other.write_text("腹部エコーで胆石を認めた。\n", encoding="utf-8")
    write_provenance(child, read_pretraining_texts([other]), parent=parent)
    prov = read_provenance(child)
    assert prov.summary()["parent"]["path"] == str(parent) and prov.summary()["parent"]["documents"] == 2
    # the parent's text is in the child model too
    found = prov.check([Document("a", NOTES[0]), Document("b", "腹部エコーで胆石を認めた。")])
    assert found.duplicate == ("a", "b")

    hub = tmp_path / "hub-child"
    hub.mkdir()
    write_provenance(hub, read_pretraining_texts([other]), parent="org/general-model")
    assert read_provenance(hub).summary()["parent"] == {"path": "org/general-model", "provenance": None}


def test_damaged_records_are_e122(texts, tmp_path):
    write_provenance(tmp_path, texts)
    prints = tmp_path / FINGERPRINTS_FILE
    prints.write_text(prints.read_text(encoding="utf-8")[:-19], encoding="utf-8")
    with pytest.raises(ModelError) as err:
        read_provenance(tmp_path)
    assert err.value.code == "E122" and err.value.location.file == str(prints)
    (tmp_path / PROVENANCE_FILE).write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        read_provenance(tmp_path)
    assert err.value.code == "E122"
    (tmp_path / PROVENANCE_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot be read"):
        read_provenance(tmp_path)


def test_failed_write_leaves_no_record(texts, tmp_path, monkeypatch):
    import eccr.pretrain.provenance as module

    monkeypatch.setattr(module.json, "dumps", lambda *a, **k: (_ for _ in ()).throw(TypeError("not JSON")))
    with pytest.raises(TypeError):
        write_provenance(tmp_path, texts, details={"x": object()})
    assert read_provenance(tmp_path) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".eccr-tmp-")]
