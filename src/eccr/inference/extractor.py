"""``eccr.Extractor``: a saved model directory as a thread-safe concept extractor for new texts.

The extractor goes only through the :class:`~eccr.models.base.ConceptModel` interface (:func:`load_model`
and ``predict_documents``), so every model kind — ``crf``, ``dict``, ``hf``, ``onnx`` and kinds added later —
works without changes here. Long texts are cut into the model's own windows (``hf``/``onnx``: overlapping
token windows merged by maximum context; nothing is truncated). Spans are half-open character offsets into
the text exactly as given.

Calls from several threads are safe: predictions run one batch at a time behind a lock (a forward pass
already uses every core; tokenizers are not safe for concurrent use), so concurrent callers queue rather
than corrupt each other. The REST service (:mod:`eccr.serve`) gathers concurrent requests into shared
batches in front of this lock.

Example (a CRF trained on the bundled sample corpus)::

    >>> from eccr.data import sample_corpus
    >>> from eccr.models.base import create_model
    >>> model = create_model("crf", {"max_iterations": 20})
    >>> model.fit(sample_corpus())
    >>> directory = model.save(getfixture("tmp_path") / "crf")
    >>> extractor = Extractor.load(directory)
    >>> text = "胸部Ｘ線写真で右胸水貯留を指摘された。"
    >>> [text[s.start:s.end] for s in extractor.extract(text)]
    ['右胸水貯留']
    >>> [len(spans) for spans in extractor.extract_many([text, "特記事項なし。", ""])]
    [1, 0, 0]
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, EccrError, Location, ModelError
from eccr.models.base import MODEL_FILE, ConceptModel, load_model

#: Texts per ``predict_documents`` call when the caller does not say.
DEFAULT_BATCH_SIZE = 32

#: Devices :meth:`Extractor.load` accepts besides ``cuda:N``.
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is: the ``GET /model`` answer and the header of prediction summaries.

    Attributes:
        model_id: ``<directory name>@<12 hex digits>``, a fingerprint of the model record and weights, so
            two servers answer with the same id exactly when they run the same model.
        kind: the model kind (``crf``, ``dict``, ``hf``, ``onnx``…).
        spec: the ``--model`` spec it was trained from.
        labels: the labels the model predicts with (token/character tags for tagging models).
        span_labels: the labels of the spans it outputs.
        options: its saved options (``scheme``, ``window``…).
        versions: eccr version that saved it and the versions of the libraries running it.
        runtime: what runs the forward pass (``torch``, ``onnxruntime``, ``python``).
        device: where (``cpu``, ``cuda:0``…).
    """

    model_id: str
    kind: str
    spec: str
    labels: tuple[str, ...]
    span_labels: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    runtime: str = "python"
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "kind": self.kind,
            "spec": self.spec,
            "labels": list(self.labels),
            "span_labels": list(self.span_labels),
            "scheme": self.options.get("scheme"),
            "options": self.options,
            "versions": self.versions,
            "runtime": self.runtime,
            "device": self.device,
        }


class Extractor:
    """Concept extraction with a loaded model; build it with :meth:`load`.

    Args:
        model: a trained or loaded :class:`~eccr.models.base.ConceptModel`.
        info: what the model is (:meth:`load` fills it from the model directory).
    """

    def __init__(self, model: ConceptModel, info: ModelInfo | None = None) -> None:
        self.model = model
        self.info = info or _info(model, None, "cpu")
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str = "auto",
        *,
        allow_misaligned_tokenizer: bool = False,
        trust_remote_code: bool = False,
        forward_batch_size: int | None = None,
    ) -> Extractor:
        """Load a model directory (``eccr train``, ``eccr cv --save-models``, ``eccr export-onnx``).

        Args:
            model_dir: the model directory.
            device: ``auto`` (a GPU when the model kind can use one and CUDA is available, else the CPU),
                ``cpu``, ``cuda`` or ``cuda:N``.
            allow_misaligned_tokenizer: predict even when the model's tokenizer fails the aligner's
                invariants on a text (``E079`` otherwise); only for kinds with a tokenizer.
            trust_remote_code: run code shipped with the model directory (only for directories you trust);
                taken from the caller only, never from the directory (:func:`~eccr.models.base.load_model`).
            forward_batch_size: windows per forward pass for kinds that batch them (``hf:``, ``onnx``,
                ``scratch:``); default twice the batch size the model was trained with. Larger batches of
                length-sorted windows are faster on a CPU with several cores and on a GPU; other kinds
                ignore it.

        Raises:
            ConfigError: ``E160`` for a device the model kind cannot use or that does not exist; ``E161``
                for a forward batch size below 1.
            ModelError: from :func:`~eccr.models.base.load_model` for a directory that is not a valid model.
        """
        _check_device(device)
        if forward_batch_size is not None and forward_batch_size < 1:
            raise ConfigError("E161", f"forward batch size must be at least 1, got {forward_batch_size}")
        model = load_model(model_dir, trust_remote_code=trust_remote_code)
        if forward_batch_size is not None and hasattr(model, "forward_batch_size"):
            model.forward_batch_size = forward_batch_size
        if allow_misaligned_tokenizer:
            if not hasattr(model, "allow_misaligned_tokenizer"):
                raise ConfigError(
                    "E045",
                    f"--allow-misaligned-tokenizer is for models with a tokenizer; {model.kind} has none",
                    Location(file=str(model_dir)),
                )
            model.allow_misaligned_tokenizer = True
        to_device = getattr(model, "to_device", None)
        if to_device is not None:
            to_device(device)
        elif device not in ("auto", "cpu"):
            raise ConfigError(
                "E160",
                f"model kind {model.kind!r} runs on the CPU only; use --device cpu",
                Location(file=str(model_dir)),
            )
        return cls(model, _info(model, Path(model_dir), device))

    # --- extraction ----------------------------------------------------------------------------------
    def extract(self, text: str) -> list[Span]:
        """The concept spans of one text (half-open character offsets into ``text``)."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Iterable[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[Span]]:
        """Spans for each text, in order; texts are predicted ``batch_size`` at a time."""
        documents = [Document(f"text-{i + 1}", _as_text(t, i)) for i, t in enumerate(texts)]
        return self.extract_documents(documents, batch_size)

    def extract_documents(
        self, documents: Sequence[Document], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[list[Span]]:
        """Spans for each document (spans the documents already hold are ignored)."""
        if batch_size < 1:
            raise ConfigError("E161", f"batch size must be at least 1, got {batch_size}")
        out: list[list[Span]] = []
        for start in range(0, len(documents), batch_size):
            out.extend(self._predict(documents[start : start + batch_size]))
        return out

    def extract_corpus(self, corpus: Iterable[Document], batch_size: int = DEFAULT_BATCH_SIZE) -> Corpus:
        """A corpus with the same ids, texts and meta whose spans are the model's predictions."""
        documents = list(corpus)
        spans = self.extract_documents(documents, batch_size)
        source = corpus.source if isinstance(corpus, Corpus) else None
        return Corpus((d.with_spans(s) for d, s in zip(documents, spans, strict=True)), source=source)

    def iter_results(
        self, documents: Iterable[Document], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[DocumentResult]:
        """One :class:`DocumentResult` per document, in order; a document the model fails on is reported
        in its result (with its id) and the others are still predicted.

        A batch is predicted in one call; when it fails, its documents are predicted one by one so that only
        the bad ones carry an error.
        """
        batch: list[Document] = []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._isolating(batch)
                batch = []
        if batch:
            yield from self._isolating(batch)

    def _isolating(self, batch: list[Document]) -> list[DocumentResult]:
        try:
            return [DocumentResult(d, s) for d, s in zip(batch, self._predict(batch), strict=True)]
        except Exception as err:  # find the bad documents; the good ones are still predicted
            if len(batch) == 1:
                return [DocumentResult(batch[0], None, _document_error(batch[0], err))]
        return [r for doc in batch for r in self._isolating([doc])]

    def _predict(self, documents: Sequence[Document]) -> list[list[Span]]:
        docs = [d if not d.spans else d.with_spans(()) for d in documents]
        todo = [i for i, d in enumerate(docs) if d.text]  # an empty text has no concepts
        spans: list[list[Span]] = [[] for _ in docs]
        if todo:
            with self._lock:
                predicted = self.model.predict_documents([docs[i] for i in todo])
            for i, p in zip(todo, predicted, strict=True):
                spans[i] = list(p)
        return spans


@dataclass(frozen=True)
class DocumentResult:
    """A document and its predicted spans, or the coded error the model raised for it."""

    document: Document
    spans: list[Span] | None
    error: EccrError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _document_error(doc: Document, err: Exception) -> EccrError:
    """``err`` located at ``doc``; an exception that is not an :class:`EccrError` becomes ``E162``."""
    if isinstance(err, EccrError):
        return err.with_location(doc_id=doc.id, file=doc.meta.get("file"))
    return ModelError(
        "E162",
        f"the model failed on this document: {type(err).__name__}: {err}",
        Location(file=doc.meta.get("file"), doc_id=doc.id),
    )


def _as_text(text: Any, index: int) -> str:
    if not isinstance(text, str):
        raise ConfigError("E161", f"text #{index + 1} is a {type(text).__name__}, not a str")
    return text


def _check_device(device: str) -> None:
    if device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit()):
        return
    raise ConfigError("E160", f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")


def _info(model: ConceptModel, directory: Path | None, device: str) -> ModelInfo:
    from eccr import __version__

    record: dict[str, Any] = {}
    if directory is not None:
        record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    runtime_of = getattr(model, "runtime", None)
    runtime, versions = runtime_of() if callable(runtime_of) else ("python", {})
    name = directory.resolve().name if directory is not None else model.kind
    device_of = getattr(model, "device", None)
    return ModelInfo(
        model_id=f"{name}@{_fingerprint(directory, record)}" if directory is not None else f"{name}@unsaved",
        kind=model.kind,
        spec=str(model.spec),
        labels=tuple(model.labels),
        span_labels=_span_labels(model.labels),
        options=dict(model.options),
        versions={"eccr": __version__, "saved_with_eccr": str(record.get("eccr_version")), **versions},
        runtime=runtime,
        device=str(device_of()) if callable(device_of) else ("cpu" if device == "auto" else device),
    )


def _span_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """``I-d``/``B-d``/``O`` tags → ``("d",)``; plain labels (a gazetteer's) are kept.

    >>> _span_labels(["O", "B-d", "I-d", "I-a"]), _span_labels(["concept"])
    (('d', 'a'), ('concept',))
    """
    out: list[str] = []
    for label in labels:
        if label == "O":
            continue
        name = label[2:] if label[:2] in ("B-", "I-") else label
        if name not in out:
            out.append(name)
    return tuple(out)


def _fingerprint(directory: Path, record: dict[str, Any]) -> str:
    """12 hex digits of a SHA-256 over the model's files: from the record's file manifest (names, sizes,
    hashes, checked at load) when it has one, else over the files' names and contents, streamed."""
    digest = hashlib.sha256()
    manifest = record.get("manifest")
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict):
        body = {k: v for k, v in record.items() if k != "manifest"}
        digest.update(json.dumps([body, manifest["files"]], sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()[:12]
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:12]
