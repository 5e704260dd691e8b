"""spaCy pipelines as eccr models (``--model spacy:<package-or-path-or-language>``).

The spec names where the pipeline starts from:

* an installed package such as ``spacy:ja_ginza`` (or a pipeline directory): its tokenizer (GiNZA: SudachiPy
  split mode C), its **pretrained** ``tok2vec`` (copied with spaCy's ``source`` mechanism and fine-tuned) and
  its static word vectors (``[initialize] vectors``);
* a language code such as ``spacy:ja``: a blank pipeline with a new, randomly initialised ``tok2vec``.

A new ``ner`` (transition-based, ``doc.ents``) or ``spancat`` (``component: spancat``; overlapping
candidates allowed, an n-gram range suggester sized for long concepts: up to the longest training concept
in tokens unless ``max_span_tokens`` says otherwise) is trained on top through spaCy's own machinery: the
training and validation documents are written as DocBin files (:mod:`eccr.corpus.docbin`, the same
conversion ``eccr convert`` does), a spaCy config is built from the options, and
``spacy.training.initialize.init_nlp`` + ``spacy.training.loop.train`` run it — spaCy's loop, batching,
optimizer and checkpointing, not a re-written one. Early stopping is spaCy's: evaluation every
``eval_frequency`` steps on the validation documents, stop after ``patience`` steps without improvement of
the component's F1 (``ents_f`` / ``spans_sc_f``), at most ``max_steps`` steps, keep the best checkpoint.

Spans off token boundaries are snapped (``alignment_mode: expand``, default) or left out of training
(``strict``) — never silently: the fraction that aligns is printed and written to
``<run_dir>/spacy-alignment.json``. ``eccr diagnose-tokenizer --tokenizer spacy:ja --split-mode A`` reports
the ceiling of a segmentation on a corpus.

Predicted spans come from ``doc.ents``, or for ``spancat`` from ``doc.spans`` resolved to non-overlapping
spans (highest score first), so every kind predicts the same shape. A saved model directory holds the
spaCy pipeline under ``pipeline/`` (``config.cfg``, ``meta.json`` and msgpack/NumPy binaries — no pickle),
loadable by ``spacy.load`` on its own, and any lookup tables as ``lookups.msgpack`` (spaCy's own name for
them, ``lookups.bin``, is a suffix model directories refuse).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eccr.corpus.docbin import (
    AlignmentSummary,
    SplitMode,
    load_pipeline,
    require_spacy,
    tokenizer_pipeline,
    write_docbin,
)
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, InputError, Location, ModelError
from eccr.models.base import ConceptModel, ModelSpec, parse_options

PIPELINE_DIR = "pipeline"
ALIGNMENT_FILE = "spacy-alignment.json"
LOOKUPS_FILE = "lookups.msgpack"
#: The span group spancat writes to.
SPANS_KEY = "sc"


class SpacyOptions(BaseModel):
    """Options of ``spacy:`` models (``model.options``). Unknown keys are errors.

    Attributes:
        component: ``ner`` (``doc.ents``) or ``spancat`` (scored candidates, resolved to non-overlapping).
        split_mode: Sudachi split mode A/B/C of the Japanese tokenizer (default: the source pipeline's; GiNZA
            uses C, blank ``ja`` spaCy's default A).
        tok2vec: ``source`` (the source pipeline's pretrained tok2vec; a blank pipeline has none, so a new
            one is built) or ``new``.
        vectors: use the source pipeline's static word vectors in a new tok2vec (a sourced tok2vec always
            gets the vectors it was trained with).
        alignment_mode: spans off token boundaries: ``expand``/``contract`` to tokens, ``strict``: left out.
        max_steps, eval_frequency, patience: spaCy's ``[training]`` settings (steps).
        dropout, learning_rate, batch_words, seed: spaCy's training dropout, Adam learning rate, words per
            batch (``batch_by_words``) and seed.
        width, depth: size of a new tok2vec (hidden width, CNN layers); a sourced one keeps its own.
        max_span_tokens: spancat suggester's longest n-gram (default: the longest training concept in
            tokens, at most 48).
        threshold: spancat's probability threshold.
        progress: print spaCy's training table on stderr.
    """

    model_config = ConfigDict(extra="forbid")

    component: Literal["ner", "spancat"] = "ner"
    split_mode: SplitMode | None = None
    tok2vec: Literal["source", "new"] = "source"
    vectors: bool = True
    alignment_mode: Literal["strict", "expand", "contract"] = "expand"
    max_steps: int = Field(2000, ge=1)
    eval_frequency: int = Field(200, ge=1)
    patience: int = Field(1000, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    learning_rate: float = Field(0.001, gt=0)
    batch_words: int = Field(1000, ge=10)
    seed: int = 0
    width: int = Field(96, ge=8)
    depth: int = Field(4, ge=1)
    max_span_tokens: int | None = Field(None, ge=1)
    threshold: float = Field(0.5, gt=0, lt=1)
    progress: bool = True

    @model_validator(mode="after")
    def _patience_spans_an_evaluation(self) -> SpacyOptions:
        """spaCy checks patience every step: one shorter than ``eval_frequency`` stops before the second
        evaluation and keeps the untrained step-0 checkpoint."""
        if 0 < self.patience < self.eval_frequency:
            raise ValueError(f"patience ({self.patience} steps) must be 0 (off) or at least eval_frequency "
                             f"({self.eval_frequency}), or training stops before it is evaluated twice")
        return self


class SpacyModel(ConceptModel):
    """``spacy:<package|path|lang>``: a spaCy ``ner``/``spancat`` pipeline trained with spaCy's own loop."""

    kind: ClassVar[str] = "spacy"
    Options: ClassVar[type[BaseModel]] = SpacyOptions

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        if not spec.name_or_path:
            raise ConfigError(
                "E044",
                "spacy models need a source: --model spacy:<package|path|language>, e.g. spacy:ja_ginza",
            )
        self.opts = parse_options(SpacyOptions, options)
        super().__init__(spec, self.opts.model_dump(mode="json"))
        self.nlp: Any = None
        #: how the training spans mapped onto tokens (set by :meth:`initialize`)
        self.alignment: AlignmentSummary | None = None

    # --- configuration ------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        assert self.spec.name_or_path is not None
        return self.spec.name_or_path

    def _source_config(self) -> Any:
        """The source pipeline's config, or ``None`` for a blank pipeline (a language code)."""
        from eccr.corpus.docbin import is_language_code, pipeline_config

        require_spacy()
        if is_language_code(self.source):
            return None
        config = pipeline_config(self.source)
        if config is None:
            raise ConfigError(
                "E180",
                f"{self.source} is not a spaCy pipeline directory (no config.cfg)",
                Location(file=self.source),
            )
        return config

    def build_config(self, train_path: Path, dev_path: Path, max_span_tokens: int | None = None) -> Any:
        """The spaCy training config (a ``thinc`` ``Config``) for these options and data files."""
        from thinc.api import Config

        opts = self.opts
        source_config = self._source_config()
        lang = source_config["nlp"]["lang"] if source_config is not None else self.source
        tokenizer = (
            dict(source_config["nlp"]["tokenizer"])
            if source_config is not None
            else (
                {"@tokenizers": "spacy.ja.JapaneseTokenizer"}
                if lang == "ja"
                else {"@tokenizers": "spacy.Tokenizer.v1"}
            )
        )
        if opts.split_mode is not None:
            if lang != "ja":
                raise ConfigError(
                    "E045", f"invalid config key 'model.options.split_mode': {lang!r} is not ja"
                )
            tokenizer["split_mode"] = opts.split_mode
        sourced = (
            opts.tok2vec == "source"
            and source_config is not None
            and "tok2vec" in source_config["components"]
        )
        if opts.tok2vec == "source" and source_config is not None and not sourced:
            raise ConfigError(
                "E184",
                f"spaCy pipeline {self.source} has no tok2vec component to start from; "
                "set model.options.tok2vec=new",
                Location(file=self.source),
            )
        has_vectors = source_config is not None and opts.vectors
        if sourced:
            tok2vec: dict[str, Any] = {"source": self.source}
            width = _tok2vec_width(source_config)
        else:
            tok2vec = {"factory": "tok2vec", "model": _new_tok2vec(opts.width, opts.depth, has_vectors)}
            width = opts.width
        component = opts.component
        listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": width, "upstream": "*"}
        components: dict[str, Any] = {
            "tok2vec": tok2vec,
            component: _component_block(component, listener, opts, max_span_tokens),
        }
        score = "ents_f" if component == "ner" else f"spans_{SPANS_KEY}_f"
        config = {
            "paths": {"train": str(train_path), "dev": str(dev_path)},
            "system": {"seed": opts.seed, "gpu_allocator": None},
            "nlp": {
                "lang": lang,
                "pipeline": ["tok2vec", component],
                "batch_size": 64,
                "tokenizer": tokenizer,
            },
            "components": components,
            "corpora": {
                name: {"@readers": "spacy.Corpus.v1", "path": f"${{paths.{name}}}", "max_length": 0}
                for name in ("train", "dev")
            },
            "training": _training_block(opts, score),
            # a sourced tok2vec gets the vectors it was trained with, whatever ``vectors`` says
            "initialize": {"vectors": self.source if has_vectors or sourced else None},
        }
        return Config(config)

    # --- training ------------------------------------------------------------------------------------
    def initialize(self, train: Corpus, validation: Corpus | None, workdir: Path) -> Any:
        """Write the DocBins, build the config and return spaCy's initialised (untrained) pipeline.

        Separate from :meth:`fit` so the starting point can be inspected (tests compare the tok2vec weights
        with the source package's).
        """
        from spacy.training.initialize import init_nlp

        docs = [d for d in train if d.text]
        if not docs:
            raise ModelError(
                "E066", "cannot train a spaCy pipeline on a corpus without text", Location(file=train.source)
            )
        dev_docs = [d for d in (validation or train) if d.text]
        nlp = tokenizer_pipeline(self.source, self.opts.split_mode)
        spans_key = None if self.opts.component == "ner" else SPANS_KEY
        mode = self.opts.alignment_mode
        summary = write_docbin(docs, workdir / "train.spacy", nlp, spans_key=spans_key, alignment_mode=mode)
        write_docbin(dev_docs, workdir / "dev.spacy", nlp, spans_key=spans_key, alignment_mode=mode)
        self.alignment = summary
        max_span_tokens = None
        if self.opts.component == "spancat":
            max_span_tokens = self.opts.max_span_tokens or _longest_span_tokens(nlp, docs)
            self.opts = self.opts.model_copy(update={"max_span_tokens": max_span_tokens})
            self.options = self.opts.model_dump(mode="json")
        config = self.build_config(workdir / "train.spacy", workdir / "dev.spacy", max_span_tokens)
        with _quiet_spacy_logs():
            return init_nlp(config)

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Train with spaCy's loop, keep the best checkpoint on ``validation`` (``train`` when none)."""
        from spacy.training.loop import train as train_nlp

        work = Path(tempfile.mkdtemp(prefix="eccr-spacy-"))
        try:
            nlp = self.initialize(train, validation, work)
            summary = self.alignment
            assert summary is not None
            out = sys.stderr if self.opts.progress else io.StringIO()
            out.write(f"spaCy {self.spec}: {summary.describe()}\n")
            (work / "output").mkdir()
            with _quiet_spacy_logs():
                train_nlp(nlp, work / "output", stdout=out, stderr=out)
            best = work / "output" / "model-best"
            self.nlp = load_pipeline(str(best if best.is_dir() else work / "output" / "model-last"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.labels = sorted(self._component().labels)
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            from eccr.atomic import atomic_write_text

            atomic_write_text(
                run_dir / ALIGNMENT_FILE,
                json.dumps(
                    {
                        "tokenizer": summary.tokenizer,
                        "spans": summary.spans,
                        "aligned": summary.aligned,
                        "aligned_fraction": summary.aligned_fraction,
                        "alignment_mode": self.opts.alignment_mode,
                        "unaligned": [[i, s.start, s.end, s.label] for i, s in summary.unaligned],
                        "snapped": [
                            [i, s.start, s.end, w.start, w.end, s.label] for i, s, w in summary.snapped
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n",
            )

    def _component(self) -> Any:
        if self.nlp is None:
            raise ModelError(
                "E067", "the spaCy model is not trained or loaded: call fit() or load_model(dir)"
            )
        return self.nlp.get_pipe(self.opts.component)

    # --- inference -----------------------------------------------------------------------------------
    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        """``doc.ents`` (ner) or the non-overlapping best ``doc.spans`` (spancat) of each document."""
        self._component()
        texts = [d.text for d in documents]
        result = []
        for document, doc in zip(documents, self.nlp.pipe(texts, batch_size=16), strict=True):
            if doc.text != document.text:
                raise InputError(
                    "E182",
                    "the spaCy tokenizer changed the text; offsets would shift",
                    Location(doc_id=document.id),
                )
            if self.opts.component == "ner":
                result.append([Span(e.start_char, e.end_char, e.label_) for e in doc.ents])
            else:
                result.append(_best_non_overlapping(doc.spans.get(SPANS_KEY)))
        return result

    # --- persistence ---------------------------------------------------------------------------------
    def save_weights(self, directory: Path) -> None:
        """``nlp.to_disk`` into ``pipeline/``, its lookup tables (if any) apart as ``lookups.msgpack``.

        spaCy names its lookup tables ``vocab/lookups.bin``, a suffix model directories refuse (torch pickles
        use it too); they are msgpack, written under a name that says so (Japanese pipelines have none).
        """
        from eccr.atomic import atomic_write_bytes

        self._component()
        self.nlp.to_disk(directory / PIPELINE_DIR, exclude=["lookups"])
        if self.nlp.vocab.lookups.tables:
            atomic_write_bytes(directory / LOOKUPS_FILE, self.nlp.vocab.lookups.to_bytes())

    def load_weights(self, directory: Path) -> None:
        path = directory / PIPELINE_DIR
        if not (path / "config.cfg").is_file():
            raise ModelError(
                "E060",
                f"spaCy model directory lacks {PIPELINE_DIR}/config.cfg",
                Location(file=str(directory)),
            )
        self.nlp = load_pipeline(str(path))
        if (directory / LOOKUPS_FILE).is_file():
            self.nlp.vocab.lookups.from_bytes((directory / LOOKUPS_FILE).read_bytes())
        if self.opts.component not in self.nlp.pipe_names:
            raise ModelError(
                "E062",
                f"the saved spaCy pipeline has no {self.opts.component} component",
                Location(file=str(path)),
            )


def spacy_tokenizer(pipeline: str, split_mode: SplitMode | None = None) -> tuple[Any, Any, str]:
    """A spaCy pipeline's tokenizer for ``eccr diagnose-tokenizer``: ``(nlp, aligner, description)``.

    The aligner maps each non-space spaCy token to its characters (:class:`eccr.align.TokenAlignment`),
    the way :func:`eccr.align.align_text` does for Hugging Face tokenizers.
    """
    from eccr.align import TokenAlignment
    from eccr.corpus.docbin import describe_tokenizer

    nlp = tokenizer_pipeline(pipeline, split_mode)

    def aligner(tok: Any, text: str, doc_id: str | None) -> TokenAlignment:
        doc = tok.make_doc(text)
        if doc.text != text:
            raise InputError(
                "E182", "the spaCy tokenizer changed the text; offsets would shift", Location(doc_id=doc_id)
            )
        tokens = [t for t in doc if not t.is_space]
        return TokenAlignment(
            text,
            tuple(t.orth for t in tokens),
            tuple((t.idx, t.idx + len(t.text)) for t in tokens),
            tuple(t.text for t in tokens),
            doc_id,
        )

    return nlp, aligner, f"spacy:{pipeline} ({describe_tokenizer(nlp)})"


def _training_block(opts: SpacyOptions, score: str) -> dict[str, Any]:
    """spaCy's ``[training]`` section: Adam, words-per-batch compounding, early stopping on ``score``."""
    return {
        "seed": opts.seed,
        "gpu_allocator": None,
        "dropout": opts.dropout,
        "max_steps": opts.max_steps,
        "max_epochs": 0,
        "eval_frequency": opts.eval_frequency,
        "patience": opts.patience,
        "frozen_components": [],
        "annotating_components": [],
        "train_corpus": "corpora.train",
        "dev_corpus": "corpora.dev",
        "optimizer": {"@optimizers": "Adam.v1", "learn_rate": opts.learning_rate},
        "batcher": {
            "@batchers": "spacy.batch_by_words.v1",
            "discard_oversize": False,
            "tolerance": 0.2,
            "size": {
                "@schedules": "compounding.v1",
                "start": min(100, opts.batch_words),
                "stop": opts.batch_words,
                "compound": 1.001,
            },
        },
        "logger": {"@loggers": "spacy.ConsoleLogger.v1", "progress_bar": False},
        "score_weights": {score: 1.0},
    }


def _tok2vec_width(config: Any) -> int:
    """The output width of a pipeline's ``tok2vec`` (what a listener must declare)."""
    try:
        model = config.interpolate()["components"]["tok2vec"]["model"]
        return int(model["encode"]["width"] if "encode" in model else model["width"])
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError("E184", f"cannot tell the width of the source pipeline's tok2vec ({err!r}); "
                          "set model.options.tok2vec=new") from None


def _new_tok2vec(width: int, depth: int, static_vectors: bool) -> dict[str, Any]:
    """spaCy's CPU "efficiency" tok2vec (hash embeddings of NORM/PREFIX/SUFFIX/SHAPE + a CNN)."""
    return {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": width,
            "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
            "rows": [5000, 1000, 2500, 2500],
            "include_static_vectors": static_vectors,
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": width,
            "depth": depth,
            "window_size": 1,
            "maxout_pieces": 3,
        },
    }


def _component_block(
    component: str, listener: dict[str, Any], opts: SpacyOptions, max_span_tokens: int | None
) -> dict[str, Any]:
    if component == "ner":
        return {
            "factory": "ner",
            "model": {
                "@architectures": "spacy.TransitionBasedParser.v2",
                "state_type": "ner",
                "extra_state_tokens": False,
                "hidden_width": 64,
                "maxout_pieces": 2,
                "use_upper": True,
                "nO": None,
                "tok2vec": listener,
            },
        }
    return {
        "factory": "spancat",
        "spans_key": SPANS_KEY,
        "threshold": opts.threshold,
        "max_positive": None,
        "model": {
            "@architectures": "spacy.SpanCategorizer.v1",
            "reducer": {"@layers": "spacy.mean_max_reducer.v1", "hidden_size": 128},
            "scorer": {"@layers": "spacy.LinearLogistic.v1", "nO": None, "nI": None},
            "tok2vec": listener,
        },
        "suggester": {
            "@misc": "spacy.ngram_range_suggester.v1",
            "min_size": 1,
            "max_size": max_span_tokens or 1,
        },
    }


def _longest_span_tokens(nlp: Any, documents: list[Document], cap: int = 48) -> int:
    """The most tokens any training concept covers (at least 1, at most ``cap``)."""
    longest = 1
    for document in documents:
        doc = nlp.make_doc(document.text)
        for span in document.spans:
            token_span = doc.char_span(span.start, span.end, alignment_mode="expand")
            if token_span is not None:
                longest = max(longest, len(token_span))
    return min(longest, cap)


def _best_non_overlapping(group: Any) -> list[Span]:
    """Spans of a span group, highest score first, skipping any that overlaps one already kept."""
    if group is None or not len(group):
        return []
    scores = group.attrs.get("scores")
    order = sorted(range(len(group)), key=lambda i: -float(scores[i]) if scores is not None else 0.0)
    kept: list[Span] = []
    for i in order:
        token_span = group[i]
        span = Span(token_span.start_char, token_span.end_char, token_span.label_)
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    return sorted(kept, key=Span.sort_key)


@contextlib.contextmanager
def _quiet_spacy_logs() -> Iterator[None]:
    """spaCy's INFO log lines (``Set up nlp object from config``…) stay out of eccr's output."""
    import logging

    logger = logging.getLogger("spacy")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


__all__ = ["SpacyModel", "SpacyOptions"]
