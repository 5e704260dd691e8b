"""Generating answers: batched greedy (or beam) search with a KV cache, and the two speed paths.

* Prompts are tokenized once, **sorted by length** (longest first) and cut into batches, so little padding is
  computed; each batch is padded **on the left** (the answer continues right after every prompt).
* Each input gets its own token budget, ``ceil(factor × tokens of the sentence) + extra`` (a rewrite is about
  as long as the sentence); a row stops at EOS or at its budget (:class:`RowBudget`), the batch at the
  longest budget.
* **Prompt lookup** (``prompt_lookup``: draft tokens per step): assisted decoding whose drafts are n-grams
  of the prompt (``prompt_lookup_num_tokens`` in ``transformers``). The answer copies the sentence, so
  drafts are mostly accepted and several tokens are verified per forward pass; the result is the greedy
  result. ``transformers`` runs assisted decoding one input at a time, so this path uses batches of one.
* **Constrained** decoding adds :class:`~eccr.models.instruction.constrained.MarkerConstraint`; answers are
  read from the token table's bytes and completed by the automaton when they stop early, so every answer reads
  back to its sentence exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eccr.errors import ModelError


@dataclass(frozen=True)
class GenerationSettings:
    """How answers are generated (see the module docstring)."""

    batch_size: int = 16
    num_beams: int = 1
    prompt_lookup: int | None = None
    constrained: bool = False
    factor: float = 1.5
    extra: int = 16
    progress: bool = False
    #: ``bf16``/``fp16``: generate under CUDA autocast (as the model was trained); ignored without CUDA.
    precision: str = "fp32"
    #: batch prompts of similar length together (off: input order, for measuring what sorting saves)
    sort_by_length: bool = True


@dataclass(frozen=True)
class Generated:
    """One answer: its text, the tokens generated for it (EOS included), whether the automaton finished it,
    whether the prompt alone filled the model's length (then nothing was generated)."""

    text: str
    new_tokens: int
    completed: bool = False
    too_long: bool = False


@dataclass(frozen=True)
class GenerationRun:
    """The answers of one :func:`generate` call, in input order, and its wall time."""

    answers: tuple[Generated, ...]
    seconds: float

    @property
    def new_tokens(self) -> int:
        return sum(a.new_tokens for a in self.answers)


def eos_token_id(tokenizer: Any) -> int:
    """The id that ends an answer. Raises ``E101`` when the tokenizer has no EOS token."""
    if tokenizer.eos_token_id is None:
        raise ModelError("E101", "the tokenizer has no EOS token, so a generated answer could not end; "
                         "use a tokenizer with an EOS token")
    return int(tokenizer.eos_token_id)


def decode_tokens(tokenizer: Any, ids: Sequence[int]) -> str:
    """The text of generated tokens, as the tokenizer decodes it (special tokens and all cleanup off)."""
    return tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)


class RowBudget:
    """A stopping criterion: each input stops when it has generated its own number of tokens.

    The rows ``generate`` passes are the inputs, or their beams (and beam candidates) in input order.
    """

    def __init__(self, prompt_length: int, budgets: Sequence[int]) -> None:
        import torch

        self.prompt_length = prompt_length
        self.budgets = torch.tensor(list(budgets))

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        per_input = max(1, input_ids.shape[0] // len(self.budgets))
        budgets = self.budgets.to(input_ids.device).repeat_interleave(per_input)
        return input_ids.shape[1] - self.prompt_length >= budgets


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    sentences: Sequence[str],
    settings: GenerationSettings,
    constraint: Any = None,
    *,
    max_length: int | None = None,
) -> GenerationRun:
    """Answers for ``prompts`` (each about the matching entry of ``sentences``), in input order.

    ``constraint`` (a :class:`~eccr.models.instruction.constrained.CopyConstraint` for the tokenizer) is
    required when ``settings.constrained``. With ``max_length`` (the model's positions), a budget never
    runs past it, and a prompt that fills it gets an empty answer (``too_long``; completed when constrained).
    """
    from eccr.models.hf_common import progress

    if not prompts:
        return GenerationRun((), 0.0)
    prompt_ids = tokenizer(list(prompts))["input_ids"]
    sentence_ids = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    budgets = [math.ceil(settings.factor * len(ids)) + settings.extra for ids in sentence_ids]
    if max_length is not None:
        budgets = [min(b, max_length - len(ids)) for b, ids in zip(budgets, prompt_ids, strict=True)]
    answers: list[Generated | None] = [None] * len(prompts)
    for i, budget in enumerate(budgets):
        if budget <= 0:
            answers[i] = _unanswered(sentences[i], settings, constraint)
    order = [i for i in range(len(prompts)) if answers[i] is None]
    if settings.sort_by_length:
        order.sort(key=lambda i: -len(prompt_ids[i]))
    size = 1 if settings.prompt_lookup else settings.batch_size
    batches = [order[k : k + size] for k in range(0, len(order), size)]
    was_training = model.training
    model.eval()
    started = time.perf_counter()
    try:
        for batch in progress(batches, "generating", enabled=settings.progress and len(batches) > 1):
            rows = _generate_batch(
                model, tokenizer, [prompt_ids[i] for i in batch], [sentences[i] for i in batch],
                [budgets[i] for i in batch], settings, constraint,
            )
            for i, answer in zip(batch, rows, strict=True):
                answers[i] = answer
    finally:
        model.train(was_training)
    return GenerationRun(tuple(a for a in answers if a is not None), time.perf_counter() - started)


def _generate_batch(model: Any, tokenizer: Any, prompt_ids: Sequence[Sequence[int]], sentences: Sequence[str],
                    budgets: Sequence[int], settings: GenerationSettings, constraint: Any) -> list[Generated]:
    """One ``model.generate`` call over a batch of prompts (left-padded), answers read back per row."""
    import torch
    from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

    from eccr.models.instruction.constrained import MarkerConstraint

    eos = eos_token_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    input_ids, attention = _left_padded(prompt_ids, pad, next(model.parameters()).device)
    width = input_ids.shape[1]
    config = GenerationConfig(
        max_new_tokens=max(budgets),
        do_sample=False,
        num_beams=settings.num_beams,
        eos_token_id=eos,
        pad_token_id=pad,
        use_cache=True,
        prompt_lookup_num_tokens=settings.prompt_lookup,
    )
    processors = LogitsProcessorList()
    automata = [constraint.automaton(s) for s in sentences] if settings.constrained else []
    if automata:
        processors.append(
            MarkerConstraint(automata, width, num_beams=settings.num_beams, greedy=settings.num_beams == 1)
        )
    stopping = StoppingCriteriaList([RowBudget(width, budgets)])
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(settings.precision)
    autocast = input_ids.device.type == "cuda" and dtype is not None
    with torch.no_grad(), torch.autocast("cuda", dtype=dtype or torch.float32, enabled=autocast):
        output = model.generate(
            input_ids=input_ids, attention_mask=attention, generation_config=config,
            logits_processor=processors, stopping_criteria=stopping,
        )
    answers = []
    for row in range(len(prompt_ids)):
        tokens = output[row, width:].tolist()
        # a row ends at EOS; a row stopped by its budget is filled with padding after its last token
        end = next((k for k, t in enumerate(tokens) if t in (eos, pad)), len(tokens))
        count = end + int(end < len(tokens) and tokens[end] == eos)
        tokens = tokens[:end]
        if automata:
            answers.append(_constrained_answer(automata[row], constraint.table, tokens, count))
        else:
            answers.append(Generated(decode_tokens(tokenizer, tokens), count))
    return answers


def _constrained_answer(automaton: Any, table: Any, tokens: list[int], count: int) -> Generated:
    """The answer text from the table's bytes, completed by the automaton when generation stopped early."""
    state = automaton.run(tokens)
    if state is None:  # cannot happen with the constraint applied; refuse rather than return unfaithful text
        raise ModelError("E102", "constrained decoding produced a token sequence its automaton rejects")
    tail = automaton.completion(state)
    text = (table.decode_bytes(tokens) + tail).decode("utf-8", errors="strict")
    return Generated(text, count, completed=bool(tail))


def _unanswered(sentence: str, settings: GenerationSettings, constraint: Any) -> Generated:
    """The answer for a prompt too long to generate from: empty, or (constrained) the sentence unmarked."""
    if not settings.constrained:
        return Generated("", 0, too_long=True)
    automaton = constraint.automaton(sentence)
    return Generated(automaton.completion(automaton.start).decode("utf-8"), 0, completed=True, too_long=True)
