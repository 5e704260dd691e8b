"""Instruction tuning (``--model it:<hub-id-or-path>``): a causal LM rewrites each sentence with ``@@…##``.

The paper's second approach, made a model kind like any other (``eccr cv``/``train``/``predict``, the Python
model API, the same config, early stopping, run-directory and saved-model conventions as ``hf:``):

* **Data** — documents are cut into sentences (:mod:`~eccr.models.instruction.sentences`); a training pair is
  ``prompt(sentence)`` → the answer in the chosen representation (:mod:`~eccr.models.instruction.
  representations`: ``@@…##`` inline, the paper, or a JSON list) followed by EOS.
* **Training** — supervised fine-tuning of any ``AutoModelForCausalLM`` with LoRA (``lora: auto`` = LoRA on
  pretrained weights, full fine-tuning of a model initialised from a config; ``true``/``false`` force it),
  loss on the answer tokens only: the prompt and the answer are tokenized separately and the labels of the
  prompt's positions are ``-100``, so the mask is exact whatever the tokenizer does at the boundary (at
  inference the model sees the same prompt tokens). The HF ``Trainer`` loop of every eccr kind
  (:func:`eccr.training.trainer.run_training`: bf16/fp16 on GPU, gradient accumulation, resume, DDP,
  ``metrics.jsonl``), early-stopped on validation wsm F1 at p = 1 computed **by generation** on whole
  validation documents, at most ``eval_max_sentences`` sentences (recorded in ``instruction-data.json``).
* **Generation** — :mod:`~eccr.models.instruction.generation` (length-sorted batches, left padding, KV cache,
  greedy or beam, per-input token budgets, prompt lookup), constrained by default for the inline
  representation (:mod:`~eccr.models.instruction.constrained`: the answer always reads back to the sentence).
* **Reading answers** — parse, project onto the sentence when it was not reproduced, count every problem;
  with :meth:`InstructionModel.write_diagnostics` a cross-validation fold keeps ``generations.jsonl`` (every
  raw answer) and ``generation-summary.json`` (counts, speed) next to its predictions.

A saved model directory holds the merged model (``model.safetensors`` + ``config.json``) and the tokenizer,
or with ``merge_lora: false`` only the LoRA adapter (``adapter_model.safetensors`` + ``adapter_config.json``)
whose base is loaded from the spec's hub id or path; plus ``eccr-model.json``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from eccr.corpus.types import DEFAULT_LABEL, Corpus, Document, Span
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.base import ConceptModel, ModelSpec, parse_options
from eccr.models.hf_common import HFTrainingOptions, process_rank
from eccr.models.hf_tokenizer import TOKENIZER_RECORD, write_record
from eccr.models.instruction.agreement import GENERATIONS_FILE
from eccr.models.instruction.generation import GenerationRun, GenerationSettings
from eccr.models.instruction.representations import REPRESENTATIONS, Reading, check_template, render_prompt
from eccr.models.instruction.sentences import Sentence, SentenceStats, join_sentence_spans, split_sentences

DATA_FILE = "instruction-data.json"
GENERATION_SUMMARY_FILE = "generation-summary.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
#: Longest training sequence (prompt + answer + EOS) when neither the options nor the model limit it further.
DEFAULT_MAX_LENGTH = 2048


class InstructionOptions(HFTrainingOptions):
    """Options of ``it:`` models (``model.options``); training/LoRA/loading options: ``HFTrainingOptions``.

    Attributes:
        representation: ``inline`` (the sentence rewritten with ``@@…##``, the paper) or ``json`` (a JSON
            list of concept strings).
        prompt: the prompt template, with ``{input}`` exactly once (default: the paper's template verbatim
            for ``inline``, the same wording asking for JSON for ``json``).
        constrained: constrained decoding (``auto`` = on for ``inline``; it is not available for ``json``);
            ``false`` reproduces the paper's free generation.
        prompt_lookup: draft tokens per step of prompt-lookup decoding (``null``: plain decoding).
        num_beams: beam search width (1 = greedy, the default).
        generation_batch_size: prompts per generation batch.
        new_tokens_factor, new_tokens_extra: an input's token budget is ``ceil(factor × tokens of the
            sentence) + extra``.
        eval_max_sentences: cap on the validation sentences generated after each epoch (whole documents
            are taken in order until the cap; at least one); ``null`` = all.
        max_length: longest training sequence in tokens (default: the model's limit, at most 2048); longer
            pairs are skipped and counted.
        max_train_sentences: train on at most this many sentences (quick experiments).
        merge_lora: save the LoRA adapter merged into the base weights (a self-contained directory);
            ``false`` saves the adapter alone (needs the base model at load time).
    """

    learning_rate: float = Field(2e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    representation: Literal["inline", "json"] = "inline"
    prompt: str | None = None
    constrained: bool | Literal["auto"] = "auto"
    prompt_lookup: int | None = Field(None, ge=1)
    num_beams: int = Field(1, ge=1)
    generation_batch_size: int = Field(16, ge=1)
    new_tokens_factor: float = Field(1.5, gt=0)
    new_tokens_extra: int = Field(16, ge=0)
    eval_max_sentences: int | None = Field(200, ge=1)
    max_length: int | None = Field(None, ge=8)
    max_train_sentences: int | None = Field(None, ge=1)
    merge_lora: bool = True

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    @model_validator(mode="after")
    def _decoding(self) -> InstructionOptions:
        if self.constrained is True and self.representation != "inline":
            raise ValueError("constrained decoding is for representation 'inline' (it copies the sentence)")
        if self.prompt_lookup and self.num_beams > 1:
            raise ValueError("prompt_lookup works with greedy decoding only (num_beams: 1)")
        return self

    @property
    def is_constrained(self) -> bool:
        return self.representation == "inline" if self.constrained == "auto" else bool(self.constrained)

    @property
    def template(self) -> str:
        return self.prompt or REPRESENTATIONS[self.representation].default_prompt


class InstructionModel(ConceptModel):
    """``it:<id-or-path>``: a causal LM fine-tuned to write each sentence's concepts (module docstring).

    Example (a tiny decoder directory with ``config.json`` and a tokenizer, trained from scratch)::

        model = create_model("it:tiny-llama", {"init": "from_config", "epochs": 20})
        model.fit(train, validation, run_dir=Path("runs/fold-1"))
        spans = model.predict_text("発熱と咳嗽を認めた。")
        model.save("models/it-fold-1")
    """

    kind: ClassVar[str] = "it"
    Options: ClassVar[type[BaseModel]] = InstructionOptions
    code_options: ClassVar[frozenset[str]] = frozenset({"trust_remote_code"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        if not spec.name_or_path:
            raise ConfigError("E044", "it models need a hub id or a local path: --model it:<id-or-path>")
        self.opts = parse_options(InstructionOptions, options)
        super().__init__(spec, self.opts.model_dump(mode="json"))
        self.model: Any = None
        self.tokenizer: Any = None
        self.recipe: Any = None
        #: How the tokenizer was obtained and checked (``eccr-tokenizer.json``).
        self.tokenizer_record: dict[str, Any] = {}
        self.uses_lora = False
        self.max_length = self.opts.max_length or DEFAULT_MAX_LENGTH
        self.data_stats: dict[str, Any] = {}
        self.generations: list[dict[str, Any]] = []
        self.generation_summary: dict[str, Any] = {}
        self._constraint: Any = None

    @property
    def representation(self) -> Any:
        return REPRESENTATIONS[self.opts.representation]

    @property
    def span_label(self) -> str:
        return self.labels[0] if self.labels else DEFAULT_LABEL

    # --- building ------------------------------------------------------------------------------------
    def _build(self, texts: Sequence[Document] = ()) -> None:
        """Tokenizer and causal LM for training, from the spec's path or hub id (``texts``: a sample for the
        tokenizer's fidelity check)."""
        from transformers import AutoModelForCausalLM

        from eccr.models import decoders, hf_common

        source = self._source()
        opts = self.opts
        config = hf_common.load_config(source, opts)
        self._check_architecture(config)
        self._load_tokenizer(source, config, texts)
        self._prepare(config)
        model = hf_common.instantiate(AutoModelForCausalLM, source, config, self.tokenizer, opts)
        self.uses_lora = opts.lora is True or (opts.lora == "auto" and opts.init == "pretrained")
        if self.uses_lora:
            model = decoders.apply_lora(
                model,
                r=opts.lora_r,
                alpha=opts.lora_alpha,
                dropout=opts.lora_dropout,
                target_modules=opts.lora_target_modules,
                extra_modules_to_save=opts.lora_modules_to_save,
                recipe=self.recipe,
                task="causal_lm",
            )
        self.model = model

    def _source(self) -> str:
        """The spec's hub id or local path (a missing local path is ``E086``, never a Hub lookup)."""
        from eccr.paths import local_or_hub_id

        return local_or_hub_id(str(self.spec.name_or_path), "model")

    def _check_architecture(self, config: Any) -> None:
        from eccr.models import decoders

        if not decoders.is_decoder_only(config):
            raise ModelError(
                "E100",
                f"it: needs a decoder-only causal LM; {getattr(config, 'model_type', '?')} is not one "
                "(use hf: for encoders)",
                Location(file=str(self.spec.name_or_path)),
            )

    def _load_tokenizer(self, source: str | Path, config: Any, texts: Sequence[Document] = ()) -> None:
        """The tokenizer with its family recipe, checked against its origin, as for ``hf:``."""
        from eccr.models.hf_common import load_recipe_tokenizer

        loaded = load_recipe_tokenizer(source, config, self.opts, texts)
        self.tokenizer, self.recipe = loaded.tokenizer, loaded.recipe
        self.tokenizer_record = loaded.record()
        self.opts = self.opts.model_copy(update={"recipe": loaded.recipe.name})
        self.options = self.opts.model_dump(mode="json")

    def _prepare(self, config: Any) -> None:
        """Pad token (by the recipe), an EOS to end answers, and ``max_length`` (training and loading)."""
        from eccr.models import decoders
        from eccr.models.instruction.generation import eos_token_id

        decoders.prepare_decoder_tokenizer(self.tokenizer, config, self.recipe)
        eos_token_id(self.tokenizer)
        limits = [self.opts.max_length or DEFAULT_MAX_LENGTH]
        for name in ("max_position_embeddings", "n_positions"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                limits.append(value)
                break
        self.max_length = min(limits)

    # --- training ------------------------------------------------------------------------------------
    def training_features(self, sentences: Sequence[Sentence]) -> tuple[list[dict[str, list[int]]], dict]:
        """One feature dict per sentence (``input_ids``, ``attention_mask``, ``labels``) and counts.

        ``input_ids`` = the prompt's tokens (special tokens as the tokenizer adds them) + the answer's tokens
        + EOS; ``labels`` = ``-100`` for every prompt position, then the answer's tokens and EOS. Pairs longer
        than ``max_length`` are skipped; answers the tokenizer cannot reproduce (its decoding differs, e.g. an
        NFKC normaliser) are counted.
        """
        from eccr.models.instruction.generation import decode_tokens, eos_token_id

        eos = eos_token_id(self.tokenizer)
        template = self.opts.template
        answers = [self.representation.target(s.text, s.spans) for s in sentences]
        prompt_ids = self.tokenizer([render_prompt(template, s.text) for s in sentences])["input_ids"]
        answer_ids = self.tokenizer(answers, add_special_tokens=False)["input_ids"]
        features = []
        too_long = unreproducible = 0
        for prompt, answer, text in zip(prompt_ids, answer_ids, answers, strict=True):
            ids = [*prompt, *answer, eos]
            if len(ids) > self.max_length:
                too_long += 1
                continue
            unreproducible += decode_tokens(self.tokenizer, answer) != text
            labels = [-100] * len(prompt) + [*answer, eos]
            features.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
        counts = {"pairs": len(features), "too_long": too_long, "answers_not_reproducible": unreproducible,
                  "max_length": self.max_length}
        return features, counts

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Fine-tune on ``train``'s sentences; keep the epoch with the best validation wsm F1 (p = 1).

        Without validation documents every epoch runs and the last is kept. ``run_dir`` receives
        ``metrics.jsonl``, the checkpoints (an interrupted run resumes from them) and
        ``instruction-data.json`` (how the data was formed).
        """
        from eccr.align import LabelScheme
        from eccr.training.collator import WindowCollator
        from eccr.training.trainer import run_training

        opts = self.opts
        docs = list(train)[: opts.max_train_docs] if opts.max_train_docs else list(train)
        if not docs:
            raise ModelError("E066", "cannot train on an empty corpus")
        # one untyped label, by the rule of every eccr kind (the corpus's only label, else "concept")
        self.labels = list(LabelScheme.from_corpus(docs, typed=False, label=opts.span_label).types)
        sentences, stats = split_sentences(docs)
        sentences = sentences[: opts.max_train_sentences] if opts.max_train_sentences else sentences
        val_list = list(validation) if validation is not None else []
        self._build([*docs, *val_list])
        features, counts = self.training_features(sentences)
        if not features:
            raise ModelError(
                "E103",
                f"no training pair fits max_length {self.max_length} tokens ({counts['too_long']} too long); "
                "raise model.options.max_length or use a model with longer positions",
            )
        val_docs, val_stats = self._validation_documents(val_list)
        self.data_stats = {"train": {**stats.to_dict(), **counts}, "validation": val_stats}
        self.model = run_training(
            self.model,
            features,
            collator=WindowCollator(self.tokenizer),
            options=opts,
            run_dir=run_dir,
            evaluator=(lambda: self._validation_scores(val_docs)) if val_docs else None,
            eval_items=val_docs,
        )
        if run_dir is not None and process_rank() == 0:
            _write_json(Path(run_dir) / DATA_FILE, self.data_stats)
            write_record(run_dir, self.tokenizer_record)

    def _validation_documents(self, documents: list[Document]) -> tuple[list[Document], dict[str, Any]]:
        """Whole validation documents, in order, until ``eval_max_sentences`` sentences (at least one), and
        what was chosen."""
        cap = self.opts.eval_max_sentences
        chosen: list[Document] = []
        total = 0
        for doc in documents:
            n = split_sentences([doc], with_spans=False)[1].sentences
            if chosen and cap is not None and total + n > cap:
                break
            chosen.append(doc)
            total += n
        return chosen, {"documents": len(chosen), "of_documents": len(documents), "sentences": total,
                        "eval_max_sentences": cap}

    def _validation_scores(self, documents: list[Document]) -> dict[str, float]:
        """wsm P/R/F1 at p = 1 of the current weights on the validation documents, by generation."""
        from eccr.metrics import score

        spans, summary = self._predict(documents)
        predicted = [d.with_spans(s) for d, s in zip(documents, spans, strict=True)]
        wsm = score(documents, predicted, p=(1.0,), conventional=False).wsm[1.0]
        metrics = {"wsm_f1": wsm.f1, "wsm_precision": wsm.precision, "wsm_recall": wsm.recall,
                   "sentences": summary["sentences"]}
        if "exact_reproduction" in summary:
            metrics["exact_reproduction"] = summary["exact_reproduction"]["rate"]
        return metrics

    # --- inference -----------------------------------------------------------------------------------
    def _require_trained(self) -> None:
        if self.model is None or self.tokenizer is None:
            raise ModelError(
                "E067", "the model is not trained or loaded: call fit() or load_model(dir) first"
            )

    def settings(self, **overrides: Any) -> GenerationSettings:
        """The generation settings from the options, with ``overrides`` (e.g. ``prompt_lookup=10``)."""
        from eccr.training.trainer import mixed_precision

        opts = self.opts
        flags = mixed_precision(opts.precision)
        base = GenerationSettings(
            batch_size=opts.generation_batch_size,
            num_beams=opts.num_beams,
            prompt_lookup=opts.prompt_lookup,
            constrained=opts.is_constrained,
            factor=opts.new_tokens_factor,
            extra=opts.new_tokens_extra,
            progress=opts.progress,
            precision="bf16" if flags["bf16"] else "fp16" if flags["fp16"] else "fp32",
        )
        return dataclasses.replace(base, **overrides)

    def constraint(self, texts: Sequence[str] = ()) -> Any:
        """The tokenizer's :class:`~eccr.models.instruction.constrained.CopyConstraint` (built once), checked
        against the tokenizer on ``texts``."""
        from eccr.models.instruction.constrained import CopyConstraint

        if self._constraint is None:
            self._constraint = CopyConstraint(self.tokenizer)
        self._constraint.check([*texts[:32], "@@x##\\@ #"])
        return self._constraint

    def generate(self, sentences: Sequence[str], **overrides: Any) -> GenerationRun:
        """Raw answers for ``sentences`` (settings from the options, with ``overrides``)."""
        from eccr.models.instruction.generation import generate

        self._require_trained()
        settings = self.settings(**overrides)
        if settings.constrained and self.opts.representation != "inline":
            raise ConfigError("E045", "constrained decoding is for representation 'inline'")
        prompts = [render_prompt(self.opts.template, s) for s in sentences]
        constraint = self.constraint(sentences) if settings.constrained else None
        return generate(self.model, self.tokenizer, prompts, sentences, settings, constraint,
                        max_length=self.max_length)

    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        """Spans per document: every sentence generated, read back and placed in the document.

        The raw answers and their counts are kept for :meth:`write_diagnostics`.
        """
        self._require_trained()
        spans, _ = self._predict(documents, keep=True)
        return spans

    def _predict(self, documents: list[Document], *, keep: bool = False
                 ) -> tuple[list[list[Span]], dict[str, Any]]:
        sentences, stats = split_sentences(documents, with_spans=False)
        run = self.generate([s.text for s in sentences])
        read = self.representation.read
        readings = [read(a.text, s.text) for a, s in zip(run.answers, sentences, strict=True)]
        label = self.span_label
        local = [[Span(a, b, label) for a, b in r.spans] for r in readings]
        summary = self._summary(stats, sentences, run, readings)
        if keep:
            self.generations = [
                _record(documents[s.doc_index].id, s, a, r)
                for s, a, r in zip(sentences, run.answers, readings, strict=True)
            ]
            self.generation_summary = summary
        return join_sentence_spans(sentences, local, len(documents)), summary

    def _summary(self, stats: SentenceStats, sentences: Sequence[Sentence], run: GenerationRun,
                 readings: Sequence[Reading]) -> dict[str, Any]:
        """Counts over one prediction call: problems, span outcomes, exact reproduction, speed."""
        problems: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        for reading in readings:
            problems.update(reading.problems)
            outcomes.update(reading.outcomes)
        n = len(readings)
        settings = self.settings()
        summary: dict[str, Any] = {
            "representation": self.opts.representation,
            "constrained": settings.constrained,
            "prompt_lookup": settings.prompt_lookup,
            "num_beams": settings.num_beams,
            "documents": stats.documents,
            "sentences": n,
            "blank_segments": stats.blank_segments,
            "problems": dict(problems),
            "outcomes": dict(outcomes),
            "completed_by_constraint": sum(a.completed for a in run.answers),
            "prompt_too_long": sum(a.too_long for a in run.answers),
            "new_tokens": run.new_tokens,
            "seconds": round(run.seconds, 3),
            "sentences_per_s": round(n / run.seconds, 3) if run.seconds > 0 else None,
            "tokens_per_s": round(run.new_tokens / run.seconds, 3) if run.seconds > 0 else None,
        }
        if self.representation.rewrites_sentence:
            exact = sum(r.plain == s.text for r, s in zip(readings, sentences, strict=True))
            summary["exact_reproduction"] = {"count": exact, "rate": exact / n if n else 0.0}
        return summary

    def write_diagnostics(self, directory: Path) -> None:
        """``generations.jsonl`` (every sentence: input, raw answer, spans, problems) and
        ``generation-summary.json`` of the last :meth:`predict_documents` call, into ``directory``."""
        from eccr.atomic import atomic_write_text

        if process_rank() != 0 or not self.generation_summary:
            return
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.generations)
        atomic_write_text(Path(directory) / GENERATIONS_FILE, lines)
        _write_json(Path(directory) / GENERATION_SUMMARY_FILE, self.generation_summary)

    # --- persistence ---------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model directory; under DDP only the main process writes."""
        if process_rank() != 0:
            return Path(directory)
        return super().save(directory)

    def save_weights(self, directory: Path) -> None:
        """The merged model (or, with ``merge_lora: false``, the adapter alone) and the tokenizer."""
        from eccr.models.hf_common import save_model_dir

        self._require_trained()
        if self.uses_lora and not self.opts.merge_lora:
            if self.opts.init == "from_config":
                raise ModelError(
                    "E104",
                    "merge_lora: false saves only the LoRA adapter, but the base weights were initialised "
                    "from a config and exist nowhere else; save merged (merge_lora: true)",
                    Location(file=str(directory)),
                )
            self.model.save_pretrained(directory, safe_serialization=True)
            self.tokenizer.save_pretrained(directory)
        else:
            self.model = save_model_dir(self.model, self.tokenizer, directory, merge_lora=True)
            self.uses_lora = False
        write_record(directory, self.tokenizer_record)

    def load_weights(self, directory: Path) -> None:
        """Load what :meth:`save_weights` wrote (an adapter is put on the base model named by the spec)."""
        from transformers import AutoModelForCausalLM

        from eccr.models import hf_common

        adapter = (directory / ADAPTER_CONFIG).is_file()
        config = hf_common.load_config(self._source() if adapter else str(directory), self.opts)
        self._check_architecture(config)
        self._load_tokenizer(directory, config)
        saved = directory / TOKENIZER_RECORD
        if saved.is_file():  # how the tokenizer was obtained and checked when the model was trained
            self.tokenizer_record = json.loads(saved.read_text(encoding="utf-8"))
        if adapter:
            model = self._load_adapter(directory, config)
        else:
            model = hf_common.load_model_dir(AutoModelForCausalLM, directory, self.opts)
        self._prepare(model.config)
        self.model = model

    def _load_adapter(self, directory: Path, config: Any) -> Any:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        from eccr.models import hf_common

        if not (directory / ADAPTER_WEIGHTS).is_file():
            raise ModelError("E062", f"{directory} has {ADAPTER_CONFIG} but no {ADAPTER_WEIGHTS} (eccr loads "
                             "safetensors only)", Location(file=str(directory)))
        source = self._source()
        base_options = self.opts.model_copy(update={"init": "pretrained"})
        base = hf_common.instantiate(AutoModelForCausalLM, source, config, self.tokenizer, base_options)
        model = PeftModel.from_pretrained(base, str(directory), use_safetensors=True)
        self.uses_lora = True
        if torch.cuda.is_available():
            model.to("cuda")
        return model.eval()


def _record(doc_id: str, sentence: Sentence, answer: Any, reading: Reading) -> dict[str, Any]:
    """One line of ``generations.jsonl``: where the sentence is, what was generated, what was read."""
    record: dict[str, Any] = {
        "id": doc_id,
        "sentence": sentence.index,
        "start": sentence.start,
        "end": sentence.end,
        "input": sentence.text,
        "output": answer.text,
    }
    if reading.plain is not None:
        record["plain"] = reading.plain
        record["exact"] = reading.plain == sentence.text
    record.update(
        spans=[list(span) for span in reading.spans],
        problems=reading.problems,
        outcomes=reading.outcomes,
        new_tokens=answer.new_tokens,
        completed=answer.completed,
        prompt_too_long=answer.too_long,
    )
    return record


def _write_json(path: Path, data: Any) -> None:
    from eccr.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
