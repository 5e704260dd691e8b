"""Model directories laid out like the paper's hub repositories, built locally.

Without Hub access eccr still has to be right for the tokenizers the paper's models ship. Each *family*
here writes a directory the way such a repository is laid out — the same tokenizer files, tokenizer class
and special tokens, a tiny ``config.json`` of the same architecture — with a tokenizer trained on the texts
given (SentencePiece for the SentencePiece families). transformers then loads it exactly as it loads the
real repository, which is what the tests and ``benchmarks/tokenizer_fidelity.py`` check eccr against; it
is also how to train one of these architectures from scratch with a SentencePiece tokenizer
(``--model hf:<dir> --set model.options.init=from_config``), as the paper's JMedDeBERTa(s) was.

>>> sorted(FAMILIES)[:4]
['bert-japanese-char', 'deberta-v2', 'deberta-v2-identity-bf', 'gpt-neox-t5']
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from eccr.errors import ConfigError
from eccr.models.sentencepiece import SentencePieceModel, tokenizer_from_sentencepiece, train_sentencepiece

#: Which tokenizer files a SentencePiece family's directory holds: the SentencePiece model, a
#: ``tokenizer.json`` converted from it when the model was released, or both.
Files = Literal["model", "json", "both"]


@dataclass(frozen=True)
class Family:
    """How one family's repositories are laid out.

    Attributes:
        name: the family. architecture: ``model_type`` of its config. recipe: the recipe eccr must select.
        tokenizer_class: the class its ``tokenizer_config.json`` names. sp_file: the SentencePiece file name
            (``None``: no SentencePiece model). sentencepiece: training options of its SentencePiece model.
        specials: the special tokens (attribute → token) its tokenizer config names.
        template: the special tokens around a sequence in its ``tokenizer.json`` (prefix, suffix).
        config: extra ``tokenizer_config.json`` entries.
        example: a repository of the family.
    """

    name: str
    architecture: str
    recipe: str
    tokenizer_class: str
    sp_file: str | None = None
    sentencepiece: tuple[tuple[str, Any], ...] = ()
    specials: tuple[tuple[str, str], ...] = ()
    template: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    config: tuple[tuple[str, Any], ...] = ()
    example: str = ""


_DEBERTA_SPECIALS = (
    ("pad_token", "[PAD]"),
    ("unk_token", "[UNK]"),
    ("bos_token", "[CLS]"),
    ("eos_token", "[SEP]"),
    ("cls_token", "[CLS]"),
    ("sep_token", "[SEP]"),
    ("mask_token", "[MASK]"),
)
_DEBERTA_SP = (
    ("specials", (("pad", "[PAD]"), ("unk", "[UNK]"), ("bos", "[CLS]"), ("eos", "[SEP]"))),
    ("user_defined_symbols", ["[MASK]"]),
)
_LLAMA_SP = (
    ("model_type", "bpe"),
    ("normalization", "identity"),
    ("byte_fallback", True),
    ("split_digits", True),
    ("remove_extra_whitespaces", False),
    ("allow_whitespace_only_pieces", True),
    ("specials", (("unk", "<unk>"), ("bos", "<s>"), ("eos", "</s>"))),
)
_LLAMA_SPECIALS = (("bos_token", "<s>"), ("eos_token", "</s>"), ("unk_token", "<unk>"))

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "deberta-v2",
            "deberta-v2",
            "deberta-v2",
            "DebertaV2Tokenizer",
            "spm.model",
            _DEBERTA_SP,
            _DEBERTA_SPECIALS,
            (("[CLS]",), ("[SEP]",)),
            (("do_lower_case", False), ("split_by_punct", False)),
            "izumi-lab/deberta-v2-base-japanese",
        ),
        Family(
            "deberta-v2-identity-bf",
            "deberta-v2",
            "deberta-v2",
            "DebertaV2Tokenizer",
            "spm.model",
            (*_DEBERTA_SP, ("normalization", "identity"), ("byte_fallback", True)),
            _DEBERTA_SPECIALS,
            (("[CLS]",), ("[SEP]",)),
            (("do_lower_case", False),),
            "a DeBERTa-v2 with byte fallback",
        ),
        Family(
            "roberta-t5",
            "roberta",
            "roberta-t5-sentencepiece",
            "T5Tokenizer",
            "spiece.model",
            (
                ("specials", (("pad", "[PAD]"), ("unk", "<unk>"), ("eos", "</s>"))),
                ("control_symbols", ["[CLS]", "[SEP]", "[MASK]"]),
            ),
            (
                ("pad_token", "[PAD]"),
                ("unk_token", "<unk>"),
                ("eos_token", "</s>"),
                ("cls_token", "[CLS]"),
                ("sep_token", "[SEP]"),
                ("mask_token", "[MASK]"),
            ),
            ((), ("</s>",)),
            (("do_lower_case", True), ("extra_ids", 0), ("additional_special_tokens", [])),
            "rinna/japanese-roberta-base",
        ),
        Family(
            "llama",
            "llama",
            "llama",
            "LlamaTokenizer",
            "tokenizer.model",
            _LLAMA_SP,
            _LLAMA_SPECIALS,
            (("<s>",), ()),
            (("add_bos_token", True), ("add_eos_token", False), ("legacy", False)),
            "tokyotech-llm/Swallow-7b-hf",
        ),
        Family(
            "mistral",
            "mistral",
            "mistral",
            "LlamaTokenizer",
            "tokenizer.model",
            _LLAMA_SP,
            _LLAMA_SPECIALS,
            (("<s>",), ()),
            (("add_bos_token", True), ("add_eos_token", False), ("legacy", False)),
            "tokyotech-llm/Swallow-MS-7b-v0.1",
        ),
        Family(
            "gpt-neox-t5",
            "gpt_neox",
            "gpt-neox-sentencepiece",
            "T5Tokenizer",
            "spiece.model",
            (
                ("normalization", "identity"),
                ("byte_fallback", True),
                ("add_dummy_prefix", False),
                ("split_digits", True),
                ("remove_extra_whitespaces", False),
                ("specials", (("pad", "[PAD]"), ("unk", "<unk>"), ("bos", "<s>"), ("eos", "</s>"))),
            ),
            (("pad_token", "[PAD]"), ("unk_token", "<unk>"), ("bos_token", "<s>"), ("eos_token", "</s>")),
            ((), ()),
            (("extra_ids", 0), ("additional_special_tokens", []), ("do_lower_case", False)),
            "rinna/japanese-gpt-neox-3.6b",
        ),
        Family("gpt2-unigram", "gpt2", "gpt2", "PreTrainedTokenizerFast", example="llm-jp/llm-jp-13b-v1.0"),
        Family("gpt2-bpe", "gpt2", "gpt2", "PreTrainedTokenizerFast", example="a GPT-2 byte-level BPE"),
        Family(
            "bert-japanese-char",
            "bert",
            "bert-japanese",
            "BertJapaneseTokenizer",
            config=(
                ("word_tokenizer_type", "mecab"),
                ("subword_tokenizer_type", "character"),
                ("mecab_kwargs", {"mecab_dic": "unidic_lite"}),
                ("do_lower_case", False),
            ),
            example="tohoku-nlp/bert-base-japanese-char-v2 (MeCab, then characters)",
        ),
    )
}


@dataclass(frozen=True)
class Layout:
    """A directory written by :func:`write_family_dir`, and the SentencePiece model it was built from."""

    path: Path
    family: Family
    sentencepiece: SentencePieceModel | None


def write_family_dir(
    family: str,
    texts: Sequence[str],
    directory: str | Path,
    *,
    vocab_size: int = 1000,
    files: Files = "model",
    **sizes: Any,
) -> Layout:
    """Write a directory laid out like a repository of ``family`` (see :data:`FAMILIES`).

    Args:
        family: a key of :data:`FAMILIES`.
        texts: training texts for the tokenizer.
        directory: created (replaced if it exists).
        vocab_size: tokenizer size (SentencePiece, Unigram and BPE families).
        files: SentencePiece families — the SentencePiece model, a ``tokenizer.json`` converted from it,
            or both.
        **sizes: model sizes for :func:`eccr.models.scratch.model_config` (``hidden``, ``layers``…).
    """
    from eccr.models.scratch import model_config

    if family not in FAMILIES:
        raise ConfigError("E045", f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    spec = FAMILIES[family]
    out = Path(directory)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sp = None
    if spec.sp_file is not None:
        sp, tokenizer = _write_sentencepiece(spec, texts, out, vocab_size, files)
    elif spec.name == "bert-japanese-char":
        tokenizer = _write_bert_japanese_char(spec, texts, out)
    else:
        tokenizer = _write_fast(spec, texts, out, vocab_size)
    model_config(spec.architecture, tokenizer, **sizes).save_pretrained(out)
    return Layout(out, spec, sp)


def _write_sentencepiece(
    spec: Family, texts: Sequence[str], out: Path, vocab_size: int, files: Files
) -> tuple[SentencePieceModel, Any]:
    options = dict(spec.sentencepiece)
    sp = train_sentencepiece(texts, vocab_size=vocab_size, **options)
    specials = dict(spec.specials)
    converted = tokenizer_from_sentencepiece(
        sp, SimpleNamespace(model_max_length=512, padding_side="right", **specials)
    )
    prefix, suffix = spec.template
    vocab = converted.backend_tokenizer.get_vocab()
    if prefix or suffix:
        from tokenizers import processors

        converted.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=[*prefix, "$A", *suffix],
            pair=[*prefix, "$A", *suffix, "$B:1"],
            special_tokens=[(t, vocab[t]) for t in dict.fromkeys((*prefix, *suffix))],
        )
    if files in ("model", "both"):
        (out / spec.sp_file).write_bytes(sp.data)  # type: ignore[operator]
    if files in ("json", "both"):
        converted.backend_tokenizer.save(str(out / "tokenizer.json"))
    config = {
        "tokenizer_class": spec.tokenizer_class,
        "model_max_length": 512,
        **specials,
        **dict(spec.config),
    }
    (out / "tokenizer_config.json").write_text(
        json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return replace(sp, path=out / spec.sp_file if files != "json" else None), converted  # type: ignore[operator]


def _write_fast(spec: Family, texts: Sequence[str], out: Path, vocab_size: int) -> Any:
    from eccr.pretrain.tokenizer import train_byte_level_bpe_tokenizer, train_unigram_tokenizer

    if spec.name == "gpt2-unigram":
        tokenizer = train_unigram_tokenizer(
            texts, vocab_size=vocab_size + 256, byte_fallback=True, role="decoder"
        )
    else:
        tokenizer = train_byte_level_bpe_tokenizer(texts, vocab_size=vocab_size, role="decoder")
    tokenizer.save_pretrained(str(out))
    return tokenizer


def _write_bert_japanese_char(spec: Family, texts: Sequence[str], out: Path) -> Any:
    """``vocab.txt`` of the NFKC characters of ``texts`` (as tohoku's character BERT) and the config."""
    import unicodedata

    from transformers import AutoTokenizer

    chars = sorted({c for text in texts for c in unicodedata.normalize("NFKC", text) if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"tokenizer_class": spec.tokenizer_class, "model_max_length": 512, **dict(spec.config)}
    (out / "tokenizer_config.json").write_text(
        json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return AutoTokenizer.from_pretrained(str(out))
