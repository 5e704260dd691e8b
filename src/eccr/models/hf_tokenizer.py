"""The tokenizer a pretrained model is fine-tuned with: its recipe applied, and checked against its origin.

:func:`load_model_tokenizer` is how every ``hf:`` model (and ``eccr doctor``, ``eccr diagnose-tokenizer``)
gets its tokenizer:

1. the family :class:`~eccr.models.recipes.Recipe` is selected (or named) and what it needs installed is
   checked before anything is loaded (``E190``);
2. transformers loads the tokenizer (``AutoTokenizer``);
3. the recipe's tokenizer settings are applied — lower-casing (a ``Lowercase`` normaliser, so offsets still
   index the original text), the special-token template — and the result is a plain fast tokenizer whose
   ``tokenizer.json`` is what gets saved and loaded back, unchanged;
4. **fidelity**: when the model ships a SentencePiece model, the ids are compared with SentencePiece's own
   on the probe texts (:data:`eccr.align.fidelity.PROBE_TEXTS`) and a sample of the corpus; when they differ,
   the ``tokenizer.json`` as written in the repository and a tokenizer rebuilt from the SentencePiece model
   (:func:`~eccr.models.sentencepiece.tokenizer_from_sentencepiece`) are tried, and the one that agrees best
   kept. Without a SentencePiece model, a ``tokenizer.json`` the tokenizer class ignored (transformers 5
   rebuilds ``DebertaV2Tokenizer``, ``T5Tokenizer`` and ``LlamaTokenizer`` from the vocabulary alone) is the
   reference. The choice, the agreement before and after, and the unknown-token counts are recorded
   (:meth:`ModelTokenizer.record`, written as ``eccr-tokenizer.json`` with every run and model);
5. byte fallback is switched when asked (the paper's setting is off);
6. a pre-segmenting recipe wraps the tokenizer (:mod:`eccr.models.presegment`).

A slow tokenizer (``BertJapaneseTokenizer``) runs SentencePiece or its word segmenter itself; it is used as
loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eccr.align.fidelity import PROBE_TEXTS, FidelityReport, compare_ids
from eccr.corpus.types import Document
from eccr.models.recipes import Recipe, get_recipe, select_recipe
from eccr.models.sentencepiece import (
    SentencePieceModel,
    find_sentencepiece_model,
    tokenizer_from_sentencepiece,
)

#: File name of the tokenizer record written with every run and model.
TOKENIZER_RECORD = "eccr-tokenizer.json"
#: How many corpus texts the fidelity check compares (besides the probe texts).
FIDELITY_SAMPLE = 200

AS_LOADED = "as loaded"
FROM_TOKENIZER_JSON = "tokenizer.json as written"
FROM_SENTENCEPIECE = "rebuilt from the SentencePiece model"


@dataclass
class ModelTokenizer:
    """A model's tokenizer and how it was obtained.

    Attributes:
        tokenizer: the tokenizer to train and predict with.
        recipe: the family recipe applied.
        loaded_class: the class transformers loaded.
        choice: ``as loaded``, ``tokenizer.json as written`` or ``rebuilt from the SentencePiece model``.
        sentencepiece: the SentencePiece model the ids were compared with, if any.
        fidelity_as_loaded, fidelity: agreement with the reference before and after the choice (``None``
            when there was no reference).
    """

    tokenizer: Any
    recipe: Recipe
    loaded_class: str
    choice: str = AS_LOADED
    sentencepiece: SentencePieceModel | None = None
    fidelity_as_loaded: FidelityReport | None = None
    fidelity: FidelityReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What to write into ``eccr-tokenizer.json``."""
        from eccr.pretrain.tokenizer import byte_fallback_of

        return {
            "recipe": self.recipe.name,
            "loaded_class": self.loaded_class,
            "choice": self.choice,
            "sentencepiece": self.sentencepiece.to_dict() if self.sentencepiece else None,
            "fidelity_as_loaded": self.fidelity_as_loaded.to_dict() if self.fidelity_as_loaded else None,
            "fidelity": self.fidelity.to_dict() if self.fidelity else None,
            "byte_fallback": byte_fallback_of(_unwrapped(self.tokenizer)),
            **self.extra,
        }

    def describe(self) -> list[str]:
        """Lines for people: the choice and the agreement before/after."""
        lines = [f"tokenizer: {self.loaded_class} ({self.choice}), recipe {self.recipe.name}"]
        if self.sentencepiece is not None:
            lines.append(f"SentencePiece model {self.sentencepiece.describe()}")
        if self.fidelity_as_loaded is not None and self.fidelity is not None:
            if self.choice == AS_LOADED:
                lines.append(f"fidelity: {self.fidelity.describe()}")
            else:
                lines.append(f"fidelity as loaded: {self.fidelity_as_loaded.describe()}")
                lines.append(f"fidelity after the fix: {self.fidelity.describe()}")
        return lines


def write_record(directory: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``eccr-tokenizer.json`` into ``directory`` (atomically)."""
    from eccr.atomic import atomic_write_text

    Path(directory).mkdir(parents=True, exist_ok=True)
    path = Path(directory) / TOKENIZER_RECORD
    atomic_write_text(path, json.dumps(dict(record), ensure_ascii=False, indent=2) + "\n")
    return path


def read_tokenizer_config(source: str | Path) -> dict[str, Any]:
    """``tokenizer_config.json`` of a directory or hub id (empty when there is none)."""
    local = Path(source) / "tokenizer_config.json"
    if Path(source).is_dir():
        try:
            return dict(json.loads(local.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}
    try:
        from transformers.models.auto.tokenization_auto import get_tokenizer_config

        return dict(get_tokenizer_config(str(source)) or {})
    except (OSError, ValueError):
        return {}


def _model_type(source: str | Path, decoder: bool | None) -> tuple[str | None, bool | None]:
    """``model_type`` and decoder-only-ness from the config next to the tokenizer (``None`` when absent)."""
    if not (Path(source) / "config.json").is_file():
        return None, decoder
    from transformers import AutoConfig

    from eccr.models.recipes import is_decoder_only

    try:
        config = AutoConfig.from_pretrained(str(source))
    except (OSError, ValueError):
        return None, decoder
    return getattr(config, "model_type", None), is_decoder_only(config) if decoder is None else decoder


def _unwrapped(tokenizer: Any) -> Any:
    return getattr(tokenizer, "inner", tokenizer)


def _plain_fast(like: Any, backend: Any) -> Any:
    """A ``PreTrainedTokenizerFast`` around ``backend`` with ``like``'s special tokens and settings.

    Saved, it is reloaded exactly (transformers loads a plain fast tokenizer's ``tokenizer.json`` as
    written, where a model-specific class may rebuild it from the vocabulary).
    """
    from transformers import PreTrainedTokenizerFast

    names = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=getattr(like, "model_max_length", None) or 512,
        padding_side=getattr(like, "padding_side", "right"),
        model_input_names=list(getattr(like, "model_input_names", ["input_ids", "attention_mask"])),
        **{name: str(getattr(like, name)) for name in names if getattr(like, name, None) is not None},
    )


def apply_recipe(tokenizer: Any, recipe: Recipe) -> Any:
    """A plain fast copy of ``tokenizer`` with the recipe's lower-casing and template (idempotent)."""
    from tokenizers import Tokenizer, normalizers, processors

    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    if recipe.lowercase and not _lowercases(backend):
        current = backend.normalizer
        backend.normalizer = normalizers.Sequence([normalizers.Lowercase(), *([current] if current else [])])
    if recipe.template is not None:
        prefix, suffix = recipe.template
        vocab = backend.get_vocab()
        missing = [t for t in (*prefix, *suffix) if t not in vocab]
        if missing:
            from eccr.errors import ModelError

            raise ModelError(
                "E196",
                f"recipe {recipe.name} puts {missing} around every input, but the tokenizer "
                "has no such token",
            )
        single = " ".join([*prefix, "$A", *suffix])
        backend.post_processor = processors.TemplateProcessing(
            single=single,
            pair=" ".join([*prefix, "$A", *suffix, "$B:1"]),
            special_tokens=[(t, vocab[t]) for t in dict.fromkeys((*prefix, *suffix))],
        )
    return _plain_fast(tokenizer, backend)


def _lowercases(backend: Any) -> bool:
    data = json.loads(backend.to_str()).get("normalizer") or {}
    parts = data.get("normalizers", [data]) if data.get("type") == "Sequence" else [data]
    return bool(parts) and parts[0].get("type") == "Lowercase"


def _tokenizer_json(source: str | Path) -> Path | None:
    """The ``tokenizer.json`` of a directory, or of a hub repository already in the local cache."""
    if Path(source).is_dir():
        path = Path(source) / "tokenizer.json"
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(str(source), "tokenizer.json")
    except Exception:  # not a valid repo id, cache layout changes: no file to compare with
        return None
    return Path(found) if isinstance(found, str) else None


def sample_texts(texts: Iterable[str | Document], limit: int = FIDELITY_SAMPLE) -> list[str | Document]:
    """Up to ``limit`` texts spread evenly over ``texts`` (deterministic)."""
    items = list(texts)
    if len(items) <= limit:
        return items
    return [items[round(k * (len(items) - 1) / (limit - 1))] for k in range(limit)]


def load_model_tokenizer(
    source: str | Path,
    *,
    model_type: str | None = None,
    recipe: str | Recipe | None = None,
    byte_fallback: bool | None = None,
    trust_remote_code: bool = False,
    texts: Iterable[str | Document] = (),
    decoder: bool | None = None,
) -> ModelTokenizer:
    """Load, fit to its recipe and check the tokenizer of ``source`` (see the module docstring).

    Args:
        source: a model directory or hub id.
        model_type: the model config's ``model_type`` (selects the recipe; read from ``config.json`` when
            not given and there is one).
        recipe: a recipe (or its name) to use instead of selecting one.
        byte_fallback: switch byte fallback on/off after the fidelity check (``None``: as the model has it).
        trust_remote_code: passed to transformers (off unless the user asks).
        texts: corpus texts for the fidelity check (a sample of :data:`FIDELITY_SAMPLE` is used, plus the
            probe texts).
        decoder: whether the model is decoder-only (for the generic recipe).

    Raises:
        ConfigError: ``E190`` when the recipe needs something not installed; ``E082`` when the tokenizer
            cannot be loaded; ``E193`` for an unknown recipe name.
    """
    from eccr.pretrain.tokenizer import load_tokenizer, set_byte_fallback

    tokenizer_config = read_tokenizer_config(source)
    if model_type is None:
        model_type, decoder = _model_type(source, decoder)
    if isinstance(recipe, str):
        recipe = get_recipe(recipe)
    if recipe is None:
        recipe = select_recipe(
            model_type, tokenizer_config.get("tokenizer_class"), str(source), decoder=decoder
        )
    recipe.check_requirements(tokenizer_config, f"the tokenizer of {source}")
    loaded = load_tokenizer(source, trust_remote_code=trust_remote_code)
    result = ModelTokenizer(loaded, recipe, type(loaded).__name__)
    if not getattr(loaded, "is_fast", False):
        result.extra["note"] = "slow tokenizer, used as loaded (the aligner reconstructs its offsets)"
        return result
    wrap = _wrapper(recipe)
    result.tokenizer = wrap(apply_recipe(loaded, recipe))
    _choose_faithful(result, loaded, source, wrap, sample_texts(texts))
    if byte_fallback is not None:
        result.tokenizer = wrap(set_byte_fallback(_unwrapped(result.tokenizer), byte_fallback))
    return result


def _wrapper(recipe: Recipe) -> Any:
    if recipe.presegment is None:
        return lambda tokenizer: tokenizer
    from eccr.models.presegment import presegmented

    return lambda tokenizer: presegmented(tokenizer, recipe.presegment)


def _choose_faithful(
    result: ModelTokenizer, loaded: Any, source: str | Path, wrap: Any, texts: list[str | Document]
) -> None:
    """Compare with the reference and keep the best candidate: as loaded, then the ``tokenizer.json`` as
    written, then the tokenizer rebuilt from SentencePiece — a later one only when it agrees on more texts."""
    from tokenizers import Tokenizer

    recipe = result.recipe
    sp_path = find_sentencepiece_model(loaded, source)
    rebuilt_by_class = type(loaded).__name__ not in ("TokenizersBackend", "PreTrainedTokenizerFast")
    json_path = _tokenizer_json(source) if rebuilt_by_class else None
    if sp_path is None and json_path is None:
        return
    presegment = getattr(result.tokenizer, "presegment", None)

    def prepare(text: str) -> str:
        """What the reference is given: the words a pre-segmenter finds; lower-cased for such a recipe."""
        text = presegment(text) if presegment is not None else text
        return text.lower() if recipe.lowercase else text

    written = Tokenizer.from_file(str(json_path)) if json_path is not None else None
    sp = result.sentencepiece = SentencePieceModel.load(sp_path) if sp_path is not None else None
    candidates: list[tuple[str, Any]] = []
    if written is not None:
        candidates.append(
            (FROM_TOKENIZER_JSON, lambda: wrap(apply_recipe(_plain_fast(loaded, written), recipe)))
        )
    if sp is not None:
        candidates.append(
            (FROM_SENTENCEPIECE, lambda: wrap(apply_recipe(tokenizer_from_sentencepiece(sp, loaded), recipe)))
        )

    def reference(text: str) -> list[int]:
        """The SentencePiece model's ids if there is one, else those of the tokenizer.json as written."""
        if sp is not None:
            return sp.encode(prepare(text))
        return written.encode(prepare(text), add_special_tokens=False).ids  # type: ignore[union-attr]

    name = f"SentencePiece {sp.name}" if sp is not None else "tokenizer.json"
    unk = getattr(loaded, "unk_token_id", None)
    texts = [*PROBE_TEXTS, *texts]
    best = result.fidelity_as_loaded = compare_ids(
        result.tokenizer, reference, texts, reference_name=name, unk_token_id=unk
    )
    for choice, build in candidates:
        if best.ok:
            break
        candidate = build()
        report = compare_ids(candidate, reference, texts, reference_name=name, unk_token_id=unk)
        if report.agreeing_texts > best.agreeing_texts:
            best, result.tokenizer, result.choice = report, candidate, choice
    result.fidelity = best
