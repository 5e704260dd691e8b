"""Deployment speed on the CPU, measured side by side in one run: runtimes, the CRF, the server.

Parts (``--part``, repeatable; default all):

* ``runtimes`` — documents/s on MedTxt-CR texts for DeBERTa-v2-base and RoBERTa-base sized models (random
  initialisation: speed does not depend on the weights) with a Unigram tokenizer trained on the corpus:
  a plain HF forward pass (tokenizer + ``AutoModelForTokenClassification``, truncated at 512, batches of
  ``--batch-size``), eccr's PyTorch fp32 path (:class:`eccr.Extractor`: windows, nothing truncated, spans
  decoded), ONNX fp32 and ONNX int8 (``eccr export-onnx``); and the character CRF. The variants run in
  turns (round robin, ``--rounds``) on the same documents, so load on a shared machine hits them alike;
  the figure is the best round of each.
* ``parity`` — a small DeBERTa-v2 (hidden 128, 2 layers, character tokenizer) trained on 118 MedTxt-CR
  documents and exported fp32 and int8; the export's own parity check on the 30 held-out documents (fp32
  identical spans, int8 wsm F1 difference) and the three runtimes' documents/s on them.
* ``server`` — ``eccr serve`` of that small model as a real uvicorn process on 127.0.0.1: 20 concurrent
  clients send ``--requests`` single-document requests; p50/p99 latency and requests/s with micro-batching
  on (``--max-batch 32``) and off (``--max-batch 1``), in the same run.

Usage::

    nice .venv/bin/python benchmarks/inference.py --threads 2                # everything (~10 min on 2 cores)
    nice .venv/bin/python benchmarks/inference.py --part runtimes --docs 16  # one part

Threads are set explicitly (``--threads``: torch, ONNX Runtime and the CRF's process). MedTxt-CR is read
from ``../shared/data`` (or ``$ECCR_SHARED_DATA``); without it the bundled synthetic sample is used (and
said). Figures are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
BASE = {"hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072, "max_length": 514}


def load_corpus():
    from eccr.corpus.io import read_corpus
    from eccr.data import sample_corpus

    if MEDTXT.exists():
        return read_corpus(MEDTXT, select="d[certainty=positive]"), "MedTxt-CR (d, positive)"
    print(f"note: {MEDTXT} is absent; using the bundled synthetic sample", file=sys.stderr)
    return sample_corpus(), "bundled synthetic sample"


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def best_rate(variants: dict[str, Callable[[], object]], n_docs: int, rounds: int) -> dict[str, float]:
    """documents/s of each variant: best of ``rounds`` turns, variants interleaved within each round."""
    for run in variants.values():  # warm-up (allocations, lazy init)
        run()
    best = {name: 0.0 for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            started = time.perf_counter()
            run()
            best[name] = max(best[name], n_docs / (time.perf_counter() - started))
    return best


# --- runtimes ----------------------------------------------------------------------------------------------
def random_model(architecture: str, tokenizer_dir: Path, corpus, work: Path) -> Path:
    """A saved ``hf`` model directory of base size, randomly initialised (one tiny training step)."""
    from eccr.models.base import create_model
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import load_tokenizer

    source = write_model_dir(
        architecture, load_tokenizer(tokenizer_dir), work / f"{architecture}-src", **BASE
    )
    model = create_model(
        f"hf:{source}",
        {
            "init": "from_config",
            "epochs": 1,
            "max_train_docs": 1,
            "batch_size": 1,
            "progress": False,
            "window": 512,
        },
    )
    model.fit(corpus[:1], run_dir=work / f"{architecture}-run")
    return model.save(work / f"{architecture}-model")


def export_both(model_dir: Path, out: Path, check) -> dict:
    """fp32 and int8 exports of ``model_dir``; the graph is traced once and quantised from that trace."""
    from unittest import mock

    from eccr.inference import onnx_export
    from eccr.models.onnx import ONNX_FILE

    exported = {}
    for q in ("none", "int8"):
        started = time.perf_counter()
        if q == "none":
            result = onnx_export.export_onnx(
                model_dir, Path(f"{out}-{q}"), quantize=q, check=check, force=True
            )
        else:
            fp32 = exported["none"][0].directory / ONNX_FILE

            def reuse(source, path, opset, fp32=fp32):
                return shutil.copyfile(fp32, path)

            with mock.patch.object(onnx_export, "_export_graph", reuse):
                result = onnx_export.export_onnx(
                    model_dir, Path(f"{out}-{q}"), quantize=q, check=check, force=True
                )
        exported[q] = (result, time.perf_counter() - started)
    return exported


def plain_hf(model_dir: Path, texts: list[str], batch_size: int) -> Callable[[], object]:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForTokenClassification.from_pretrained(str(model_dir)).eval()
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]

    def run() -> object:
        with torch.no_grad():
            for batch in batches:
                inputs = tokenizer(batch, padding=True, truncation=True, max_length=512, return_tensors="pt")
                model(**inputs).logits.argmax(-1)
        return None

    return run


def part_runtimes(args, corpus, work: Path) -> None:
    from eccr.inference import Extractor
    from eccr.models.base import create_model
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    texts = [d.text for d in corpus][: args.docs]
    tok = train_unigram_tokenizer([d.text for d in corpus], vocab_size=8000, byte_fallback=True)
    tok_dir = work / "tokenizer"
    tok.save_pretrained(str(tok_dir))
    tokens = statistics.mean(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)
    check = corpus[: min(4, len(corpus))]
    rows = []
    for arch, label in (("deberta-v2", "DeBERTa-v2-base"), ("roberta", "RoBERTa-base")):
        model_dir = random_model(arch, tok_dir, corpus, work)
        exported = export_both(model_dir, work / f"{arch}-onnx", check)
        # eccr's forward passes take as many windows as plain HF takes texts: like for like
        torch_x = Extractor.load(model_dir, device="cpu", forward_batch_size=args.batch_size)
        onnx32, onnx8 = (Extractor.load(exported[q][0].directory, forward_batch_size=args.batch_size)
                         for q in ("none", "int8"))
        variants = {
            "plain HF fp32": plain_hf(model_dir, texts, args.batch_size),
            "eccr PyTorch fp32": lambda x=torch_x: x.extract_many(texts, batch_size=args.batch_size),
            "eccr ONNX fp32": lambda x=onnx32: x.extract_many(texts, batch_size=args.batch_size),
            "eccr ONNX int8": lambda x=onnx8: x.extract_many(texts, batch_size=args.batch_size),
        }
        rates = best_rate(variants, len(texts), args.rounds)
        base = rates["plain HF fp32"]
        for name, rate in rates.items():
            note = ""
            if "ONNX" in name:
                result, seconds = exported["int8" if "int8" in name else "none"]
                note = (
                    f"export {seconds:.0f} s, {result.graph_bytes / 1e6:.0f} MB; fp32 spans identical on "
                    f"{check.__len__() - len(result.parity.fp32_mismatches)}/{len(check)}"
                )
            rows.append([label, name, f"{rate:.2f}", f"{rate / base:.2f}×", note])
        del torch_x, onnx32, onnx8, variants
    crf = create_model("crf", {"max_iterations": 30})
    crf.fit(corpus[: min(100, len(corpus))])
    crf_dir = crf.save(work / "crf")
    crf_x = Extractor.load(crf_dir)
    rate = best_rate({"crf": lambda: crf_x.extract_many(texts)}, len(texts), args.rounds)["crf"]
    rows.append(["character CRF", "eccr (python-crfsuite)", f"{rate:.2f}", "", ""])
    print(
        f"\n### Runtimes: {len(texts)} documents, {statistics.mean(map(len, texts)):.0f} characters and "
        f"{tokens:.0f} tokens each on average, batch {args.batch_size}, {args.threads} threads\n"
    )
    print(table(["model", "runtime", "documents/s", "vs plain HF", "notes"], rows))


# --- parity on a trained small model -----------------------------------------------------------------------
def trained_small_model(corpus, work: Path, epochs: int) -> tuple[Path, object]:
    from eccr.models.base import create_model
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import load_tokenizer, train_char_tokenizer

    tok_dir = work / "char-tokenizer"
    train_char_tokenizer([d.text for d in corpus]).save_pretrained(str(tok_dir))
    source = write_model_dir(
        "deberta-v2",
        load_tokenizer(tok_dir),
        work / "small-src",
        hidden=128,
        layers=2,
        heads=2,
        intermediate=512,
        max_length=512,
    )
    train, held_out = corpus[: len(corpus) - 30], corpus[len(corpus) - 30 :]
    model = create_model(
        f"hf:{source}",
        {
            "init": "from_config",
            "epochs": epochs,
            "batch_size": 8,
            "learning_rate": 1e-3,
            "progress": False,
            "window": 256,
        },
    )
    started = time.perf_counter()
    model.fit(train, run_dir=work / "small-run")
    print(
        f"(trained {len(train)} documents, {epochs} epochs, in {time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return model.save(work / "small-model"), held_out


def part_parity(args, corpus, work: Path) -> Path:
    from eccr.inference import Extractor
    from eccr.inference.onnx_export import export_onnx

    model_dir, held_out = trained_small_model(corpus, work, args.epochs)
    rows, extractors = [], {"PyTorch fp32": Extractor.load(model_dir, device="cpu")}
    for q in ("none", "int8"):
        out = work / f"small-onnx-{q}"
        result = export_onnx(model_dir, out, quantize=q, check=held_out, force=True)
        p = result.parity
        rows.append(
            [
                q if q == "int8" else "fp32",
                p.documents,
                len(p.fp32_mismatches),
                f"{p.reference_f1:.4f}",
                f"{p.exported_f1:.4f}",
                f"{p.f1_difference:+.4f}",
                "yes" if p.passed else "NO",
            ]
        )
        extractors[f"ONNX {'int8' if q == 'int8' else 'fp32'}"] = Extractor.load(out)
    print("\n### Parity on a trained small DeBERTa-v2 (30 held-out MedTxt-CR documents)\n")
    print(
        table(
            [
                "export",
                "documents",
                "fp32 span mismatches",
                "wsm F1 torch",
                "wsm F1 exported",
                "difference",
                "passed (tolerance 0.005)",
            ],
            rows,
        )
    )
    texts = [d.text for d in held_out]
    rates = best_rate(
        {k: (lambda x=x: x.extract_many(texts)) for k, x in extractors.items()}, len(texts), args.rounds
    )
    base = rates["PyTorch fp32"]
    print(
        "\n"
        + table(
            ["runtime", "documents/s", "vs PyTorch"],
            [[k, f"{v:.2f}", f"{v / base:.2f}×"] for k, v in rates.items()],
        )
    )
    return model_dir


# --- server ------------------------------------------------------------------------------------------------
def load_test(url: str, texts: list[str], requests: int, clients: int = 20) -> tuple[list[float], int, float]:
    """``requests`` POSTs from ``clients`` threads: latencies (s), non-200 answers, wall time (s)."""
    import httpx

    latencies: list[float] = []
    errors: list[int] = []

    def client(k: int) -> None:
        with httpx.Client(timeout=120) as session:
            for i in range(requests // clients):
                started = time.perf_counter()
                r = session.post(url, json={"text": texts[(k * 7 + i) % len(texts)]})
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    errors.append(r.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return latencies, len(errors), time.perf_counter() - started


def part_server(args, corpus, work: Path, model_dir: Path | None) -> None:
    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.conftest import LiveServer

    if model_dir is None:  # the same architecture, trained briefly: speed does not depend on the weights
        model_dir, _ = trained_small_model(corpus[:40], work, 1)
    texts = [d.text for d in corpus]
    rows = []
    for label, max_batch in (("micro-batching on (max 32, 5 ms)", "32"), ("micro-batching off", "1")):
        server = LiveServer(
            ["--model", str(model_dir), "--max-batch", max_batch, "--device", "cpu"],
            env={"OMP_NUM_THREADS": str(args.threads)},
        )
        try:
            url = server.wait_ready(120).url + "/extract"
            load_test(url, texts, 20)  # warm-up: first forward passes (allocation, kernel choice) not timed
            httpx.get(url.replace("/extract", "/health"))
            latencies, errors, wall = load_test(url, texts, args.requests)
            health = httpx.get(url.replace("/extract", "/health")).json()["batching"]  # includes warm-up
        finally:
            server.stop()
        q = statistics.quantiles(latencies, n=100)
        rows.append(
            [
                label,
                len(latencies),
                errors,
                f"{q[49] * 1000:.0f}",
                f"{q[98] * 1000:.0f}",
                f"{len(latencies) / wall:.1f}",
                f"{health['texts'] / max(1, health['calls']):.1f}",
            ]
        )
    print(
        f"\n### Server: 20 concurrent clients, one MedTxt-CR document per request, {args.threads} threads\n"
    )
    print(
        table(
            ["setting", "requests", "errors", "p50 ms", "p99 ms", "requests/s", "mean texts per forward"],
            rows,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", action="append", choices=["runtimes", "parity", "server"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--docs", type=int, default=24, help="documents timed per runtime variant")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8, help="training epochs of the parity model")
    parser.add_argument("--requests", type=int, default=400, help="server requests per setting")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    corpus, name = load_corpus()
    print(
        f"## eccr inference benchmark — {name}, {len(corpus)} documents, torch {torch.__version__}, "
        f"{args.threads} threads"
    )
    parts = args.part or ["runtimes", "parity", "server"]
    with tempfile.TemporaryDirectory(prefix="eccr-bench-") as tmp:
        work = Path(tmp)
        model_dir = None
        if "runtimes" in parts:
            part_runtimes(args, corpus, work)
        if "parity" in parts:
            model_dir = part_parity(args, corpus, work)
        if "server" in parts:
            part_server(args, corpus, work, model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
