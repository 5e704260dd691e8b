"""``eccr export-onnx``: a trained ``hf`` model directory → an ``onnx`` model directory, checked for parity.

The graph is exported with ``torch.onnx.export`` (the dynamo exporter; batch and sequence length dynamic),
optionally quantised with ONNX Runtime's dynamic int8 quantisation of the ``MatMul`` weights (per channel;
activations are quantised on the fly), and written with the tokenizer, ``config.json`` and
``eccr-model.json`` (kind ``onnx``, see :mod:`eccr.models.onnx`) into a new directory that appears complete
or not at all.

The parity check is part of the export, not an afterthought: the exported model and the original predict a
labelled corpus (by default the bundled synthetic sample) and

* fp32 must give **identical spans** on every document;
* int8 must stay within ``tolerance`` (default 0.005) of the original's wsm F1 (p = 1) against the gold
  spans — quantisation is allowed to move a few boundaries, not to lose concepts.

A failed check writes nothing (unless ``force``) and the error names the documents or the F1 figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from eccr.atomic import atomic_directory, atomic_write_text
from eccr.corpus.types import Corpus, Document
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.base import MODEL_FILE, ModelSpec, load_model
from eccr.models.onnx import INPUT_NAMES, ONNX_FILE, OUTPUT_NAME, OnnxTokenClassificationModel
from eccr.models.token_classification import TokenClassificationModel

#: The file an export writes beside the model: what was exported, how, and the parity figures.
EXPORT_REPORT = "export-report.json"
DEFAULT_TOLERANCE = 0.005
DEFAULT_OPSET = 18

Quantization = Literal["none", "int8"]


@dataclass(frozen=True)
class ParityReport:
    """How the exported model's predictions compare with the original's on a labelled corpus.

    Attributes:
        documents: documents predicted by both.
        quantization: ``none`` or ``int8``.
        fp32_mismatches: ids of documents where the fp32 graph's spans differ from the original's.
        reference_f1: wsm F1 (p = 1) of the original against the gold spans.
        exported_f1: wsm F1 (p = 1) of the exported model (int8 when quantised) against the gold spans.
        tolerance: the largest F1 drop allowed for int8.
    """

    documents: int
    quantization: str
    fp32_mismatches: tuple[str, ...]
    reference_f1: float
    exported_f1: float
    tolerance: float

    @property
    def f1_difference(self) -> float:
        return self.exported_f1 - self.reference_f1

    @property
    def passed(self) -> bool:
        return not self.fp32_mismatches and (
            self.quantization == "none" or self.f1_difference >= -self.tolerance
        )

    def describe(self) -> str:
        fp32 = (
            "fp32: identical spans on all {n} documents"
            if not self.fp32_mismatches
            else "fp32: spans differ on {k} of {n} documents ({ids})"
        ).format(n=self.documents, k=len(self.fp32_mismatches), ids=", ".join(self.fp32_mismatches[:5]))
        f1 = (
            f"wsm F1 (p = 1): original {self.reference_f1:.4f}, exported "
            f"{'int8' if self.quantization == 'int8' else 'fp32'} {self.exported_f1:.4f} "
            f"(difference {self.f1_difference:+.4f}"
        )
        f1 += f", tolerance {self.tolerance})" if self.quantization == "int8" else ")"
        return f"{fp32}; {f1}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "fp32_mismatches": list(self.fp32_mismatches),
            "f1_difference": self.f1_difference,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_onnx` wrote."""

    directory: Path
    quantization: str
    parity: ParityReport
    graph_bytes: int


def export_onnx(
    model_dir: str | Path,
    out: str | Path,
    *,
    quantize: Quantization = "none",
    check: Corpus | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    opset: int = DEFAULT_OPSET,
    force: bool = False,
) -> ExportResult:
    """Export the ``hf`` model in ``model_dir`` to an ``onnx`` model directory ``out`` (see the module).

    Args:
        model_dir: a model directory of kind ``hf``.
        out: the new directory; an existing eccr model directory there is replaced, anything else refused.
        quantize: ``int8`` for dynamic int8 quantisation, ``none`` for fp32.
        check: labelled documents for the parity check (default: the bundled synthetic sample corpus).
        tolerance: largest wsm F1 drop allowed for int8.
        opset: ONNX opset.
        force: write the directory even when the parity check fails (the report says it failed).

    Raises:
        ConfigError: ``E164`` for a model that is not ``hf``, or an ``out`` that may not be replaced.
        ModelError: ``E165`` when the parity check fails (nothing written); ``E166`` when the exporter fails.
    """
    source_dir, target = Path(model_dir), Path(out)
    _check_target(source_dir, target)
    source = load_model(source_dir)
    if type(source) is not TokenClassificationModel:
        raise ConfigError(
            "E164",
            f"export-onnx exports hf token-classification models; {source_dir} holds a {source.kind!r} model",
            Location(file=str(source_dir)),
        )
    source.to_device("cpu")
    if check is None:
        from eccr.data import sample_corpus

        check = sample_corpus()
    gold = list(check)
    if not gold:
        raise ConfigError("E164", "the parity check needs at least one labelled document")
    reference = source.predict_documents([d.with_spans(()) for d in gold])

    with tempfile.TemporaryDirectory(prefix="eccr-onnx-") as work:
        fp32_graph = Path(work) / ONNX_FILE
        _export_graph(source, fp32_graph, opset)
        options = {**source.options, "quantization": "none", "opset": opset}
        exported = _attach(source, fp32_graph, options)
        fp32 = exported.predict_documents([d.with_spans(()) for d in gold])
        mismatches = tuple(d.id for d, a, b in zip(gold, reference, fp32, strict=True) if list(a) != list(b))
        if quantize == "int8":
            int8_graph = Path(work) / "model.int8.onnx"
            _quantize(fp32_graph, int8_graph)
            exported = _attach(source, int8_graph, {**options, "quantization": "int8"})
            final = exported.predict_documents([d.with_spans(()) for d in gold])
        else:
            final = fp32
        parity = ParityReport(
            documents=len(gold),
            quantization=quantize,
            fp32_mismatches=mismatches,
            reference_f1=_wsm_f1(gold, reference, source.opts.typed),
            exported_f1=_wsm_f1(gold, final, source.opts.typed),
            tolerance=tolerance,
        )
        if not parity.passed and not force:
            raise ModelError(
                "E165",
                f"the exported model fails the parity check: {parity.describe()}; "
                "nothing was written (use --force to write it anyway)",
                Location(file=str(source_dir)),
            )
        with atomic_directory(target) as tmp:
            report = {
                "source": str(source_dir.resolve()),
                "source_spec": str(source.spec),
                "quantization": quantize,
                "opset": opset,
                "parity": parity.to_dict(),
            }
            # written before the model: save() records every file of the directory in its manifest
            atomic_write_text(tmp / EXPORT_REPORT, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
            exported.save(tmp)
    return ExportResult(target, quantize, parity, (target / ONNX_FILE).stat().st_size)


def _check_target(source: Path, target: Path) -> None:
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise ConfigError(
            "E164",
            "--out must be a new directory, not the model directory itself",
            Location(file=str(target)),
        )
    if target.exists() and (
        not target.is_dir() or (any(target.iterdir()) and not (target / MODEL_FILE).is_file())
    ):
        raise ConfigError(
            "E164",
            f"{target} exists and is not an eccr model directory; refusing to replace "
            "it — choose a new --out",
            Location(file=str(target)),
        )


def _attach(
    source: TokenClassificationModel, graph: Path, options: dict[str, Any]
) -> OnnxTokenClassificationModel:
    model = OnnxTokenClassificationModel(ModelSpec("onnx", str(source.spec)), options)
    model.attach(graph, source)
    return model


def _logits_only(model: Any, names: tuple[str, ...]) -> Any:
    """``model`` as a module taking the inputs ``names`` by name and returning the logits.

    The exporter needs named parameters (one dynamic-shape spec per input), so the two interfaces — with
    and without ``position_ids`` — are spelt out.
    """
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    class LogitsOnlyWithPositions(LogitsOnly):
        def forward(self, input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:  # type: ignore[override]
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids
            ).logits

    return (LogitsOnlyWithPositions if "position_ids" in names else LogitsOnly)().eval()


def _export_graph(source: TokenClassificationModel, path: Path, opset: int) -> None:
    """Trace ``source``'s forward pass into ``path`` with dynamic batch and sequence dimensions.

    The inputs are what the model's collator gives at inference (``position_ids`` too where its recipe
    counts positions itself), so the graph is fed exactly what the torch model is.
    """
    import torch

    probe = (
        "発熱と咳嗽を認めた。",
        "既往歴に特記事項はない。胸部CTで異常なし。",
    )  # two lengths: padding traced
    features = [
        source._encode(Document(f"probe-{i}", t), with_labels=False).windows[0] for i, t in enumerate(probe)
    ]
    batch = source._collator()(
        [{"input_ids": f.input_ids, "attention_mask": f.attention_mask} for f in features]
    )
    names = tuple(name for name in INPUT_NAMES if name in batch)
    args = tuple(batch[name] for name in names)
    dims = {name: {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence")} for name in names}
    size = sum(p.numel() * p.element_size() for p in source.model.parameters())
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter chatter (axis renames, deprecations), not the user's
            torch.onnx.export(
                _logits_only(source.model, names),
                args,
                str(path),
                input_names=list(names),
                output_names=[OUTPUT_NAME],
                dynamic_shapes=dims,
                opset_version=opset,
                dynamo=True,
                external_data=size > 1_800_000_000,
                verbose=False,
            )
    except Exception as err:  # the exporter raises many kinds of errors; name the one it raised
        raise ModelError(
            "E166",
            f"the ONNX exporter failed: {type(err).__name__}: {str(err)[:500]}",
            Location(file=str(source.spec)),
        ) from None


def _quantize(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantisation of the ``MatMul`` weights (per channel); activations at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
    )


def _wsm_f1(gold: list[Document], spans: list[Any], typed: bool) -> float:
    from eccr.metrics import score

    pred = [d.with_spans(s) for d, s in zip(gold, spans, strict=True)]
    return score(gold, pred, p=(1.0,), typed=typed, conventional=False).wsm[1.0].f1
