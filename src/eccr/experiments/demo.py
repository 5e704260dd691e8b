"""The demo's experiment: the models and corpus of ``eccr demo`` (``make demo``), and its output folder.

The demo (:mod:`eccr.cli.demo`) is the main job of eccr, start to finish, each step a call a user would
make themselves:

1. read the corpus and print its statistics;
2. an experiment (:mod:`eccr.experiments.matrix`) of three models on the **same** 5 folds — the character
   CRF, the gazetteer and a small transformer trained from scratch (``scratch:deberta-v2``: its character
   tokenizer is trained on each fold's training documents, nothing is downloaded);
3. the Table-2 style report of the three runs (:mod:`eccr.reports`), its plots written;
4. the HTML error viewer of every run (:mod:`eccr.reports.viewer`);
5. the model with the best mean wsm F1 (p = 1) trained on all documents, concepts extracted from a new
   note and shown highlighted (terminal and HTML).

Nothing is cached between demos: each run starts from an empty output folder (a folder an earlier demo
wrote, recognised by its ``.eccr-demo`` marker, is replaced; any other non-empty folder is refused, ``E157``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from eccr.errors import ConfigError, Location
from eccr.experiments.matrix import CorpusEntry, Experiment, ModelEntry

MARKER = ".eccr-demo"

#: The demo's models: two CPU baselines and a small transformer trained from scratch (about 10 s for 5
#: folds of the sample on two cores).
DEMO_MODELS: Mapping[str, ModelEntry] = {
    "crf": ModelEntry(spec="crf"),
    "gazetteer": ModelEntry(spec="dict"),
    "transformer": ModelEntry(
        spec="scratch:deberta-v2",
        options={"tokenizer": "char", "hidden": 64, "layers": 2, "heads": 2, "intermediate": 128,
                 "epochs": 10, "learning_rate": 3e-3, "batch_size": 4, "warmup": 0.0, "patience": 3},
    ),
}


def prepare_out_dir(out: Path) -> None:
    """Empty ``out`` for a fresh demo: only a folder an earlier demo wrote may be replaced.

    Raises:
        ConfigError: ``E157`` when ``out`` is a file, or a non-empty folder no demo wrote.
    """
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise ConfigError(
            "E157",
            f"{out} exists and was not written by eccr demo; choose another --out (the demo replaces its "
            "own output folder and nothing else)",
            Location(file=str(out)),
        )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by eccr demo; the next demo replaces this folder\n", encoding="utf-8")


def demo_experiment(data: Path, *, corpus_format: str | None, select: str | None,
                    models: Mapping[str, ModelEntry] = DEMO_MODELS) -> Experiment:
    """The demo's experiment: ``data`` × ``models``, 5 folds, seed 0."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", data.stem).strip("-._") or "corpus"
    corpus = CorpusEntry(path=str(data.resolve()), format=corpus_format, select=select)
    return Experiment(name="demo", corpora={name: corpus}, models=dict(models))


def best_run(run_dirs: Mapping[str, Path]) -> str:
    """The model whose run has the highest mean wsm F1 at its first p (ties: the first listed)."""
    import json

    def f1(name: str) -> float:
        summary = json.loads((run_dirs[name] / "summary.json").read_text(encoding="utf-8"))
        first = next(iter(summary["wsm"]))
        return float(summary["wsm"][first]["f1"]["mean"])

    return max(run_dirs, key=lambda name: (f1(name), -list(run_dirs).index(name)))
