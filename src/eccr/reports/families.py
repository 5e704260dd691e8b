"""Model families, the row groups of the paper's tables: encoder / decoder × token classification /
instruction tuning, classical baselines, ensembles.

The family of a run comes from its model spec (``resolved.yaml``) and, for a Hugging Face model, its saved
config:

* ``hf:<id-or-path>`` — token classification; an **encoder** or a **decoder** as the model's
  ``config.json`` says (:func:`eccr.models.decoders.is_decoder_only`: a causal-LM architecture without a
  masked-LM head is a decoder). The config is looked for in the run's saved fold models
  (``fold-<k>/model/config.json``), then in the spec's path. A hub id whose config is not on this machine
  gives the family *transformer (encoder/decoder unknown)*, shown under "Other models".
* ``it:<id-or-path>`` — instruction tuning, a decoder (the paper's setting; an encoder config, should one
  appear, makes it an encoder).
* ``scratch:<architecture>`` — token classification trained from scratch: a decoder or an encoder as the
  architecture is (:data:`eccr.models.scratch.DECODER_ARCHITECTURES`).
* ``crf``, ``dict``, ``spacy:…`` — classical baselines (character CRF, gazetteer, spaCy pipelines).
* ``ensemble:…`` — ensembles of other models.
* anything else — "Other models".

>>> model_family("crf").title
'Classical baselines'
>>> model_family("it:llm-jp/llm-jp-13b-v1.0").title
'Decoder models — instruction tuning'
>>> model_family("something-new").title
'Other models'
>>> model_family("scratch:deberta-v2").title, model_family("scratch:llama").title
('Encoder models — token classification', 'Decoder models — token classification')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

ENCODER, DECODER, CLASSICAL, ENSEMBLE, OTHER = "encoder", "decoder", "classical", "ensemble", "other"
TOKEN_CLASSIFICATION, INSTRUCTION_TUNING = "token classification", "instruction tuning"


@dataclass(frozen=True, order=True)
class Family:
    """A row group of the tables: ``rank`` orders groups as the paper does (decoders first)."""

    rank: int
    architecture: str
    method: str

    @property
    def title(self) -> str:
        if self.architecture in (ENCODER, DECODER):
            return f"{self.architecture.capitalize()} models — {self.method}"
        return {CLASSICAL: "Classical baselines", ENSEMBLE: "Ensembles"}.get(
            self.architecture, "Other models"
        )

    @property
    def key(self) -> str:
        """``decoder/instruction tuning``, ``classical`` …: the ``family`` column of CSV files."""
        return f"{self.architecture}/{self.method}" if self.method else self.architecture


DECODER_IT = Family(0, DECODER, INSTRUCTION_TUNING)
DECODER_TC = Family(1, DECODER, TOKEN_CLASSIFICATION)
ENCODER_IT = Family(2, ENCODER, INSTRUCTION_TUNING)
ENCODER_TC = Family(3, ENCODER, TOKEN_CLASSIFICATION)
CLASSICAL_FAMILY = Family(4, CLASSICAL, "")
ENSEMBLE_FAMILY = Family(5, ENSEMBLE, "")
OTHER_FAMILY = Family(6, OTHER, "")

_CLASSICAL_KINDS = ("crf", "dict", "spacy")


def _config_files(name_or_path: str, run_dir: Path | None) -> list[Path]:
    candidates = sorted(run_dir.glob("fold-*/model/config.json")) if run_dir is not None else []
    path = Path(name_or_path).expanduser()
    candidates.append(path / "config.json")
    if run_dir is not None and not path.is_absolute():
        candidates.append(run_dir / path / "config.json")
    return [c for c in candidates if c.is_file()]


@lru_cache(maxsize=256)
def _is_decoder(config_file: Path) -> bool | None:
    """Whether ``config_file`` describes a decoder-only model; ``None`` when it cannot be told."""
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        return None
    try:
        from eccr.models.decoders import is_decoder_only
    except ImportError:  # transformers/torch not installed: the architectures list still tells
        names = " ".join(data.get("architectures") or [])
        return "CausalLM" in names if ("CausalLM" in names or "MaskedLM" in names) else None
    return is_decoder_only(
        SimpleNamespace(
            model_type=data["model_type"], is_encoder_decoder=bool(data.get("is_encoder_decoder"))
        )
    )


def model_family(spec: str, run_dir: str | Path | None = None) -> Family:
    """The family of a run with model ``spec``; ``run_dir`` is where saved fold models are looked for."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if kind in _CLASSICAL_KINDS:
        return CLASSICAL_FAMILY
    if kind == "ensemble":
        return ENSEMBLE_FAMILY
    if kind == "scratch" and rest.strip():
        from eccr.models.scratch import DECODER_ARCHITECTURES

        return DECODER_TC if rest.strip().replace("-", "_") in DECODER_ARCHITECTURES else ENCODER_TC
    if kind not in ("hf", "it") or not rest.strip():
        return OTHER_FAMILY
    directory = Path(run_dir) if run_dir is not None else None
    decoder = next(
        (d for d in map(_is_decoder, _config_files(rest.strip(), directory)) if d is not None), None
    )
    if kind == "it":
        return ENCODER_IT if decoder is False else DECODER_IT
    if decoder is None:
        return OTHER_FAMILY
    return DECODER_TC if decoder else ENCODER_TC


def model_label(spec: str) -> str:
    """A short row label: the spec for classical models, the last path part (or the hub id) otherwise.

    >>> model_label("hf:/models/deberta-v2-base-japanese"), model_label("hf:ku-nlp/deberta-v2-base"), \
model_label("crf")
    ('deberta-v2-base-japanese', 'ku-nlp/deberta-v2-base', 'crf')
    >>> model_label("it:/m/llm-jp-13b")
    'llm-jp-13b (IT)'
    """
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("hf", "it"):
        return spec
    rest = rest.strip().rstrip("/")
    path = Path(rest).expanduser()
    name = path.name if (path.is_absolute() or rest.startswith(".") or path.exists()) else rest
    return f"{name} (IT)" if kind == "it" else name
