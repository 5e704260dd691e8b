"""``eccr predict --engine ray``: the same model over a Ray Data dataset, for corpora of millions of notes.

The pipeline (``eccr[scale]``):

1. every input unit (a JSONL shard, a ``.txt`` file, any corpus file — :mod:`eccr.inference.inputs`) is read
   by the corpus layer **on a worker** (``flat_map``), so reading is distributed and validated exactly as in
   the local engine;
2. ``map_batches`` with one :class:`ExtractorActor` per worker: each actor loads the model directory once
   (:meth:`Extractor.load`) and predicts batches of documents; a document the model fails on becomes an
   error row (reported with its id) and the others are predicted. Actors take a GPU each when the cluster
   has GPUs, else one CPU each (with one torch thread, so N actors use N cores; one CPU stays free for
   the reading tasks, which would otherwise wait for the actors forever);
3. the driver streams the rows back **in input order** and writes JSONL: one file when ``--out`` ends in
   ``.jsonl``, else a directory with one shard per input unit (``part-00000-<name>.jsonl``…), each written
   atomically.

Without ``RAY_ADDRESS`` a local Ray instance is started (``--workers`` CPUs) and stopped afterwards; with it,
the job runs on that cluster (the model directory must be readable by the workers). The output is identical
to the local engine's (tested).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from eccr.corpus.types import Document, Span
from eccr.errors import ConfigError, EccrError, Location
from eccr.inference.inputs import STDIN, InputUnit
from eccr.inference.predict import PredictSummary

#: The only output format of the Ray engine (files or shards of eccr's canonical JSONL).
RAY_FORMAT = "jsonl"


def predict_with_ray(
    model_dir: Path,
    units: list[InputUnit],
    out: Path | None,
    fmt: str,
    *,
    batch_size: int = 32,
    workers: int | None = None,
    device: str = "auto",
    progress: bool = True,
    allow_misaligned_tokenizer: bool = False,
    trust_remote_code: bool = False,
    forward_batch_size: int | None = None,
) -> PredictSummary:
    """Predict ``units`` with the model in ``model_dir`` on Ray and write JSONL to ``out`` (see the module).

    Raises:
        ConfigError: ``E170`` when Ray is not installed, for standard input, no ``--out`` or another format.
    """
    if fmt != RAY_FORMAT or out is None:
        raise ConfigError("E170", "the ray engine writes JSONL: pass --out FILE.jsonl or --out DIR (shards)")
    if any(u.path == STDIN for u in units):
        raise ConfigError("E170", "the ray engine reads files, not standard input")
    try:
        import ray
    except ModuleNotFoundError:
        raise ConfigError("E170", "the ray engine needs Ray: pip install 'eccr[scale]'") from None
    from eccr.models.base import load_model

    load_model(model_dir, trust_remote_code=trust_remote_code)  # one clear error here, not one per actor
    started_here = not ray.is_initialized()
    if started_here:
        # a local instance: one CPU per model actor plus one for the reading tasks
        local = not os.environ.get("RAY_ADDRESS")
        cpus = (workers + 1 if workers else max(2, os.cpu_count() or 1)) if local else None
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="warning",
            configure_logging=True,
        )
    try:
        summary = PredictSummary()
        started = time.perf_counter()
        rows = _dataset(
            ray,
            model_dir,
            units,
            batch_size,
            workers,
            device,
            progress,
            allow_misaligned_tokenizer,
            trust_remote_code,
            forward_batch_size,
        ).iter_rows()
        _write(rows, units, out, summary)
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        if started_here:
            ray.shutdown()


def _dataset(
    ray: Any,
    model_dir: Path,
    units: list[InputUnit],
    batch_size: int,
    workers: int | None,
    device: str,
    progress: bool,
    allow_misaligned_tokenizer: bool,
    trust_remote_code: bool,
    forward_batch_size: int | None = None,
) -> Any:
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # outputs in input order, as the local engine
    context.enable_progress_bars = progress
    if not progress:  # without bars Ray Data logs progress lines instead
        import logging

        logging.getLogger("ray.data").setLevel(logging.WARNING)
    gpus = ray.cluster_resources().get("GPU", 0) if device != "cpu" else 0
    cpus = ray.cluster_resources().get("CPU", 1)
    actors = workers or max(1, int(gpus if gpus else cpus - 1))  # CPU actors leave a CPU for reading
    items = [{"unit": k, "path": u.path, "format": u.format} for k, u in enumerate(units)]
    return (
        ray.data.from_items(items, override_num_blocks=len(items))
        .flat_map(_read_unit)
        .map_batches(
            ExtractorActor,
            fn_constructor_kwargs={
                "model_dir": str(Path(model_dir).resolve()),
                "device": "cuda" if gpus else "cpu",
                "batch_size": batch_size,
                "allow_misaligned_tokenizer": allow_misaligned_tokenizer,
                "trust_remote_code": trust_remote_code,
                "forward_batch_size": forward_batch_size,
            },
            batch_size=batch_size,
            batch_format="default",
            concurrency=actors,
            num_gpus=1 if gpus else 0,
            num_cpus=0 if gpus else 1,
        )
    )


def _read_unit(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one input unit (one per document), or one error row when it cannot be read."""
    unit = InputUnit(item["path"], item["format"])
    try:
        docs = unit.read()
    except EccrError as err:
        return [_row(item["unit"], 0, None, error=err.with_location(file=unit.path))]
    return [_row(item["unit"], i, d) for i, d in enumerate(docs)]


def _row(
    unit: int, index: int, doc: Document | None, *, spans: str = "", error: EccrError | None = None
) -> dict[str, Any]:
    # flat string columns: arrow stores them as they are, whatever the meta holds
    return {
        "unit": unit,
        "index": index,
        "id": doc.id if doc else "",
        "text": doc.text if doc else "",
        "meta": json.dumps(dict(doc.meta), ensure_ascii=False) if doc else "{}",
        "spans": spans,
        "error": _error_json(error) if error is not None else "",
    }


def _error_json(err: EccrError) -> str:
    where = err.location
    return json.dumps(
        {
            "code": err.code,
            "message": err.message,
            "file": where.file,
            "doc_id": where.doc_id,
            "line": where.line,
            "offset": where.offset,
        },
        ensure_ascii=False,
    )


class ExtractorActor:
    """A Ray actor holding one :class:`~eccr.inference.Extractor`; called with batches of document rows."""

    def __init__(
        self,
        model_dir: str,
        device: str,
        batch_size: int,
        allow_misaligned_tokenizer: bool = False,
        trust_remote_code: bool = False,
        forward_batch_size: int | None = None,
    ) -> None:
        from eccr.inference.extractor import Extractor

        _one_thread_per_cpu(device)
        self.extractor = Extractor.load(
            model_dir,
            device=device,
            allow_misaligned_tokenizer=allow_misaligned_tokenizer,
            trust_remote_code=trust_remote_code,
            forward_batch_size=forward_batch_size,
        )
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        n = len(batch["id"])
        columns = {key: _as_list(value) for key, value in batch.items()}
        todo = [i for i in range(n) if not columns["error"][i]]
        docs = [
            Document.trusted(columns["id"][i], columns["text"][i], (), json.loads(columns["meta"][i]))
            for i in todo
        ]
        for i, result in zip(todo, self.extractor.iter_results(docs, self.batch_size), strict=True):
            if result.error is not None:
                columns["error"][i] = _error_json(result.error)
            else:
                assert result.spans is not None
                columns["spans"][i] = json.dumps(
                    [[s.start, s.end, s.label] for s in result.spans], ensure_ascii=False
                )
        return columns


def _as_list(column: Any) -> list[Any]:
    """A batch column (numpy array or list) as a list of Python values."""
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _one_thread_per_cpu(device: str) -> None:
    if device == "cpu":
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            import torch
        except ModuleNotFoundError:
            return
        torch.set_num_threads(1)


def _write(rows: Any, units: list[InputUnit], out: Path, summary: PredictSummary) -> None:
    """Stream rows (in input order) into one JSONL file, or one shard per unit in directory ``out``."""
    from eccr.atomic import atomic_path
    from eccr.corpus.io import write_corpus

    single = out.suffix.lower() == ".jsonl"
    if not single:
        out.mkdir(parents=True, exist_ok=True)
    collected: list[Document] = []
    current: int | None = None

    def flush(unit: int | None) -> None:
        if unit is None or single or not collected:
            return
        name = Path(units[unit].path).stem or "stdin"
        with atomic_path(out / f"part-{unit:05d}-{name}.jsonl") as tmp:
            write_corpus(collected, tmp, RAY_FORMAT)
        collected.clear()

    for row in rows:
        if row["unit"] != current:
            flush(current)
            current = row["unit"]
        if row["error"]:
            summary.failures.append(_error_from_json(row["error"]))
            continue
        spans = [Span(s, e, label) for s, e, label in json.loads(row["spans"])]
        collected.append(Document(row["id"], row["text"], spans, json.loads(row["meta"])))
        summary.documents += 1
        summary.spans += len(spans)
        summary.characters += len(row["text"])
    flush(current)
    if single and collected:
        from eccr.corpus.types import Corpus

        Corpus(collected)  # one file keyed by id: E021 for an id two inputs share, as the local engine
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            write_corpus(collected, tmp, RAY_FORMAT)


def _error_from_json(text: str) -> EccrError:
    data = json.loads(text)
    return EccrError(
        data["code"], data["message"], Location(data["file"], data["doc_id"], data["line"], data["offset"])
    )
