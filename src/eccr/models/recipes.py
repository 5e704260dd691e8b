"""Per-family recipes: what each family of pretrained models needs to be fine-tuned as it was pretrained.

The paper's 17 configurations span five tokenizer families, and each has conventions that a generic
``AutoTokenizer``/``AutoModelForTokenClassification`` does not know: rinna's RoBERTa was pretrained on
lower-cased text with ``[CLS]`` in front and position ids counted from 0; ku-nlp's DeBERTa expects text
segmented by Juman++; decoders have no pad token; LoRA needs the attention projections by name. One
:class:`Recipe` per family says all of it, in one place, and every part of eccr reads it from here:

* the tokenizer (:mod:`eccr.models.hf_tokenizer`): ``lowercase``, the special-token ``template``,
  ``presegment`` and the ``requirements`` checked before loading;
* the model (:mod:`eccr.models.token_classification`): ``positions`` (which position ids the model
  expects, and so how long an input may be), ``decoder``;
* decoders (:mod:`eccr.models.decoders`, also used by the instruction-tuning kind): ``pad_token`` and
  ``lora_target_modules``.

:func:`select_recipe` picks the recipe from the model config's ``model_type`` and the tokenizer class
(``tokenizer_config.json``), with a few repositories known by id (ku-nlp's Juman++ DeBERTa). A recipe can
also be forced with the model option ``recipe``. :data:`PAPER_MODELS` maps the paper's 17 configurations to
their hub ids and recipes.

>>> select_recipe("roberta", "T5Tokenizer").name
'roberta-t5-sentencepiece'
>>> select_recipe("llama", "LlamaTokenizerFast").lora_target_modules
('q_proj', 'v_proj')
>>> select_recipe("deberta-v2", "DebertaV2Tokenizer", "ku-nlp/deberta-v2-base-japanese").presegment
'jumanpp'
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eccr.errors import ConfigError

#: How a model numbers positions: ``absolute`` from 0 (BERT, DeBERTa, decoders: the library's default),
#: ``padding-offset`` from ``pad_token_id + 1`` (RoBERTa's convention: fewer usable positions than rows),
#: ``from-zero`` — a RoBERTa checkpoint pretrained with positions from 0, which eccr passes explicitly.
Positions = Literal["absolute", "padding-offset", "from-zero"]

#: Model types that number positions from ``pad_token_id + 1``.
PADDING_OFFSET_MODEL_TYPES = frozenset(
    {
        "roberta",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "roberta-prelayernorm",
        "data2vec-text",
        "ibert",
        "longformer",
        "mpnet",
        "luke",
        "esm",
    }
)


@dataclass(frozen=True)
class Requirement:
    """Something a family needs installed (a segmenter, a dictionary): Python modules and/or programs."""

    name: str
    modules: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    install: str = ""

    def missing(self) -> list[str]:
        """The modules and programs that are not available."""
        absent = [m for m in self.modules if importlib.util.find_spec(m) is None]
        return absent + [e for e in self.executables if shutil.which(e) is None]

    def check(self, why: str) -> None:
        """Raise ``E190`` naming what is missing and how to install it.

        >>> Requirement("J", executables=("no-such-program",), install="see x").check("x")
        Traceback (most recent call last):
        eccr.errors.ConfigError: [E190] x needs J, which is not installed (missing: no-such-program); see x
        """
        absent = self.missing()
        if absent:
            raise ConfigError(
                "E190",
                f"{why} needs {self.name}, which is not installed (missing: {', '.join(absent)}); "
                f"{self.install}",
            )


JUMANPP = Requirement(
    "Juman++",
    modules=("rhoknp",),
    executables=("jumanpp",),
    install="install Juman++ (https://github.com/ku-nlp/jumanpp, 2.0.0-rc3 for ku-nlp's models) and "
    "pip install rhoknp",
)
SUDACHI = Requirement(
    "Sudachi", modules=("sudachipy", "sudachidict_core"), install="pip install sudachipy sudachidict_core"
)
#: MeCab dictionaries BertJapaneseTokenizer can use, by its ``mecab_dic`` name.
MECAB_DICTIONARIES = {"ipadic": "ipadic", "unidic_lite": "unidic_lite", "unidic": "unidic"}


def mecab(dictionary: str | None) -> Requirement:
    """MeCab through fugashi with a dictionary package (``None``: none named, fugashi finds one itself)."""
    module = MECAB_DICTIONARIES.get(dictionary or "")
    modules = ("fugashi",) + ((module,) if module else ())
    return Requirement(
        f"MeCab ({dictionary or 'system dictionary'})",
        modules=modules,
        install=f"pip install {' '.join(modules).replace('_', '-')}",
    )


@dataclass(frozen=True)
class Recipe:
    """What one family of pretrained models needs (see the module docstring for who reads what).

    Attributes:
        name: the recipe's name (the ``recipe`` model option). family: who it is for, in words.
        model_types: config ``model_type`` values it is for (empty: any).
        tokenizer_classes: tokenizer classes it is for, without the ``Fast`` suffix (empty: any).
        decoder: decoder-only (LoRA by default, right padding, pad token).
        lowercase: lower-case the text before tokenizing (the model was pretrained on lower-cased text).
        template: special tokens put before and after every input, replacing the tokenizer's own template.
        positions: position-id convention (``None``: from the model type, see :data:`Positions`).
        pad_token: decoders — which existing token pads when the tokenizer has no pad token, in order of
            preference (``eos``, ``unk``).
        lora_target_modules: decoders — the modules LoRA adapts when ``lora_target_modules`` is not set.
        presegment: the text must be segmented into words first (``jumanpp``, ``mecab``).
        requirements: what must be installed (besides the pre-segmenter, whose requirement is implied).
        notes: what a user should know, in one or two sentences.
    """

    name: str
    family: str
    model_types: frozenset[str] = frozenset()
    tokenizer_classes: frozenset[str] = frozenset()
    decoder: bool = False
    lowercase: bool = False
    template: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    positions: Positions | None = None
    pad_token: tuple[str, ...] = ("eos", "unk")
    lora_target_modules: tuple[str, ...] | None = None
    presegment: Literal["jumanpp", "mecab"] | None = None
    requirements: tuple[Requirement, ...] = ()
    notes: str = ""

    def position_rule(self, model_type: str | None) -> Positions:
        """The position convention for a model of ``model_type`` under this recipe."""
        if self.positions is not None:
            return self.positions
        return "padding-offset" if model_type in PADDING_OFFSET_MODEL_TYPES else "absolute"

    def needed(self, tokenizer_config: Mapping[str, Any] | None = None) -> tuple[Requirement, ...]:
        """Everything that must be installed: the recipe's requirements, its pre-segmenter, and what a
        ``BertJapaneseTokenizer`` config names (its word tokenizer and MeCab dictionary)."""
        found = list(self.requirements)
        if self.presegment == "jumanpp":
            found.append(JUMANPP)
        elif self.presegment == "mecab":
            found.append(mecab("unidic_lite"))
        found.extend(bert_japanese_requirements(tokenizer_config or {}))
        return tuple(found)

    def check_requirements(self, tokenizer_config: Mapping[str, Any] | None, what: str) -> None:
        """Raise ``E190`` when something :meth:`needed` is not installed."""
        for requirement in self.needed(tokenizer_config):
            requirement.check(f"{what} (recipe {self.name})")

    def describe(self, model_type: str | None = None) -> list[str]:
        """The settings in words (for ``eccr doctor``).

        >>> RECIPES["roberta-t5-sentencepiece"].describe("roberta")
        ['lower-cases the text', 'inputs are [CLS] <text>', 'position ids from-zero']
        """
        found = []
        if self.lowercase:
            found.append("lower-cases the text")
        if self.template is not None:
            found.append("inputs are " + " ".join([*self.template[0], "<text>", *self.template[1]]))
        found.append(f"position ids {self.position_rule(model_type)}")
        if self.decoder:
            found.append(f"pads with {' else '.join(self.pad_token)} when there is no pad token")
        if self.lora_target_modules:
            found.append(f"LoRA on {', '.join(self.lora_target_modules)}")
        if self.presegment:
            found.append(f"text segmented by {self.presegment} first")
        return found

    def settings(self, model_type: str | None = None) -> dict[str, Any]:
        """The recipe's settings as plain values (for records and ``eccr doctor``)."""
        return {
            "recipe": self.name,
            "family": self.family,
            "decoder": self.decoder,
            "lowercase": self.lowercase,
            "template": list(map(list, self.template)) if self.template else None,
            "positions": self.position_rule(model_type),
            "pad_token": list(self.pad_token) if self.decoder else None,
            "lora_target_modules": list(self.lora_target_modules) if self.lora_target_modules else None,
            "presegment": self.presegment,
            "notes": self.notes,
        }


def bert_japanese_requirements(tokenizer_config: Mapping[str, Any]) -> list[Requirement]:
    """What a ``BertJapaneseTokenizer`` config needs: its word tokenizer (MeCab + dictionary, Juman++,
    Sudachi) and, for a SentencePiece subword model, ``sentencepiece``.

    >>> [r.name for r in bert_japanese_requirements({"tokenizer_class": "BertJapaneseTokenizer",
    ...     "word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "ipadic"}})]
    ['MeCab (ipadic)']
    """
    if _bare(tokenizer_config.get("tokenizer_class")) != "BertJapaneseTokenizer":
        return []
    word = tokenizer_config.get("word_tokenizer_type", "basic")
    found = []
    if word == "mecab":
        kwargs = tokenizer_config.get("mecab_kwargs") or {}
        found.append(
            mecab(kwargs.get("mecab_dic", "unidic_lite") if not kwargs.get("mecab_option") else None)
        )
    elif word == "jumanpp":
        found.append(JUMANPP)
    elif word == "sudachi":
        found.append(SUDACHI)
    if tokenizer_config.get("subword_tokenizer_type") == "sentencepiece":
        found.append(
            Requirement("sentencepiece", modules=("sentencepiece",), install="pip install sentencepiece")
        )
    return found


_LLAMA_NOTE = (
    "SentencePiece BPE with byte fallback (tokenizer.model); no pad token, so EOS pads (masked, "
    "never labelled); LoRA on q_proj/v_proj (peft's choice for LLaMA)"
)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "deberta-v2",
            "DeBERTa-v2/v3 with a SentencePiece tokenizer (spm.model)",
            frozenset({"deberta-v2"}),
            notes="transformers 5 rebuilds DebertaV2Tokenizer with an NFC normaliser where the "
            "SentencePiece model may use nmt_nfkc; eccr compares the ids with spm.model and rebuilds the "
            "tokenizer from it when they differ (DeBERTaV2-base, JMedDeBERTa)",
        ),
        Recipe(
            "deberta-v2-jumanpp",
            "DeBERTa-v2 pretrained on Juman++-segmented text (ku-nlp)",
            frozenset({"deberta-v2"}),
            presegment="jumanpp",
            notes="the text is segmented into words by Juman++ before SentencePiece, as in pretraining; "
            "offsets still index the original text",
        ),
        Recipe(
            "roberta-t5-sentencepiece",
            "RoBERTa with a T5-style SentencePiece tokenizer (rinna)",
            frozenset({"roberta"}),
            frozenset({"T5Tokenizer"}),
            lowercase=True,
            template=(("[CLS]",), ()),
            positions="from-zero",
            notes="pretrained on lower-cased text with [CLS] in front and position ids counted from 0 "
            "(rinna's model card); eccr lower-cases in the normaliser, so offsets still index the original "
            "text",
        ),
        Recipe(
            "bert-japanese",
            "BERT/RoBERTa with BertJapaneseTokenizer (MeCab/Juman++/Sudachi words, then "
            "WordPiece, characters or SentencePiece)",
            tokenizer_classes=frozenset({"BertJapaneseTokenizer"}),
            notes="a slow tokenizer whose word segmenter must be installed; eccr reconstructs offsets by "
            "matching tokens against the text (JMedRoBERTa, tohoku BERT)",
        ),
        Recipe(
            "roberta", "RoBERTa-style encoders (positions from pad_token_id + 1)", PADDING_OFFSET_MODEL_TYPES
        ),
        Recipe("encoder", "any other encoder"),
        Recipe(
            "llama",
            "LLaMA / LLaMA-2 (Swallow)",
            frozenset({"llama"}),
            decoder=True,
            lora_target_modules=("q_proj", "v_proj"),
            notes=_LLAMA_NOTE,
        ),
        Recipe(
            "mistral",
            "Mistral (Swallow-MS)",
            frozenset({"mistral"}),
            decoder=True,
            lora_target_modules=("q_proj", "v_proj"),
            notes=_LLAMA_NOTE,
        ),
        Recipe(
            "gpt-neox-sentencepiece",
            "GPT-NeoX with a T5-style SentencePiece tokenizer (rinna)",
            frozenset({"gpt_neox"}),
            frozenset({"T5Tokenizer"}),
            decoder=True,
            lora_target_modules=("query_key_value",),
            notes="spiece.model with byte fallback and no dummy prefix, which transformers 5's T5Tokenizer "
            "does not reproduce; eccr rebuilds the tokenizer from spiece.model when the ids differ",
        ),
        Recipe(
            "gpt-neox",
            "GPT-NeoX with a byte-level BPE",
            frozenset({"gpt_neox"}),
            decoder=True,
            lora_target_modules=("query_key_value",),
        ),
        Recipe(
            "gpt2",
            "GPT-2 architecture (LLM-jp v1.0: Unigram with byte fallback in tokenizer.json; GPT-2: "
            "byte-level BPE)",
            frozenset({"gpt2"}),
            decoder=True,
            lora_target_modules=("c_attn",),
            notes="byte-level BPE splits a character's UTF-8 bytes over tokens; eccr gives the shared "
            "character to the earlier token",
        ),
        Recipe("decoder", "any other decoder-only model", decoder=True),
    )
}

#: Repositories known by id whose needs neither the model type nor the tokenizer class reveals.
KNOWN_REPOSITORIES: dict[str, str] = {
    "ku-nlp/deberta-v2-tiny-japanese": "deberta-v2-jumanpp",
    "ku-nlp/deberta-v2-base-japanese": "deberta-v2-jumanpp",
    "ku-nlp/deberta-v2-large-japanese": "deberta-v2-jumanpp",
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ``E193`` listing the recipes when there is none."""
    if name not in RECIPES:
        raise ConfigError("E193", f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def _bare(tokenizer_class: str | None) -> str | None:
    if not tokenizer_class:
        return None
    return tokenizer_class[: -len("Fast")] if tokenizer_class.endswith("Fast") else tokenizer_class


def select_recipe(
    model_type: str | None,
    tokenizer_class: str | None = None,
    name_or_path: str = "",
    *,
    decoder: bool | None = None,
) -> Recipe:
    """The recipe for a model: a known repository id first, then the most specific match of model type and
    tokenizer class, then the generic encoder/decoder recipe (``decoder`` from :func:`is_decoder_only`)."""
    known = KNOWN_REPOSITORIES.get(str(name_or_path).strip("/"))
    if known:
        return RECIPES[known]
    bare = _bare(tokenizer_class)
    candidates = [r for r in RECIPES.values() if r.name not in KNOWN_REPOSITORIES.values()]
    for recipe in candidates:  # model type and tokenizer class both named
        if (
            recipe.model_types
            and recipe.tokenizer_classes
            and model_type in recipe.model_types
            and bare in recipe.tokenizer_classes
        ):
            return recipe
    for recipe in candidates:  # the tokenizer class alone decides (BertJapaneseTokenizer on any model)
        if not recipe.model_types and bare in recipe.tokenizer_classes:
            return recipe
    for recipe in candidates:  # the model type alone
        if model_type in recipe.model_types and not recipe.tokenizer_classes:
            return recipe
    return RECIPES["decoder" if decoder else "encoder"]


def is_decoder_only(config: Any) -> bool:
    """True when the architecture is a decoder-only LM (has a causal-LM class, no masked-LM class).

    RoBERTa and BERT also have ``*ForCausalLM`` classes but are encoders: they have a masked-LM class too.
    """
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if getattr(config, "is_encoder_decoder", False):
        return False
    model_type = getattr(config, "model_type", None)
    return (
        model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    )


def recipe_for_config(config: Any, tokenizer_class: str | None = None, name_or_path: str = "") -> Recipe:
    """:func:`select_recipe` for a loaded model config."""
    return select_recipe(
        getattr(config, "model_type", None), tokenizer_class, name_or_path, decoder=is_decoder_only(config)
    )


@dataclass(frozen=True)
class PaperModel:
    """One of the paper's 17 configurations: the model, how it was fine-tuned, where it lives, its recipe.

    ``hub_ids`` lists the repositories the paper names (decoders: base and instruction-tuned variants; the
    paper does not say which variant each method started from). ``model_type`` and ``tokenizer_class`` are
    those of the repositories, from which :func:`select_recipe` must pick ``recipe``.
    """

    name: str
    method: Literal["token-classification", "instruction-tuning"]
    hub_ids: tuple[str, ...]
    model_type: str
    tokenizer_class: str
    recipe: str
    note: str = ""


def _decoder(
    name: str, ids: tuple[str, ...], model_type: str, tokenizer_class: str, recipe: str
) -> tuple[PaperModel, PaperModel]:
    return (
        PaperModel(name, "instruction-tuning", ids, model_type, tokenizer_class, recipe),
        PaperModel(name, "token-classification", ids, model_type, tokenizer_class, recipe),
    )


_NOT_PUBLIC = "pretrained for the paper and not published: pass the local directory (hf:<path>)"

#: The paper's 17 configurations (Table 1): 6 decoders × 2 methods + 5 encoders.
PAPER_MODELS: tuple[PaperModel, ...] = (
    *_decoder(
        "GPT-NeoX-3.6B",
        ("rinna/japanese-gpt-neox-3.6b", "rinna/japanese-gpt-neox-3.6b-instruction-sft-v2"),
        "gpt_neox",
        "T5Tokenizer",
        "gpt-neox-sentencepiece",
    ),
    *_decoder(
        "LLM-jp-13B v1.0",
        (
            "llm-jp/llm-jp-13b-v1.0",
            "llm-jp/llm-jp-13b-instruct-full-dolly_en-dolly_ja-ichikara_003_001-oasst_en-oasst_ja-v1.1",
        ),
        "gpt2",
        "PreTrainedTokenizerFast",
        "gpt2",
    ),
    *_decoder(
        "Swallow-7B",
        ("tokyotech-llm/Swallow-7b-hf", "tokyotech-llm/Swallow-7b-instruct-v0.1"),
        "llama",
        "LlamaTokenizer",
        "llama",
    ),
    *_decoder(
        "Swallow-13B",
        ("tokyotech-llm/Swallow-13b-hf", "tokyotech-llm/Swallow-13b-instruct-v0.1"),
        "llama",
        "LlamaTokenizer",
        "llama",
    ),
    *_decoder(
        "Swallow-70B",
        ("tokyotech-llm/Swallow-70b-hf", "tokyotech-llm/Swallow-70b-instruct-v0.1"),
        "llama",
        "LlamaTokenizer",
        "llama",
    ),
    *_decoder(
        "Swallow-MS-7B",
        ("tokyotech-llm/Swallow-MS-7b-v0.1", "tokyotech-llm/Swallow-MS-7b-instruct-v0.1"),
        "mistral",
        "LlamaTokenizer",
        "mistral",
    ),
    PaperModel(
        "DeBERTaV2-base",
        "token-classification",
        ("izumi-lab/deberta-v2-base-japanese",),
        "deberta-v2",
        "DebertaV2Tokenizer",
        "deberta-v2",
    ),
    PaperModel(
        "RoBERTa-base",
        "token-classification",
        ("rinna/japanese-roberta-base",),
        "roberta",
        "T5Tokenizer",
        "roberta-t5-sentencepiece",
    ),
    PaperModel(
        "JMedRoBERTa",
        "token-classification",
        ("alabnii/jmedroberta-base-sentencepiece-vocab50000",),
        "bert",
        "BertJapaneseTokenizer",
        "bert-japanese",
        note="model type and tokenizer class as eccr expects them from the repository's config; "
        "not verified offline",
    ),
    PaperModel(
        "JMedDeBERTa(s)",
        "token-classification",
        (),
        "deberta-v2",
        "DebertaV2Tokenizer",
        "deberta-v2",
        note=_NOT_PUBLIC,
    ),
    PaperModel(
        "JMedDeBERTa(c)",
        "token-classification",
        (),
        "deberta-v2",
        "DebertaV2Tokenizer",
        "deberta-v2",
        note=_NOT_PUBLIC,
    ),
)


def paper_recipe(spec: str, options: Mapping[str, Any] | None = None) -> str | None:
    """The recipe of a model spec of the paper's experiment (``hf:``/``it:`` + a hub id of
    :data:`PAPER_MODELS`, or any spec whose options name a ``recipe``); ``None`` when neither says.

    >>> paper_recipe("hf:rinna/japanese-roberta-base"), paper_recipe("hf:./m", {"recipe": "deberta-v2"})
    ('roberta-t5-sentencepiece', 'deberta-v2')
    """
    if options and options.get("recipe"):
        return str(options["recipe"])
    name = spec.partition(":")[2].strip().rstrip("/")
    return next((m.recipe for m in PAPER_MODELS if name in m.hub_ids), None)
