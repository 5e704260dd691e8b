"""Token classification with any Hugging Face encoder or decoder (``--model hf:<hub-id-or-path>``).

The paper's winning recipe: character labels are mapped to tokens (:mod:`eccr.align`), a
``AutoModelForTokenClassification`` is fine-tuned with the HF ``Trainer`` (:mod:`eccr.training`) and
early-stopped on the validation wsm F1 at p = 1, and token predictions are mapped back to character spans.

* **The tokenizer** comes with its family recipe and is checked against the SentencePiece model the
  repository ships (:mod:`eccr.models.hf_tokenizer`, :mod:`eccr.models.recipes`); every training,
  validation and prediction document passes the aligner's invariants first
  (:meth:`TokenClassificationModel.check_alignment`: error ``E079`` unless ``allow_misaligned_tokenizer``).
* **Encoders** (DeBERTa-v2, RoBERTa, BERT…) are fully fine-tuned.
* **Decoders** (Llama, Mistral, GPT-NeoX, GPT-2…) get LoRA (``lora: auto``) with the classification head
  trained fully, right padding, a pad token when missing, and optionally bidirectional attention in all or
  the top k layers (:mod:`eccr.models.decoders`).
* **Long documents** are cut into overlapping windows of ``window`` tokens (special tokens included) every
  ``step`` content tokens, for training and inference; overlapping predictions are merged by maximum
  context. Nothing is truncated.
* ``init: from_config`` builds a randomly initialised model from the ``config.json`` at the path (a directory
  with ``config.json`` and a tokenizer is enough) — how eccr trains from scratch where no pretrained weights
  exist. ``init: pretrained`` (default) loads the weights.

A saved model directory holds ``model.safetensors`` + ``config.json`` (for LoRA the adapter is **merged**
into the base weights, so the directory is a plain, self-contained token-classification model that any
``transformers`` code can load), the tokenizer, ``eccr-tokenizer.json`` (how it was obtained and checked),
and ``eccr-model.json`` (options with the resolved window, step and recipe, and the label names).
:func:`eccr.models.base.load_model` needs nothing else.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from eccr.align import (
    EncodedDocument,
    InvariantReport,
    LabelScheme,
    SpecialTokens,
    TokenAlignment,
    check_alignments,
    decode_document,
    encode_document,
)
from eccr.align.windows import default_step
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.base import ConceptModel, ModelSpec, parse_options
from eccr.models.hf_common import HFTrainingOptions, process_rank
from eccr.models.hf_tokenizer import TOKENIZER_RECORD, write_record
from eccr.models.recipes import Recipe

#: What to do about a tokenizer that fails the invariants (the ``E079`` message of the gate).
MISALIGNED_HINT = (
    "`eccr diagnose-tokenizer CORPUS --tokenizer MODEL` prints this report with the tokenizer ceiling, "
    "`eccr doctor MODEL` what else to know; to go on anyway, pass --allow-misaligned-tokenizer "
    "(model option allow_misaligned_tokenizer: true)"
)

#: Window used when neither the options nor the model limit it further.
DEFAULT_WINDOW = 512

class TokenClassificationOptions(HFTrainingOptions):
    """Options of ``hf:`` models (``model.options`` in an experiment config). Unknown keys are errors.

    The training, LoRA, recipe and loading options shared with other ``transformers`` kinds are documented
    in :class:`~eccr.models.hf_common.HFTrainingOptions`; these are the token-classification ones.

    Attributes:
        scheme: ``io`` (the paper; adjacent concepts merge) or ``bio`` (adjacent concepts stay apart).
        typed: one label per span type (e.g. MedTxt ``d``/``a``/``f``) instead of concept/non-concept.
        window: model input length in tokens, special tokens included (default: the model's limit, at most
            512). step: content tokens between window starts (default: half the content of a window).
        crossing_rule: how a token crossing a concept boundary is labelled (``majority`` or ``any``).
        combine: how scores of tokens sharing one character (byte-fallback pieces) are combined.
        bidirectional: decoders only — ``false`` (causal, the paper), ``all`` (``true``) or a number k of
            top layers whose causal mask is removed.
        allow_misaligned_tokenizer: train even when the tokenizer violates the aligner's invariants on the
            training documents (error ``E079`` otherwise). Recorded with the run; a loaded model does not
            inherit it (set :attr:`TokenClassificationModel.allow_misaligned_tokenizer` to predict anyway).
    """

    scheme: Literal["io", "bio"] = "io"
    typed: bool = False
    window: int | None = Field(None, ge=4)
    step: int | None = Field(None, ge=1)
    crossing_rule: Literal["majority", "any"] = "majority"
    combine: Literal["mean", "max"] = "mean"
    bidirectional: bool | Literal["all"] | int = False
    allow_misaligned_tokenizer: bool = False

    @field_validator("bidirectional")
    @classmethod
    def _bidirectional(cls, value: bool | str | int) -> bool | str | int:
        if value is True:
            return "all"
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ValueError("a number of top layers must be >= 1 (use false for causal attention)")
        return value


def _scheme_from_labels(kind: str, labels: Sequence[str], typed: bool) -> LabelScheme:
    """The label scheme whose label names are ``labels`` (as saved in ``eccr-model.json``)."""
    types: list[str] = []
    for name in labels[1:]:
        t = name.split("-", 1)[1]
        if t not in types:
            types.append(t)
    scheme = LabelScheme(kind, tuple(types), typed)  # type: ignore[arg-type]
    if list(scheme.labels) != list(labels):
        raise ModelError("E061", f"saved labels {list(labels)} do not form a {kind} label scheme")
    return scheme


def _model_limit(config: Any, tokenizer: Any, recipe: Recipe) -> int:
    """The longest input the model accepts (position embeddings), capped by the tokenizer's limit and 512.

    A model numbering positions from ``pad_token_id + 1`` (RoBERTa's convention, see
    :attr:`~eccr.models.recipes.Recipe.position_rule`) has that many rows fewer.
    """
    limits = [DEFAULT_WINDOW]
    for name in ("max_position_embeddings", "n_positions"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            if recipe.position_rule(getattr(config, "model_type", None)) == "padding-offset":
                value -= int(getattr(config, "pad_token_id", None) or 0) + 1
            limits.append(value)
            break
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 10**7:
        limits.append(tok_limit)
    return min(limits)


class TokenClassificationModel(ConceptModel):
    """``hf:<id-or-path>``: an ``AutoModelForTokenClassification`` trained on character spans.

    Example (a tiny model directory with ``config.json`` and a tokenizer, trained from scratch)::

        model = create_model("hf:tiny-deberta", {"init": "from_config", "scheme": "bio", "epochs": 10})
        model.fit(train, validation, run_dir=Path("runs/fold-1"))
        model.save("models/fold-1")
        spans = load_model("models/fold-1").predict_text("発熱と咳嗽を認めた。")
    """

    kind: ClassVar[str] = "hf"
    Options: ClassVar[type[BaseModel]] = TokenClassificationOptions
    code_options: ClassVar[frozenset[str]] = frozenset({"trust_remote_code"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        if not spec.name_or_path:
            raise ConfigError("E044", "hf models need a hub id or a local path: --model hf:<id-or-path>")
        self.opts = parse_options(type(self).Options, options)
        super().__init__(spec, self.opts.model_dump(mode="json"))
        self.scheme: LabelScheme | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self.special: SpecialTokens | None = None
        self.recipe: Recipe | None = None
        self.decoder = False
        self.uses_lora = False
        #: Train or predict even when the tokenizer violates the aligner's invariants (``E079`` otherwise).
        self.allow_misaligned_tokenizer = self.opts.allow_misaligned_tokenizer
        #: windows per forward pass at prediction; ``None``: twice the training ``batch_size`` (a runtime
        #: setting of whoever predicts, e.g. ``Extractor.load(forward_batch_size=…)``, never saved)
        self.forward_batch_size: int | None = None
        #: How the tokenizer was obtained and checked (``eccr-tokenizer.json``).
        self.tokenizer_record: dict[str, Any] = {}

    # --- building ------------------------------------------------------------------------------------
    def _source(self) -> str:
        """Where the tokenizer and config to train from are: the spec's hub id or path."""
        return str(self.spec.name_or_path)

    def _load_tokenizer(self, source: str | Path, config: Any, texts: Sequence[Document] = ()) -> None:
        """Recipe and checked tokenizer (:func:`eccr.models.hf_common.load_recipe_tokenizer`)."""
        from eccr.models.hf_common import load_recipe_tokenizer

        loaded = load_recipe_tokenizer(source, config, self.opts, texts)
        self.tokenizer, self.recipe = loaded.tokenizer, loaded.recipe
        self.tokenizer_record = loaded.record()
        self.opts = self.opts.model_copy(update={"recipe": loaded.recipe.name})
        self.options = self.opts.model_dump(mode="json")

    def _build(self, scheme: LabelScheme, texts: Sequence[Document]) -> None:
        """Tokenizer and model for training, from the spec's path or hub id (``texts``: fidelity sample)."""
        from transformers import AutoModelForTokenClassification

        from eccr.models import decoders, hf_common
        from eccr.paths import local_or_hub_id

        source = local_or_hub_id(self._source(), "model")  # never a missing path to the Hub
        opts = self.opts
        config = hf_common.load_config(
            source, opts, num_labels=len(scheme.labels), id2label=scheme.id2label, label2id=scheme.label2id
        )
        self._load_tokenizer(source, config, texts)
        tokenizer, recipe = self.tokenizer, self.recipe
        assert recipe is not None
        self.decoder = recipe.decoder
        if self.decoder:
            decoders.prepare_decoder_tokenizer(tokenizer, config, recipe)
        elif opts.bidirectional is not False:
            raise ConfigError(
                "E045",
                f"bidirectional is for decoder-only models; {config.model_type} is an "
                "encoder and already attends both ways",
            )
        model = hf_common.instantiate(AutoModelForTokenClassification, source, config, tokenizer, opts)
        if self.decoder and opts.bidirectional is not False:
            decoders.make_bidirectional(model, opts.bidirectional)
        self.uses_lora = opts.lora is True or (opts.lora == "auto" and self.decoder)
        if self.uses_lora:
            model = decoders.apply_lora(
                model,
                r=opts.lora_r,
                alpha=opts.lora_alpha,
                dropout=opts.lora_dropout,
                target_modules=opts.lora_target_modules,
                extra_modules_to_save=opts.lora_modules_to_save,
                recipe=recipe,
            )
        self.model, self.tokenizer = model, tokenizer
        self.special = SpecialTokens.from_tokenizer(tokenizer)
        self._resolve_window(config)

    def _resolve_window(self, config: Any) -> None:
        assert self.recipe is not None
        limit = _model_limit(config, self.tokenizer, self.recipe)
        window = self.opts.window or limit
        if window > limit:
            raise ConfigError("E045", f"window {window} exceeds the model's limit of {limit} tokens")
        assert self.special is not None
        if window <= self.special.count:
            raise ConfigError(
                "E045", f"window {window} leaves no room for text after {self.special.count} special tokens"
            )
        step = self.opts.step or default_step(window, self.special.count)
        self.opts = self.opts.model_copy(update={"window": window, "step": step})
        self.options = self.opts.model_dump(mode="json")

    # --- encoding ------------------------------------------------------------------------------------
    def _encode(self, doc: Document, with_labels: bool) -> EncodedDocument:
        assert self.scheme is not None and self.opts.window is not None
        return encode_document(
            self.tokenizer,
            doc,
            self.scheme,
            window=self.opts.window,
            step=self.opts.step,
            with_labels=with_labels,
            rule=self.opts.crossing_rule,
            special=self.special,
        )

    def check_alignment(self, alignments: Sequence[TokenAlignment], stage: str) -> InvariantReport:
        """The gate before training and prediction: the aligner's invariants on these alignments.

        Raises ``E079`` with the report ``eccr diagnose-tokenizer`` prints unless
        :attr:`allow_misaligned_tokenizer` is set (then it warns). The outcome is recorded in
        :attr:`tokenizer_record` under ``invariants`` (``stage``: ``training`` or ``prediction``).
        """
        report = check_alignments(alignments)
        allowed = not report.ok and self.allow_misaligned_tokenizer
        self.tokenizer_record.setdefault("invariants", {})[stage] = {
            **{k: v for k, v in report.to_dict().items() if k != "violations"},
            "violations": [v.describe() for v in report.violations[:10]],
            "allowed_by_flag": allowed,
        }
        if allowed:
            warnings.warn(f"{report.summary()} — {stage} continues because of --allow-misaligned-tokenizer",
                          stacklevel=3)
        else:
            report.raise_if_violated(f"the tokenizer of {self.spec}", hint=MISALIGNED_HINT)
        return report

    # --- training ------------------------------------------------------------------------------------
    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Fine-tune on ``train``; keep the epoch with the best wsm F1 (p = 1) on ``validation``.

        Without a validation corpus every epoch runs and the last one is kept. ``run_dir`` receives
        ``metrics.jsonl`` and the Trainer checkpoints; when it already holds checkpoints (an interrupted run
        with the same options and data), training resumes from the newest one.
        """
        from eccr.training.trainer import run_training

        opts = self.opts
        docs = list(train)[: opts.max_train_docs] if opts.max_train_docs else list(train)
        if not docs:
            raise ModelError("E066", "cannot train on an empty corpus")
        self.scheme = LabelScheme.from_corpus(docs, opts.scheme, typed=opts.typed, label=opts.span_label)
        self.labels = list(self.scheme.labels)
        val_docs = list(validation) if validation is not None else []
        self._build(self.scheme, [*docs, *val_docs])
        encoded = [self._encode(doc, with_labels=True) for doc in docs]
        val_encoded = [self._encode(doc, with_labels=False) for doc in val_docs]  # once, not every epoch
        try:
            self.check_alignment([e.alignment for e in (*encoded, *val_encoded)], "training")
        finally:
            if run_dir is not None and process_rank() == 0:
                write_record(run_dir, self.tokenizer_record)
        features = [w.to_dict() for e in encoded for w in e.windows]
        self.model = run_training(
            self.model,
            features,
            collator=self._collator(),
            options=opts,
            run_dir=run_dir,
            evaluator=(lambda: self._validation_scores(val_docs, val_encoded)) if val_docs else None,
            eval_items=val_docs,
        )

    def _validation_scores(self, documents: list[Document], encoded: Sequence[EncodedDocument]
                           ) -> dict[str, float]:
        """wsm P/R/F1 at p = 1 of the current model on the validation documents (already encoded)."""
        from eccr.metrics import score

        predictions = self._predict_encoded(encoded)
        pred = [d.with_spans(p) for d, p in zip(documents, predictions, strict=True)]
        report = score(documents, pred, p=(1.0,), typed=self.opts.typed, conventional=False)
        wsm = report.wsm[1.0]
        return {"wsm_f1": wsm.f1, "wsm_precision": wsm.precision, "wsm_recall": wsm.recall}

    # --- inference -----------------------------------------------------------------------------------
    def _require_trained(self) -> None:
        if self.model is None or self.scheme is None:
            raise ModelError(
                "E067", "the model is not trained or loaded: call fit() or load_model(dir) first"
            )

    def window_scores(self, encoded: Sequence[EncodedDocument]) -> list[list[np.ndarray]]:
        """Model logits (``(positions, labels)``, float32) for every window of every encoded document.

        Windows are sorted by length, batched ``forward_batch_size`` at a time (padded on the tokenizer's
        side) and scored by :meth:`batch_logits`;
        padding rows are cut off again by the attention mask, so each array has exactly the window's length.
        """
        from eccr.models import hf_common

        self._require_trained()
        flat = [(i, k, w) for i, enc in enumerate(encoded) for k, w in enumerate(enc.windows)]
        order = sorted(range(len(flat)), key=lambda j: len(flat[j][2].input_ids))
        out: list[list[np.ndarray | None]] = [[None] * len(enc.windows) for enc in encoded]
        collate = self._collator()
        size = self.forward_batch_size or max(1, self.opts.batch_size * 2)
        batches = [order[b : b + size] for b in range(0, len(order), size)]
        progress = hf_common.progress(batches, "predicting", enabled=self.opts.progress and len(batches) > 20)
        with self.inference_mode():
            for batch in progress:
                inputs = collate(
                    [
                        {"input_ids": flat[j][2].input_ids, "attention_mask": flat[j][2].attention_mask}
                        for j in batch
                    ]
                )
                real = inputs["attention_mask"].bool().numpy()  # padding may be on either side
                logits = self.batch_logits(inputs)
                for row, j in enumerate(batch):
                    i, k, _ = flat[j]
                    out[i][k] = logits[row][real[row]]
        return [[a for a in row if a is not None] for row in out]

    @contextmanager
    def inference_mode(self) -> Iterator[None]:
        """Evaluation mode without autograd for the duration of a prediction (training mode restored).

        ``no_grad`` rather than ``inference_mode``: validation runs inside training, and tensors a model
        caches (relative positions) must stay usable by the next backward pass.
        """
        import torch

        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.model.train(was_training)

    def batch_logits(self, inputs: dict[str, Any]) -> np.ndarray:
        """Logits (float32 ``(batch, positions, labels)``) for one padded batch of windows (CPU tensors).

        The one place a forward pass runs at inference; another runtime (ONNX) overrides it.
        """
        device = next(self.model.parameters()).device
        inputs = {k: v.to(device) for k, v in inputs.items()}
        return self.model(**inputs).logits.float().cpu().numpy()

    def runtime(self) -> tuple[str, dict[str, str]]:
        """What runs the forward pass, and the versions that matter for reproducing its output."""
        import torch
        import transformers

        return "torch", {"torch": torch.__version__, "transformers": transformers.__version__}

    def device(self) -> str:
        self._require_trained()
        return str(next(self.model.parameters()).device)

    def to_device(self, device: str) -> None:
        """Move the weights to ``device`` (``auto``: CUDA when available, else the CPU)."""
        import torch

        self._require_trained()
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.model.to(torch.device(device))
        except (RuntimeError, AssertionError) as err:
            raise ConfigError("E160", f"cannot run the model on device {device!r}: {err}") from None

    def _collator(self) -> Any:
        from eccr.training.collator import WindowCollator

        assert self.recipe is not None
        from_zero = self.recipe.position_rule(getattr(self.model.config, "model_type", None)) == "from-zero"
        return WindowCollator(self.tokenizer, position_ids=from_zero)

    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        """Spans per document: every window predicted, merged by maximum context, mapped to characters.

        The documents' alignments pass the tokenizer gate first (:meth:`check_alignment`, ``E079``).
        """
        self._require_trained()
        encoded = [self._encode(doc, with_labels=False) for doc in documents]
        self.check_alignment([e.alignment for e in encoded], "prediction")
        return self._predict_encoded(encoded)

    def _predict_encoded(self, encoded: Sequence[EncodedDocument]) -> list[list[Span]]:
        """Spans per encoded document (the inference path of :meth:`predict_documents`)."""
        assert self.scheme is not None
        scores = self.window_scores(encoded)
        return [
            decode_document(enc, s, self.scheme, combine=self.opts.combine, repair=True)
            for enc, s in zip(encoded, scores, strict=True)
        ]

    # --- persistence ---------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model directory; under DDP only the main process writes."""
        if process_rank() != 0:
            return Path(directory)
        return super().save(directory)

    def save_weights(self, directory: Path) -> None:
        """Weights (safetensors; LoRA merged into the base), config and tokenizer into ``directory``."""
        from eccr.models.hf_common import save_model_dir

        self._require_trained()
        self.model = save_model_dir(self.model, self.tokenizer, directory, merge_lora=True)
        self.uses_lora = False
        write_record(directory, self.tokenizer_record)

    def load_weights(self, directory: Path) -> None:
        """Load what :meth:`save_weights` wrote (plus ``labels`` and ``options`` from ``eccr-model.json``)."""
        from transformers import AutoModelForTokenClassification

        from eccr.models import decoders, hf_common

        if not self.labels:
            raise ModelError(
                "E061", f"{directory}/eccr-model.json lists no labels", Location(file=str(directory))
            )
        self.scheme = _scheme_from_labels(self.opts.scheme, self.labels, self.opts.typed)
        model = hf_common.load_model_dir(AutoModelForTokenClassification, directory, self.opts)
        if model.config.num_labels != len(self.labels):
            raise ModelError(
                "E061",
                f"the weights have {model.config.num_labels} labels, eccr-model.json {len(self.labels)}",
                Location(file=str(directory)),
            )
        self._load_tokenizer(directory, model.config)
        saved = Path(directory) / TOKENIZER_RECORD
        if saved.is_file():  # how the tokenizer was obtained and checked when the model was trained
            self.tokenizer_record = json.loads(saved.read_text(encoding="utf-8"))
        self.allow_misaligned_tokenizer = False  # predicting on a misaligned tokenizer needs its own consent
        assert self.recipe is not None
        self.decoder = self.recipe.decoder
        if self.decoder:
            decoders.prepare_decoder_tokenizer(self.tokenizer, model.config, self.recipe)
            if self.opts.bidirectional is not False:
                decoders.make_bidirectional(model, self.opts.bidirectional)
        self.model = model
        self.special = SpecialTokens.from_tokenizer(self.tokenizer)
        if self.opts.window is None:
            self._resolve_window(model.config)


__all__ = ["TokenClassificationModel", "TokenClassificationOptions"]
