"""Shared fixtures. One conftest for the whole suite; sections are owned by the areas named in them.

Real corpora are read from ``../shared/data`` (next to the checkout) or ``$ECCR_SHARED_DATA``; tests that need
them skip with a reason when they are absent. Tiny models and tokenizers are built once per session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECCR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
MEDTXT_CR = SHARED_DATA / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
MRNER_DISEASE = SHARED_DATA / "jmed-llm" / "mrner_disease.csv"
UNLABELED = SHARED_DATA / "unlabeled" / "ja-clinical-unlabeled.jsonl"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real corpus not available: {path} is absent (a fresh clone has no ../shared/data)")
    return path


@pytest.fixture(scope="session")
def medtxt_path() -> Path:
    return _require(MEDTXT_CR)


@pytest.fixture(scope="session")
def mrner_path() -> Path:
    return _require(MRNER_DISEASE)


@pytest.fixture(scope="session")
def unlabeled_path() -> Path:
    return _require(UNLABELED)


# --- corpus fixtures (owned by corpus/) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def medtxt_corpus(medtxt_path):
    """MedTxt-CR read once per session with all 13 tags and their attributes (148 documents)."""
    from eccr.corpus import read_corpus

    return read_corpus(medtxt_path)


# --- metrics fixtures (owned by metrics/) -----------------------------------------------------------------


# --- experiment / classical model fixtures (owned by experiments/, models/crf, models/dictionary) ---------


@pytest.fixture(scope="session")
def sample_gold():
    """The bundled synthetic sample corpus (40 documents, inline format)."""
    from eccr.data import sample_corpus

    return sample_corpus()


@pytest.fixture(scope="session")
def sample_crf(sample_gold, tmp_path_factory):
    """A CRF trained on the first 30 sample documents (few iterations), saved; returns (model, directory)."""
    from eccr.models.base import create_model

    model = create_model("crf", {"max_iterations": 60})
    model.fit(sample_gold[:30])
    directory = model.save(tmp_path_factory.mktemp("sample-crf"))
    return model, directory


@pytest.fixture(scope="session")
def sample_cv_runs(tmp_path_factory):
    """Two real ``eccr cv`` run directories on the sample corpus, same folds: ``{"crf": dir, "dict": dir}``.

    The CRF runs 20 L-BFGS iterations (about 2 s for 5 folds); also ``"dict-seed1"``, the gazetteer on
    other folds (``--seed 1``), for the different-folds warning.
    """
    from typer.testing import CliRunner

    from eccr.cli.main import app
    from eccr.data import SAMPLE_PATH

    root = tmp_path_factory.mktemp("sample-cv-runs")
    runs = {
        "crf": ["--model", "crf", "--set", "model.options.max_iterations=20"],
        "dict": ["--model", "dict"],
        "dict-seed1": ["--model", "dict", "--seed", "1"],
    }
    for name, args in runs.items():
        result = CliRunner().invoke(
            app, ["cv", str(SAMPLE_PATH), "--from", "inline", *args, "--out", str(root / name), "--quiet"]
        )
        assert result.exit_code == 0, result.output
    return {name: root / name for name in runs}


# --- command line (owned by cli/common and robustness/) ----------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    """What ``eccr ARGS`` did: exit status and what it printed."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def eccr_cli(capsys):
    """``eccr_cli(*args) -> CliResult``: the real ``eccr`` entry point (:func:`eccr.cli.common.run_app`: usage
    errors, coded errors, warnings, exit status) run in this process — as a subprocess would, without the
    second or so of start-up per call."""
    from eccr.cli.common import run_app
    from eccr.cli.main import app

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        try:
            run_app(app, [str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


# --- tokenizer and tiny-model fixtures (owned by align/, models/token_classification, training/) ----------

# align/ (tokenizers trained locally; reuse these in model tests)

#: Characters absent from the tokenizer training text: out of vocabulary for every fixture tokenizer.
RARE_KANJI = "齟齬鼈鬱"


def synthetic_fullwidth_lines(n: int = 300, seed: int = 0) -> list[str]:
    """Synthetic clinical-style lines full of full-width Latin/digits, units, circled numbers, ｶﾅ."""
    import random

    rng = random.Random(seed)
    findings = ["発熱", "咳嗽", "呼吸困難", "胸水貯留", "肝機能障害", "腎機能低下", "浮腫", "頭痛", "嘔気",
                "腹痛", "皮疹", "貧血", "高血圧", "糖尿病", "肺炎", "心不全"]
    tests = ["ＣＴ", "ＭＲＩ", "ＣＲＰ", "ＷＢＣ", "ＨｂＡ１ｃ", "ＡＳＴ", "ＡＬＴ", "ＢＮＰ", "Ｘ線"]
    drugs = ["ｱｾﾄｱﾐﾉﾌｪﾝ", "ﾌﾟﾚﾄﾞﾆｿﾞﾛﾝ", "ロキソプロフェン", "アムロジピン", "インスリン"]
    circled = "①②③④⑤⑥⑦⑧⑨⑩"
    units = ["㎎", "ｍｇ", "㎖", "ｍＬ", "㎝", "％", "℃"]
    digits = "０１２３４５６７８９"
    lines = []
    for _ in range(n):
        number = "".join(rng.choice(digits) for _ in range(rng.randint(1, 3)))
        lines.append(
            f"{rng.choice(circled)}{rng.randint(20, 90)}歳{rng.choice(['男性', '女性'])}．"
            f"{rng.choice(findings)}と{rng.choice(findings)}を認め，{rng.choice(tests)}で"
            f"{rng.choice(findings)}を指摘された．{rng.choice(drugs)} {number}{rng.choice(units)}を投与し，"
            f"体温 {rng.choice(digits)}{rng.choice(digits)}．{rng.choice(digits)}℃ となった．"
        )
    return lines


@pytest.fixture(scope="session")
def tokenizer_training_texts() -> list[str]:
    """The bundled sample corpus texts plus 300 synthetic full-width lines (no :data:`RARE_KANJI`)."""
    from eccr.data import sample_corpus

    texts = [doc.text for doc in sample_corpus()] + synthetic_fullwidth_lines()
    assert not any(ch in text for text in texts for ch in RARE_KANJI)
    return texts


def _save_tokenizer(tokenizer, tmp_path_factory, name: str) -> Path:
    directory = tmp_path_factory.mktemp(name)
    tokenizer.save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def unigram_tokenizer_dir(tokenizer_training_texts, tmp_path_factory) -> Path:
    """Directory of a Unigram (SentencePiece-style, NFKC) encoder tokenizer, 1000 pieces, no byte fallback."""
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    tok = train_unigram_tokenizer(tokenizer_training_texts, vocab_size=1000, byte_fallback=False)
    return _save_tokenizer(tok, tmp_path_factory, "unigram-tokenizer")


@pytest.fixture(scope="session")
def unigram_bytefallback_tokenizer_dir(tokenizer_training_texts, tmp_path_factory) -> Path:
    """Directory of the same Unigram encoder tokenizer with byte fallback (1256 pieces incl. 256 bytes)."""
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    tok = train_unigram_tokenizer(tokenizer_training_texts, vocab_size=1256, byte_fallback=True)
    return _save_tokenizer(tok, tmp_path_factory, "unigram-bf-tokenizer")


@pytest.fixture(scope="session")
def unigram_decoder_tokenizer_dir(tokenizer_training_texts, tmp_path_factory) -> Path:
    """Directory of a Unigram tokenizer with byte fallback and decoder special tokens (``<s>`` … BOS only)."""
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    tok = train_unigram_tokenizer(tokenizer_training_texts, vocab_size=1256, byte_fallback=True,
                                  role="decoder")
    return _save_tokenizer(tok, tmp_path_factory, "unigram-decoder-tokenizer")


@pytest.fixture(scope="session")
def char_tokenizer_dir(tokenizer_training_texts, tmp_path_factory) -> Path:
    """Directory of a character-level encoder tokenizer (one token per non-space character)."""
    from eccr.pretrain.tokenizer import train_char_tokenizer

    return _save_tokenizer(train_char_tokenizer(tokenizer_training_texts), tmp_path_factory, "char-tokenizer")


# models/token_classification, models/decoders, training/ (tiny from-scratch models on the align/ tokenizers)

#: Size of the tiny test models: hidden 32, one layer, two heads (a fit of a few epochs takes seconds).
TINY_SIZES = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64, "max_length": 128}


def build_tiny_model_dir(architecture: str, tokenizer_dir: Path, directory: Path, **sizes) -> Path:
    """A ``hf:<dir>`` for ``init: from_config``: ``config.json`` of ``architecture`` plus the tokenizer."""
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import load_tokenizer

    return write_model_dir(architecture, load_tokenizer(tokenizer_dir), directory, **{**TINY_SIZES, **sizes})


@pytest.fixture(scope="session")
def tiny_model_dir(unigram_bytefallback_tokenizer_dir, unigram_decoder_tokenizer_dir, tmp_path_factory):
    """``tiny_model_dir(architecture, **sizes) -> Path``: a cached tiny model directory per architecture.

    Encoders get the byte-fallback Unigram encoder tokenizer, decoders the decoder one (``<s>`` … BOS only).
    """
    from eccr.models.scratch import ARCHITECTURES

    cache: dict[tuple, Path] = {}
    decoders = {"llama", "mistral", "gpt_neox", "gpt2"}

    def make(architecture: str, **sizes) -> Path:
        architecture = architecture.replace("-", "_") if architecture.startswith("gpt") else architecture
        assert architecture in ARCHITECTURES, architecture
        key = (architecture, tuple(sorted(sizes.items())))
        if key not in cache:
            tok = (unigram_decoder_tokenizer_dir if architecture in decoders
                   else unigram_bytefallback_tokenizer_dir)
            directory = tmp_path_factory.mktemp(f"tiny-{architecture}")
            cache[key] = build_tiny_model_dir(architecture, tok, directory, **sizes)
        return cache[key]

    return make


# --- browser (shared by the HTML viewer and the web page tests) -------------------------------------------

#: Debian's chromium (installed by ``make test``); Playwright drives it, never downloads a browser of its own.
CHROMIUM = Path(os.environ.get("ECCR_CHROMIUM", "/usr/bin/chromium"))
#: The flags a closed network needs: without the background-networking ones chromium keeps dialling out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_browser():
    """Headless Debian chromium driven by Playwright, one per test process; skips with a reason if absent."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM} (make test installs Debian's chromium; or set ECCR_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium_page(chromium_browser):
    """A fresh page (its own context: no cookies or storage shared between tests), 1280x900."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# --- pretrained-model families shaped like hub repositories (owned by models/recipes, models/hf_tokenizer,
# models/sentencepiece, cli/doctor) -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def family_dir(tokenizer_training_texts, tmp_path_factory):
    """``family_dir(family, files="model") -> eccr.models.hub_layouts.Layout``, built once per session.

    A directory laid out like a hub repository of ``family`` (:data:`eccr.models.hub_layouts.FAMILIES`:
    DeBERTa-v2 with ``spm.model``, rinna's T5-style RoBERTa and GPT-NeoX, LLaMA/Mistral, GPT-2 Unigram and
    byte-level BPE, BERT-Japanese characters) with its tokenizer trained on the fixture texts and a tiny
    config; ``files`` picks the SentencePiece model, a ``tokenizer.json`` converted from it, or both.
    """
    from eccr.models.hub_layouts import write_family_dir

    cache: dict[tuple[str, str], object] = {}

    def make(family: str, files: str = "model"):
        key = (family, files)
        if key not in cache:
            directory = tmp_path_factory.mktemp(f"family-{family}-{files}")
            cache[key] = write_family_dir(family, tokenizer_training_texts, directory, files=files,
                                          **TINY_SIZES)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def misaligned_model_dir(family_dir, tmp_path_factory) -> Path:
    """A tiny DeBERTa-v2 directory whose tokenizer was made with ``DebertaV2Tokenizer(vocab_file=spm.model)``.

    transformers 5 ignores ``vocab_file``: the tokenizer has only its 7 special tokens and turns every text
    into one ``[UNK]`` per space-separated chunk, yet its offsets are in bounds — the tokenizer eccr must
    refuse to train or predict with (``E079``).
    """
    import shutil

    from transformers import DebertaV2Tokenizer

    layout = family_dir("deberta-v2")
    directory = tmp_path_factory.mktemp("misaligned-deberta")
    shutil.copy(layout.path / "config.json", directory / "config.json")
    DebertaV2Tokenizer(vocab_file=str(layout.path / "spm.model")).save_pretrained(str(directory))
    return directory


# --- instruction tuning (owned by models/instruction) -----------------------------------------------------


@pytest.fixture(scope="session")
def bpe_decoder_tokenizer_dir(tokenizer_training_texts, tmp_path_factory) -> Path:
    """Directory of a GPT-2/GPT-NeoX style byte-level BPE decoder tokenizer (1000 tokens, lossless)."""
    from eccr.pretrain.tokenizer import train_byte_level_bpe_tokenizer

    tok = train_byte_level_bpe_tokenizer(tokenizer_training_texts, vocab_size=1000, role="decoder")
    return _save_tokenizer(tok, tmp_path_factory, "bpe-decoder-tokenizer")


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(bpe_decoder_tokenizer_dir, unigram_decoder_tokenizer_dir, tmp_path_factory):
    """``tiny_causal_lm_dir(architecture, tokenizer="bpe"|"unigram", **sizes) -> Path``: a cached tiny decoder
    directory for ``it:`` with room for the paper's prompt (512 positions)."""
    cache: dict[tuple, Path] = {}
    tokenizers = {"bpe": bpe_decoder_tokenizer_dir, "unigram": unigram_decoder_tokenizer_dir}

    def make(architecture: str, tokenizer: str = "bpe", **sizes) -> Path:
        key = (architecture, tokenizer, tuple(sorted(sizes.items())))
        if key not in cache:
            directory = tmp_path_factory.mktemp(f"tiny-lm-{architecture}-{tokenizer}")
            cache[key] = build_tiny_model_dir(architecture, tokenizers[tokenizer], directory,
                                              **{"max_length": 512, **sizes})
        return cache[key]

    return make


# --- deployment fixtures (owned by inference/, serve/) ----------------------------------------------------


@pytest.fixture(scope="session")
def sample_hf_model(tiny_model_dir, sample_gold, tmp_path_factory) -> Path:
    """A tiny DeBERTa-v2 ``hf`` model directory trained for three epochs on 30 sample documents."""
    from eccr.models.base import create_model

    options = {"init": "from_config", "epochs": 3, "batch_size": 4, "learning_rate": 5e-3, "warmup": 0.0,
               "progress": False, "window": 32, "step": 15}  # a small window: sample texts span windows
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", options)
    model.fit(sample_gold[:30], run_dir=tmp_path_factory.mktemp("hf-run"))
    return model.save(tmp_path_factory.mktemp("sample-hf") / "model")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``eccr serve`` as a real uvicorn process on 127.0.0.1 (a free port); always stopped by the fixture."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        import subprocess
        import sys
        import tempfile

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "eccr", "serve", *args, "--host", "127.0.0.1",
                   "--port", str(self.port)]
        # the log goes to a file: a pipe nobody reads would fill up and stall the server
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> LiveServer:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"eccr serve exited: {self.log.read().decode(errors='replace')}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"eccr serve did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def live_crf_server(sample_crf):
    """A real ``eccr serve`` of the sample CRF (no key) for the HTTP, load and page tests."""
    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    server = LiveServer(["--model", str(sample_crf[1]), "--max-body-bytes", "20000", "--max-texts", "8"])
    try:
        yield server.wait_ready()
    finally:
        server.stop()
