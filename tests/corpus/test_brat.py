"""BRAT standoff reader/writer: fragments, attributes, notes, verbatim lines, surface checks, round trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus import brat, read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import InputError, ProblemReport, SpanError

TEXT = "72歳男性．発熱と乾性咳嗽を認め，ＣＴで両肺にすりガラス影を認めた．"


def write_pair(folder: Path, stem: str, text: str, ann: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
    (folder / f"{stem}.ann").write_bytes(ann.encode("utf-8"))
    return folder / f"{stem}.ann"


def offsets(text: str, surface: str) -> tuple[int, int]:
    start = text.index(surface)
    return start, start + len(surface)


def full_ann() -> str:
    fever = offsets(TEXT, "発熱")
    cough = offsets(TEXT, "乾性咳嗽")
    dry = offsets(TEXT, "乾性")
    ggo = offsets(TEXT, "すりガラス影")
    lungs = offsets(TEXT, "両肺")
    return (
        f"T1\tDisease {fever[0]} {fever[1]}\t発熱\n"
        f"T2\tDisease {cough[0]} {cough[1]}\t乾性咳嗽\n"
        f"T3\tFeature {dry[0]} {dry[1]}\t乾性\n"  # overlaps T2: kept
        f"T4\tDisease {lungs[0]} {lungs[1]};{ggo[0]} {ggo[1]}\t両肺 すりガラス影\n"
        "A1\tCertainty T1 positive\n"
        "A2\tNegated T4\n"
        "#1\tAnnotatorNotes T2\tnote with\ttab\n"
        "R1\tHas Arg1:T4 Arg2:T1\n"
        "E1\tFinding:T1\n"
        "A3\tCertainty E1 negative\n"
    )


def test_reads_fragments_attributes_notes_and_keeps_the_rest(tmp_path: Path) -> None:
    ann = write_pair(tmp_path / "in", "case1", TEXT, full_ann())
    (doc,) = brat.read(tmp_path / "in", ProblemReport())
    assert doc.id == "case1" and doc.text == TEXT
    by_text = {doc.span_text(s): s for s in doc.spans}
    assert by_text["発熱"].attrs == {"Certainty": "positive"}
    # 乾性 (T3) sorts before 乾性咳嗽 (T2), so neither id is the writer's default T<rank>: both are kept
    notes = [["AnnotatorNotes", "note with\ttab"]]
    assert by_text["乾性咳嗽"].attrs == {"brat_id": "T2", "brat_notes": notes}
    assert by_text["乾性"].label == "Feature" and by_text["乾性"].attrs == {"brat_id": "T3"}
    assert by_text["両肺"].attrs == {"brat_id": "T4", "fragment": 0, "Negated": True}
    assert by_text["すりガラス影"].attrs == {"brat_id": "T4", "fragment": 1, "Negated": True}
    assert doc.meta["brat"]["lines"] == [
        "R1\tHas Arg1:T4 Arg2:T1", "E1\tFinding:T1", "A3\tCertainty E1 negative"
    ]
    # a single .ann path reads the same document
    assert brat.read(ann, ProblemReport()) == [doc]


def test_written_files_keep_every_annotation(tmp_path: Path) -> None:
    write_pair(tmp_path / "in", "case1", TEXT, full_ann())
    corpus = read_corpus(tmp_path / "in")
    write_corpus(corpus, tmp_path / "out", "brat")
    written = (tmp_path / "out" / "case1.ann").read_text(encoding="utf-8").splitlines()
    original = full_ann().splitlines()
    assert sorted(line for line in written if line[0] in "TRE") == sorted(
        line for line in original if line[0] in "TRE"
    )
    assert "A3\tCertainty E1 negative" in written
    assert (tmp_path / "out" / "case1.txt").read_bytes() == TEXT.encode()
    assert read_corpus(tmp_path / "out") == corpus


def test_non_canonical_ids_are_kept(tmp_path: Path) -> None:
    write_pair(tmp_path, "d", "発熱と咳嗽", "T7\tX 3 5\t咳嗽\nT2\tX 0 2\t発熱\n")
    (doc,) = brat.read(tmp_path, ProblemReport())
    assert [s.attrs.get("brat_id") for s in doc.spans] == ["T2", "T7"]
    brat.write([doc], tmp_path / "out")
    assert (tmp_path / "out" / "d.ann").read_text(encoding="utf-8") == "T2\tX 0 2\t発熱\nT7\tX 3 5\t咳嗽\n"


def test_canonical_ids_are_not_stored(tmp_path: Path) -> None:
    write_pair(tmp_path, "d", "発熱と咳嗽", "T2\tX 3 5\t咳嗽\nT1\tX 0 2\t発熱\n")
    (doc,) = brat.read(tmp_path, ProblemReport())
    assert doc.spans == (Span(0, 2, "X"), Span(3, 5, "X"))


def test_surface_mismatch_names_file_t_id_and_offset(tmp_path: Path) -> None:
    ann = write_pair(tmp_path, "d", "発熱と咳嗽", "T1\tX 0 2\t発熱\nT2\tX 3 5\t頭痛\n")
    with pytest.raises(SpanError) as info:
        brat.read(tmp_path, ProblemReport())
    err = info.value
    assert err.code == "E016" and "T2" in err.message and "'咳嗽'" in err.message
    assert (err.location.file, err.location.doc_id, err.location.line, err.location.offset) == (
        str(ann), "d", 2, 3)


def test_newlines_inside_a_span_read_as_spaces_in_the_surface(tmp_path: Path) -> None:
    text = "発熱\r\n咳嗽"
    doc = Document("crlf", text, [Span(0, 6)])
    brat.write([doc], tmp_path)
    assert (tmp_path / "crlf.ann").read_text(encoding="utf-8") == "T1\tconcept 0 6\t発熱  咳嗽\n"
    assert brat.read(tmp_path / "crlf.ann", ProblemReport()) == [doc]


@pytest.mark.parametrize(
    ("ann", "code", "fragment"),
    [
        ("T1\tX 0 2\n", "E037", "3 tab-separated"),
        ("T1\tX 0-2\t発熱\n", "E037", "Label start end"),
        ("T1\tX 0 2\t発熱\nT1\tX 0 2\t発熱\n", "E037", "used twice"),
        ("T1\tX 0 9\t発熱\n", "E010", "annotation T1: span [0, 9) lies outside the text"),
        ("T1\tX 0 1;1 1\t発 \n", "E011", "annotation T1: span [1, 1) is empty"),
        ("Q1\twhat\n", "E037", "unknown annotation line"),
        ("A1\tNeg\n", "E037", "Name Target"),
    ],
)
def test_malformed_ann_lines(tmp_path: Path, ann: str, code: str, fragment: str) -> None:
    write_pair(tmp_path, "d", "発熱", ann)
    with pytest.raises((InputError, SpanError)) as info:
        brat.read(tmp_path, ProblemReport())
    assert info.value.code == code and fragment in info.value.message
    assert info.value.location.doc_id == "d" and info.value.location.line is not None
    if code in ("E010", "E011"):  # offset errors name the offending offset in the text
        assert info.value.location.offset == {"E010": 9, "E011": 1}[code]
        assert info.value.location.file == str(tmp_path / "d.ann") and info.value.location.line == 1


def test_ann_without_txt_and_txt_without_ann(tmp_path: Path) -> None:
    (tmp_path / "alone.txt").write_text("発熱なし", encoding="utf-8")
    (doc,) = brat.read(tmp_path, ProblemReport())
    assert doc.id == "alone" and doc.spans == ()
    (tmp_path / "orphan.ann").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="E038"):
        brat.read(tmp_path, ProblemReport())


def test_writer_rejects_what_brat_cannot_store(tmp_path: Path) -> None:
    with pytest.raises(SpanError, match="whitespace"):
        brat.write([Document("a", "発熱", [Span(0, 2, "two words")])], tmp_path / "o1")
    with pytest.raises(SpanError, match="attribute name"):
        brat.write([Document("a", "発熱", [Span(0, 2, "d", {"bad name": "x"})])], tmp_path / "o2")
    with pytest.raises(InputError, match="file name"):
        brat.write([Document("../x", "発熱")], tmp_path / "o3")


def test_writer_gives_fresh_ids_when_the_default_is_taken(tmp_path: Path) -> None:
    doc = Document("f", "発熱と咳嗽", [Span(0, 2, "d"), Span(3, 5, "d", {"brat_id": "T1"})])
    brat.write([doc], tmp_path)
    assert (tmp_path / "f.ann").read_text(encoding="utf-8") == "T4\td 0 2\t発熱\nT1\td 3 5\t咳嗽\n"
    assert brat.read(tmp_path, ProblemReport()) == [
        Document("f", "発熱と咳嗽", [Span(0, 2, "d", {"brat_id": "T4"}), Span(3, 5, "d", {"brat_id": "T1"})])
    ]


def test_attribute_values_brat_cannot_hold_travel_as_json_notes(tmp_path: Path) -> None:
    attrs = {"correction": "白血球増加，\u3000ＣＲＰ強陽性", "score": 0.5, "flag": False}
    attrs["certainty"] = "positive"
    doc = Document("n", "発熱", [Span(0, 2, "d", attrs)])
    brat.write([doc], tmp_path)
    ann = (tmp_path / "n.ann").read_text(encoding="utf-8")
    assert "A1\tcertainty T1 positive\n" in ann
    assert '#1\teccr:correction T1\t"白血球増加，\u3000ＣＲＰ強陽性"\n' in ann
    assert brat.read(tmp_path, ProblemReport()) == [doc]
    (tmp_path / "n.ann").write_text(ann.replace("0.5", "{bad"), encoding="utf-8")
    with pytest.raises(InputError, match="JSON value"):
        brat.read(tmp_path, ProblemReport())


def test_writer_refuses_a_directory_with_other_documents(tmp_path: Path) -> None:
    brat.write([Document("a", "発熱")], tmp_path)
    brat.write([Document("a", "咳嗽")], tmp_path)  # overwriting the same documents is fine
    with pytest.raises(InputError, match="E025"):
        brat.write([Document("b", "頭痛")], tmp_path)


def test_single_ann_path_write(tmp_path: Path) -> None:
    doc = Document("one", "発熱", [Span(0, 2, "d", {"certainty": "positive"})])
    brat.write([doc], tmp_path / "single.ann")
    (back,) = brat.read(tmp_path / "single.ann", ProblemReport())
    assert back.id == "single" and back.spans == doc.spans


# --- properties ---------------------------------------------------------------------------------------------

ALPHABET = "発熱咳嗽肺炎のをにがと、。，．ＣＴ１５ｍｇアイウｱ①㎎〜「」（）\u3000 \n\r\tab12#@"


ATTRS = [{}, {"certainty": "positive"}, {"Negated": True}, {"note": "a b", "n": 1}]


@st.composite
def brat_documents(draw: st.DrawFn, index: int) -> Document:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=50))
    spans = []
    n = len(text)
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        attrs = draw(st.sampled_from(ATTRS))
        spans.append(Span(start, end, draw(st.sampled_from(["d", "a", "concept"])), attrs))
    if n >= 4 and draw(st.booleans()):  # one discontinuous annotation
        cut = draw(st.integers(1, n - 2))
        spans.append(Span(0, cut, "d", {"brat_id": "T99", "fragment": 0}))
        spans.append(Span(cut + 1, n, "d", {"brat_id": "T99", "fragment": 1}))
    return Document(f"doc{index}", text, spans)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_property(tmp_path: Path, data: st.DataObject) -> None:
    docs = [data.draw(brat_documents(i)) for i in range(data.draw(st.integers(1, 3)))]
    out = tmp_path / "rt"
    if out.exists():
        shutil.rmtree(out)
    brat.write(docs, out)
    back = brat.read(out, ProblemReport())
    # Document orders spans by (start, end, label) only, so spans equal in those keep construction order:
    # compare span lists in a total order
    def view(documents: list[Document]) -> list[tuple[str, str, list[tuple[int, int, str, str]]]]:
        return [(d.id, d.text, canonical(d.spans)) for d in documents]

    assert view(back) == view(docs)


def canonical(spans: tuple[Span, ...]) -> list[tuple[int, int, str, str]]:
    return sorted((s.start, s.end, s.label, repr(sorted(s.attrs.items()))) for s in spans)


def test_medtxt_all_tags_round_trip_through_brat(medtxt_path: Path, tmp_path: Path) -> None:
    """All 12 MedTxt tag types with their attributes (incl. corrections with spaces) survive brat."""
    corpus = read_corpus(medtxt_path)
    write_corpus(corpus, tmp_path / "brat", "brat")
    back = read_corpus(tmp_path / "brat")
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in corpus]


def test_a_50000_character_document_round_trips(tmp_path: Path) -> None:
    text = ("発熱と咳嗽を認めた。ｱ①㎎〜ヿ\r\n" * 3200)[:50_000]
    doc = Document("long", text, [Span(0, 2, "d"), Span(49_990, 50_000, "d")])
    brat.write([doc], tmp_path)
    assert brat.read(tmp_path, ProblemReport()) == [doc]
