"""Character-level linear-chain CRF (python-crfsuite): the classic E-CCR baseline, trained on CPU in seconds.

Each character of a document is one CRF item; its features are strings (weight 1) describing:

* the character itself, its NFKC/lower-cased form (``ＣＴ`` and ``CT`` share a feature) and its Unicode
  class (:func:`char_class`: kanji, hiragana, katakana, latin, digit, full-width latin/digit, symbol,
  full-width symbol, space, other);
* the (normalised) characters and classes at offsets ``±1 … ±window``;
* character bigrams inside the window, and, with ``trigrams``, the three trigrams that contain the character;
* class bigrams/trigrams around the character and, with ``char_type_run``, where it sits in its run of
  same-class characters (begin/inside/end/single);
* with ``word_features`` and fugashi + unidic-lite installed, the character's position in its MeCab word
  (B/I/E/S) and the word's part of speech (``"on"`` without them installed is an error, not a silent
  no-op; ``"auto"`` uses them only when available and records the choice in the saved options);
* with ``gazetteer``, the character's position (B/I/E/S/O) in a leftmost-longest match of a gazetteer of the
  training spans (:mod:`eccr.models.dictionary`), and that of its neighbours. The gazetteer features of a
  training document come from a gazetteer built on the *other* training parts (cross-fitting, like
  stacking), so the CRF does not learn to trust a gazetteer that trivially contains every training span;
  at prediction the gazetteer of all training documents is used. ``gazetteer_precision`` adds how often
  the matched entry was annotated where it occurs in training (lo/mid/hi).

Labels are character tags: ``bio`` (``B-d``/``I-d``/``O``, adjacent concepts stay apart) or ``io``
(``I-d``/``O``, the paper's binary view). Overlapping gold spans are merged before tagging.

A saved model directory holds ``crf.crfsuite`` (crfsuite's own binary model file), ``eccr-model.json`` and,
with ``gazetteer``, ``dictionary.json``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eccr.corpus.mask import bio_to_spans
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.base import ConceptModel, ModelSpec, parse_options
from eccr.models.dictionary import DictionaryModel

WEIGHTS_FILE = "crf.crfsuite"


class CRFOptions(BaseModel):
    """Hyperparameters and feature switches of :class:`CRFModel` (``model.options`` in a config).

    The defaults are the best setting found on the *validation* splits of 5-fold CV (seed 0) of MedTxt-CR
    positive ``d`` and MRNER-disease (see ``docs/experiments.md``); the test folds were not used to pick them.
    """

    model_config = ConfigDict(extra="forbid")

    c1: float = Field(0.05, ge=0.0, description="L1 regularisation")
    c2: float = Field(0.1, ge=0.0, description="L2 regularisation")
    max_iterations: int = Field(200, ge=1, description="L-BFGS iterations")
    window: int = Field(4, ge=0, le=10, description="characters on each side used as features")
    scheme: Literal["bio", "io"] = "bio"
    normalize: bool = Field(True, description="window features use NFKC + lower-cased characters")
    bigrams: bool = True
    trigrams: bool = True
    char_type_run: bool = True
    word_features: Literal["auto", "on", "off"] = Field(
        "auto", description="MeCab word-boundary features (needs fugashi + unidic-lite; auto: when installed)"
    )
    min_feature_frequency: int = Field(1, ge=1, description="crfsuite feature.minfreq")
    gazetteer: bool = Field(
        True, description="features from a gazetteer of the training spans (cross-fitted)"
    )
    gazetteer_folds: int = Field(5, ge=2, description="training parts for cross-fitted gazetteer features")
    gazetteer_min_frequency: int = Field(1, ge=1, description="min_frequency of the gazetteer")
    gazetteer_precision: bool = Field(
        False, description="add the matched entry's training precision (lo/mid/hi) to the gazetteer features"
    )

    @field_validator("word_features", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        """YAML reads bare ``on``/``off`` as booleans; take them as the words they were meant to be."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value


_FULLWIDTH_SYMBOLS = (
    set(range(0x3000, 0x3040))
    | set(range(0xFF01, 0xFF10))
    | set(range(0xFF1A, 0xFF21))
    | set(range(0xFF3B, 0xFF41))
    | set(range(0xFF5B, 0xFF66))
)


@lru_cache(maxsize=8192)
def char_class(ch: str) -> str:
    """The Unicode class of one character, as used in CRF features.

    >>> " ".join(char_class(c) for c in "肺がＣ1mカ、 ０々")
    'kanji hiragana fw-latin digit latin katakana fw-symbol space fw-digit kanji'
    """
    o = ord(ch)
    if ch.isspace():
        return "space"
    if (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FA1F
        or ch in "々〆〇ヶ"
    ):
        return "kanji"
    if 0x3041 <= o <= 0x309F:
        return "hiragana"
    if 0x30A0 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
        return "katakana"
    if "0" <= ch <= "9":
        return "digit"
    if 0xFF10 <= o <= 0xFF19:
        return "fw-digit"
    if "a" <= ch <= "z" or "A" <= ch <= "Z":
        return "latin"
    if 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
        return "fw-latin"
    if o in _FULLWIDTH_SYMBOLS:
        return "fw-symbol"
    category = unicodedata.category(ch)
    if category[0] == "L":
        return "letter"
    if category[0] == "N":
        return "number"
    if category[0] in "PS":
        return "symbol"
    return "other"


@lru_cache(maxsize=8192)
def _norm(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower() or ch


def word_features_available() -> bool:
    """True when fugashi and a UniDic dictionary (unidic-lite) can be imported."""
    try:
        import fugashi  # noqa: F401
        import unidic_lite  # noqa: F401
    except ImportError:
        return False
    return True


class _WordAnnotator:
    """MeCab (fugashi + unidic-lite) word positions and parts of speech for every character."""

    def __init__(self) -> None:
        import fugashi

        self._tagger = fugashi.Tagger()

    def annotate(self, text: str) -> list[tuple[str, str]]:
        """``(position, pos)`` per character; position is B/I/E/S within its word, ``-`` outside any word."""
        result = [("-", "-")] * len(text)
        cursor = 0
        for line_start, line in _lines(text):
            for word in self._tagger(line):
                surface = word.surface
                if not surface:
                    continue
                found = text.find(surface, max(cursor, line_start))
                if found < 0:
                    continue  # MeCab normalised the surface; leave those characters without word features
                pos = getattr(word.feature, "pos1", None) or "*"
                n = len(surface)
                for j in range(n):
                    tag = "S" if n == 1 else "B" if j == 0 else "E" if j == n - 1 else "I"
                    result[found + j] = (tag, pos)
                cursor = found + n
        return result


def _lines(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for line in text.splitlines(keepends=True):
        out.append((start, line.rstrip("\r\n")))
        start += len(line)
    return out


def _run_positions(classes: Sequence[str]) -> list[str]:
    n = len(classes)
    result = []
    for i, cls in enumerate(classes):
        left = i > 0 and classes[i - 1] == cls
        right = i + 1 < n and classes[i + 1] == cls
        result.append("I" if left and right else "E" if left else "B" if right else "S")
    return result


def match_positions(spans: Sequence[Span], length: int) -> list[str]:
    """B/I/E/S position of each character in the (non-overlapping) ``spans``, ``O`` outside them.

    >>> match_positions([Span(0, 3), Span(4, 5)], 6)
    ['B', 'I', 'E', 'O', 'S', 'O']
    """
    tags = ["O"] * length
    for span in spans:
        if span.length == 1:
            tags[span.start] = "S"
            continue
        tags[span.start] = "B"
        tags[span.start + 1 : span.end - 1] = ["I"] * (span.length - 2)
        tags[span.end - 1] = "E"
    return tags


def document_features(
    text: str,
    options: CRFOptions,
    words: list[tuple[str, str]] | None = None,
    gazetteer: list[str] | None = None,
    gazetteer_precision: list[str] | None = None,
) -> list[list[str]]:
    """The feature strings of every character of ``text`` (see the module docstring).

    ``words`` are ``(position, part of speech)`` per character; ``gazetteer`` the B/I/E/S/O position of
    each character in a gazetteer match, ``gazetteer_precision`` the precision bucket of that match's entry.
    """
    n, w = len(text), options.window
    pad = max(w, 2)
    raw = list(text)
    chars = [_norm(c) for c in raw] if options.normalize else raw
    classes = [char_class(c) for c in raw]
    padded_c = ["<s>"] * pad + chars + ["</s>"] * pad
    padded_t = ["<s>"] * pad + classes + ["</s>"] * pad
    runs = _run_positions(classes) if options.char_type_run else None
    features: list[list[str]] = []
    for i in range(n):
        j = i + pad
        f = ["bias", "c=" + raw[i], "t=" + classes[i]]
        if options.normalize and chars[i] != raw[i]:
            f.append("n=" + chars[i])
        for d in range(1, w + 1):
            f.append(f"c-{d}=" + padded_c[j - d])
            f.append(f"c+{d}=" + padded_c[j + d])
            f.append(f"t-{d}=" + padded_t[j - d])
            f.append(f"t+{d}=" + padded_t[j + d])
        if options.bigrams:
            for d in range(-w, w):
                f.append(f"b{d}=" + padded_c[j + d] + "|" + padded_c[j + d + 1])
        if options.trigrams:
            for d in (-2, -1, 0):
                f.append(f"g{d}=" + padded_c[j + d] + "|" + padded_c[j + d + 1] + "|" + padded_c[j + d + 2])
        f.append("tt-=" + padded_t[j - 1] + "|" + classes[i])
        f.append("tt+=" + classes[i] + "|" + padded_t[j + 1])
        f.append("ttt=" + padded_t[j - 1] + "|" + classes[i] + "|" + padded_t[j + 1])
        if runs is not None:
            f.append("r=" + runs[i] + classes[i])
        if words is not None:
            position, pos = words[i]
            f.append("wp=" + position)
            f.append("wpos=" + pos)
            f.append("wpp=" + position + pos)
        if gazetteer is not None:
            here = gazetteer[i]
            before = gazetteer[i - 1] if i > 0 else "<s>"
            after = gazetteer[i + 1] if i + 1 < n else "</s>"
            f.append("gz=" + here)
            f.append("gz-1=" + before)
            f.append("gz+1=" + after)
            f.append("gzc=" + here + "|" + chars[i])
            if gazetteer_precision is not None:
                f.append("gzp=" + here + gazetteer_precision[i])
        features.append(f)
    return features


def _non_overlapping(spans: Sequence[Span]) -> list[Span]:
    """Overlapping spans merged into one (label of the first); adjacent spans stay apart."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.label)
        else:
            merged.append(Span(span.start, span.end, span.label))
    return merged


def document_tags(doc: Document, scheme: str) -> list[str]:
    """Character tags of ``doc``'s spans in ``scheme`` (``bio`` or ``io``)."""
    tags = ["O"] * len(doc.text)
    for span in _non_overlapping(doc.spans):
        for i in range(span.start, span.end):
            tags[i] = ("B-" if scheme == "bio" and i == span.start else "I-") + span.label
    return tags


#: crfsuite model file layout (crf1dmodel.c): header magic, model type, and the chunk magic at each offset.
_CRFSUITE_MAGIC, _CRFSUITE_TYPE = b"lCRF", b"FOMC"
_CRFSUITE_CHUNKS = (b"FEAT", b"CQDB", b"CQDB", b"LFRF", b"AFRF")
_CRFSUITE_HEADER = 48


def check_crfsuite_model(data: bytes, path: Path) -> None:
    """Raise ``E062`` unless ``data`` has the structure of a crfsuite CRF1d model file.

    crfsuite trusts its input: a truncated or garbage file crashes the process (a segmentation fault, not
    an exception). The model-directory manifest (:mod:`eccr.models.manifest`) already refuses any file
    changed since eccr saved it; this check of the header, the recorded file size and every chunk's magic
    and extent also stops a damaged file that comes with a rewritten manifest.
    """
    import struct

    def refuse(why: str) -> ModelError:
        return ModelError("E062", f"{path.name} is not a valid crfsuite model file ({why}); re-save the "
                          "model with eccr train", Location(file=str(path)))

    if len(data) < _CRFSUITE_HEADER or data[:4] != _CRFSUITE_MAGIC or data[8:12] != _CRFSUITE_TYPE:
        raise refuse("no crfsuite header")
    (size,) = struct.unpack_from("<I", data, 4)
    if size != len(data):
        raise refuse(f"the header records {size} bytes, the file has {len(data)}")
    offsets = struct.unpack_from("<5I", data, 28)
    for offset, magic in zip(offsets, _CRFSUITE_CHUNKS, strict=True):
        if offset < _CRFSUITE_HEADER or offset + 12 > size or data[offset : offset + 4] != magic:
            raise refuse(f"chunk {magic.decode()} missing at offset {offset}")
        (chunk_size,) = struct.unpack_from("<I", data, offset + 4)
        if offset + chunk_size > size:
            raise refuse(f"chunk {magic.decode()} runs past the end of the file")


def _precision_bucket(precision: float) -> str:
    return "hi" if precision >= 0.7 else "mid" if precision >= 0.3 else "lo"


class CRFModel(ConceptModel):
    """Character CRF; options are :class:`CRFOptions`."""

    kind: ClassVar[str] = "crf"
    Options: ClassVar[type[BaseModel]] = CRFOptions
    uses_validation: ClassVar[bool] = False

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        parsed = parse_options(CRFOptions, options)
        if parsed.word_features == "on" and not word_features_available():
            raise ConfigError(
                "E045",
                "model.options.word_features is 'on' but fugashi and unidic-lite are not "
                "installed; pip install fugashi unidic-lite, or set it to 'auto'/'off'",
            )
        if parsed.word_features == "auto":
            parsed = parsed.model_copy(update={"word_features": "on" if word_features_available() else "off"})
        super().__init__(spec, parsed.model_dump(mode="json"))
        self.config = parsed
        self._model_bytes: bytes | None = None
        self._tagger: Any = None
        self._words: _WordAnnotator | None = None
        self._gazetteer: DictionaryModel | None = None

    def _new_gazetteer(self, documents: Sequence[Document]) -> DictionaryModel:
        gazetteer = DictionaryModel(ModelSpec("dict"), {"min_frequency": self.config.gazetteer_min_frequency})
        gazetteer.fit(Corpus(documents))
        return gazetteer

    def _features(self, text: str, gazetteer: DictionaryModel | None = None) -> list[list[str]]:
        words = None
        if self.config.word_features == "on":
            if self._words is None:
                self._words = _WordAnnotator()
            words = self._words.annotate(text)
        positions = None
        if self.config.gazetteer:
            source = gazetteer or self._gazetteer
            if source is None:
                raise ModelError("E067", "the CRF's gazetteer is missing; train or load the model first")
            matches = source.match_entries(text)
            positions = match_positions([span for span, _ in matches], len(text))
            if not self.config.gazetteer_precision:
                return document_features(text, self.config, words, positions)
            buckets = ["-"] * len(text)
            for span, key in matches:
                bucket = _precision_bucket(source.precision(key))
                buckets[span.start : span.end] = [bucket] * span.length
            return document_features(text, self.config, words, positions, buckets)
        return document_features(text, self.config, words)

    def _training_gazetteers(self, documents: Sequence[Document]) -> list[DictionaryModel | None]:
        """Per document, the cross-fitted gazetteer its features come from (built without it)."""
        if not self.config.gazetteer:
            return [None] * len(documents)
        k = min(self.config.gazetteer_folds, len(documents))
        if k < 2:
            return [self._new_gazetteer([])] * len(documents)
        parts = [
            self._new_gazetteer([d for j, d in enumerate(documents) if j % k != part]) for part in range(k)
        ]
        return [parts[j % k] for j in range(len(documents))]

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Train on ``train`` (``validation`` is not used: tune c1/c2/window with ``search`` instead)."""
        import tempfile

        import pycrfsuite

        trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
        trainer.set_params(
            {
                "c1": self.config.c1,
                "c2": self.config.c2,
                "max_iterations": self.config.max_iterations,
                "feature.possible_transitions": True,
                "feature.minfreq": self.config.min_feature_frequency,
            }
        )
        documents = [doc for doc in train if doc.text]
        if not documents:
            raise ModelError(
                "E066", "cannot train a CRF on a corpus without text", Location(file=train.source)
            )
        labels: set[str] = set()
        for doc, gazetteer in zip(documents, self._training_gazetteers(documents), strict=True):
            tags = document_tags(doc, self.config.scheme)
            labels.update(t for t in tags if t != "O")
            trainer.append(self._features(doc.text, gazetteer), tags)
        if self.config.gazetteer:
            self._gazetteer = self._new_gazetteer(documents)
        with tempfile.TemporaryDirectory(prefix="eccr-crf-") as tmp:
            path = Path(tmp) / WEIGHTS_FILE
            trainer.train(str(path))
            self._model_bytes = path.read_bytes()
        self.labels = sorted({t.split("-", 1)[1] for t in labels})
        self._tagger = None

    def _get_tagger(self) -> Any:
        if self._model_bytes is None:
            raise ModelError(
                "E067", "the CRF has not been trained or loaded; call fit() or load_model() first"
            )
        if self._tagger is None:
            import pycrfsuite

            self._tagger = pycrfsuite.Tagger()
            self._tagger.open_inmemory(self._model_bytes)
        return self._tagger

    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        tagger = self._get_tagger()
        result = []
        for doc in documents:
            if not doc.text:
                result.append([])
                continue
            tags = tagger.tag(self._features(doc.text))
            result.append(bio_to_spans(tags))
        return result

    def save_weights(self, directory: Path) -> None:
        if self._model_bytes is None:
            raise ModelError(
                "E067", "cannot save a CRF that has not been trained", Location(file=str(directory))
            )
        (directory / WEIGHTS_FILE).write_bytes(self._model_bytes)
        if self._gazetteer is not None:
            self._gazetteer.save_weights(directory)

    def load_weights(self, directory: Path) -> None:
        path = directory / WEIGHTS_FILE
        if not path.is_file():
            raise ModelError(
                "E060", f"CRF model directory lacks {WEIGHTS_FILE}", Location(file=str(directory))
            )
        data = path.read_bytes()
        check_crfsuite_model(data, path)
        self._model_bytes = data
        self._tagger = None
        if self.config.gazetteer:
            self._gazetteer = self._new_gazetteer([])
            self._gazetteer.load_weights(directory)
