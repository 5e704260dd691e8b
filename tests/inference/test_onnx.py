"""``eccr export-onnx`` and the ``onnx`` model kind: parity with the torch model, int8, refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.types import Document
from eccr.errors import ConfigError, ModelError
from eccr.inference import Extractor, onnx_export
from eccr.inference.onnx_export import EXPORT_REPORT, export_onnx
from eccr.models.base import MODEL_FILE, load_model
from eccr.models.onnx import ONNX_FILE, OnnxTokenClassificationModel, _session

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
runner = CliRunner()


@pytest.fixture(scope="module")
def onnx_fp32(sample_hf_model, tmp_path_factory):
    """The sample hf model exported by the command (fp32), and the command's output."""
    out = tmp_path_factory.mktemp("onnx") / "fp32"
    result = runner.invoke(app, ["export-onnx", "--model", str(sample_hf_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture
def reuse_graph(monkeypatch, onnx_fp32):
    """Skip the (slow) tracing in further exports: the graph traced once by ``onnx_fp32`` is reused."""
    monkeypatch.setattr(
        onnx_export,
        "_export_graph",
        lambda source, path, opset: shutil.copyfile(onnx_fp32[0] / ONNX_FILE, path),
    )


def test_fp32_export_predicts_identical_spans(onnx_fp32, sample_hf_model, sample_gold):
    out, output = onnx_fp32
    assert "parity ok" in output and "identical spans on all 40 documents" in output
    assert {ONNX_FILE, MODEL_FILE, EXPORT_REPORT, "config.json", "tokenizer.json"} <= {
        p.name for p in out.iterdir()
    }
    assert not list(out.glob("*.safetensors"))  # the directory runs without the torch weights
    record = json.loads((out / MODEL_FILE).read_text(encoding="utf-8"))
    assert record["kind"] == "onnx" and record["spec"] == f"onnx:{load_model(sample_hf_model).spec}"
    assert record["options"]["quantization"] == "none"
    report = json.loads((out / EXPORT_REPORT).read_text(encoding="utf-8"))
    assert report["parity"]["passed"] and report["parity"]["fp32_mismatches"] == []
    onnx, torch_model = Extractor.load(out), Extractor.load(sample_hf_model)
    assert onnx.info.runtime == "onnxruntime" and onnx.info.kind == "onnx"
    texts = [d.text for d in sample_gold] + ["\r\n".join(d.text for d in sample_gold[:5])]  # windows too
    expected = torch_model.extract_many(texts)
    assert onnx.extract_many(texts, batch_size=7) == expected and sum(map(len, expected)) > 0


def test_int8_export_is_smaller_and_reports_the_f1_difference(
    reuse_graph, onnx_fp32, sample_hf_model, tmp_path
):
    result = export_onnx(sample_hf_model, tmp_path / "int8", quantize="int8", tolerance=1.0)
    parity = result.parity
    assert parity.quantization == "int8" and parity.passed and not parity.fp32_mismatches
    assert abs(parity.f1_difference - (parity.exported_f1 - parity.reference_f1)) < 1e-12
    assert "exported int8" in parity.describe()
    model = load_model(tmp_path / "int8")
    assert isinstance(model, OnnxTokenClassificationModel) and model.opts.quantization == "int8"
    assert result.graph_bytes < (onnx_fp32[0] / ONNX_FILE).stat().st_size
    assert Extractor.load(tmp_path / "int8").extract("発熱と咳嗽を認めた。") is not None


def test_failed_parity_writes_nothing(reuse_graph, monkeypatch, sample_hf_model, tmp_path):
    real = OnnxTokenClassificationModel.batch_logits
    monkeypatch.setattr(OnnxTokenClassificationModel, "batch_logits", lambda self, x: -real(self, x))
    with pytest.raises(ModelError, match=r"E165.*spans differ on \d+ of 40 documents"):
        export_onnx(sample_hf_model, tmp_path / "bad")
    assert not (tmp_path / "bad").exists() and list(tmp_path.iterdir()) == []
    forced = export_onnx(sample_hf_model, tmp_path / "forced", force=True)
    assert not forced.parity.passed
    assert json.loads((tmp_path / "forced" / EXPORT_REPORT).read_text())["parity"]["passed"] is False


def test_refusals(sample_crf, sample_hf_model, onnx_fp32, tmp_path):
    with pytest.raises(ConfigError, match=r"E164.*'crf' model"):
        export_onnx(sample_crf[1], tmp_path / "x")
    with pytest.raises(ConfigError, match=r"E164.*hf"):
        export_onnx(onnx_fp32[0], tmp_path / "y")  # already onnx
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"E164.*not an eccr model directory"):
        export_onnx(sample_hf_model, tmp_path / "precious")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"
    with pytest.raises(ConfigError, match="E164"):
        export_onnx(sample_hf_model, sample_hf_model)
    result = runner.invoke(
        app,
        ["export-onnx", "--model", str(sample_hf_model), "--out", str(tmp_path / "z"), "--quantize", "int4"],
    )
    assert result.exit_code != 0 and "E164" in str(result.exception)
    with pytest.raises(ModelError, match="E163"):
        load_model(onnx_fp32[0]).fit(None)  # type: ignore[arg-type]


def test_missing_graph_is_a_model_error(onnx_fp32, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(onnx_fp32[0], broken)
    (broken / ONNX_FILE).write_bytes(b"not a graph")
    with pytest.raises(ModelError, match="E068"):  # the manifest notices first
        load_model(broken)
    with pytest.raises(ModelError, match=r"E062.*ONNX graph"):  # and the runtime names a bad graph
        _session(broken / ONNX_FILE, "cpu", 1)


def test_batch_logits_match_between_runtimes(onnx_fp32, sample_hf_model):
    """The two runtimes agree on raw scores, not only on the decoded spans."""
    from eccr.training.collator import WindowCollator

    onnx, torch_model = load_model(onnx_fp32[0]), load_model(sample_hf_model)
    enc = torch_model._encode(Document("d", "発熱と咳嗽。" * 9), with_labels=False)
    batch = WindowCollator(torch_model.tokenizer)([w.to_dict() for w in enc.windows])
    with torch_model.inference_mode():
        expected = torch_model.batch_logits(batch)
    np.testing.assert_allclose(onnx.batch_logits(batch), expected, atol=1e-4)


def test_the_manifest_covers_the_graph_and_the_report(onnx_fp32, tmp_path):
    """An exported directory is checked like any model: a changed graph is refused before loading."""
    record = json.loads((onnx_fp32[0] / MODEL_FILE).read_text(encoding="utf-8"))
    assert {ONNX_FILE, EXPORT_REPORT} <= set(record["manifest"]["files"])
    tampered = tmp_path / "tampered"
    shutil.copytree(onnx_fp32[0], tampered)
    graph = tampered / ONNX_FILE
    data = bytearray(graph.read_bytes())
    data[-1] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"E068.*model\.onnx"):
        load_model(tampered)
    (tampered / "custom_op.so").write_bytes(b"\x7fELF")
    with pytest.raises(ModelError, match="E069"):
        load_model(tampered)
