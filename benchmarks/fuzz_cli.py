"""Fuzz the ``eccr`` command line: N damaged inputs per reader in a time budget, failures counted by class.

Every reader eccr has — the corpus formats, a saved model directory, a folds file, a run's ``resolved.yaml``
used as ``--config`` — and the command line
itself get damaged inputs made from a valid seed: random bytes, a random truncation, flipped bytes, spliced
structural tokens (quotes, brackets, markers, invalid UTF-8, lone-surrogate escapes), and for the inline
format random ``@@``/``##``/backslash marker soup. Each case runs the real ``eccr`` entry point
(:func:`eccr.cli.common.run_app`) on it. The rule every case must meet: **a clear coded error or the correct
result, never a traceback, never a partial file**. Outcomes:

* passes — ``ok`` (exit 0 and the result checks out: a converted corpus reads back as the input reads, a
  prediction file reads, a run has its summary), ``coded error`` (exit 2, last line ``error [E0xx] …``),
  ``usage error`` (exit 2, the usage line and ``error: …``);
* failures — ``traceback``, ``internal error`` (exit 70), ``uncoded error`` (exit 2 without a code),
  ``partial file`` (a temporary file left behind, an output created or changed by a failed command),
  ``wrong result`` (exit 0 but the output does not read back as expected), ``crash`` (killed by a signal or
  another exit status), ``timeout``.

Cases run in a worker process, so a crash in native code is counted and the run goes on. The figure the
issue asks for is the table this prints.

Usage::

    .venv/bin/python benchmarks/fuzz_cli.py [--cases 200] [--budget 240] [--seed 0] [--json out.json]

``--cases`` is per reader; the budget (seconds) is shared evenly by the readers, so every reader gets its
share even when the budget ends the run first.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PASSES = ("ok", "coded error", "usage error")
FAILURES = ("traceback", "internal error", "uncoded error", "partial file", "wrong result", "crash",
            "timeout")
SENTINEL = b"previous content\n"
CASE_TIMEOUT_S = 60.0
_CODED = re.compile(r"^error \[E\d{3}\] ")

#: Structural pieces spliced into inputs: syntax of every format, invalid UTF-8, a lone surrogate escape.
SPLICES: tuple[bytes, ...] = (
    b'"', b"{", b"}", b"[", b"]", b":", b",", b"\\", b"\\u", b"\\ud83d", b'"id": "x"', b'"start": -1',
    b"<", b">", b"</article>", b"<d>", b"</d>", b"&", b"&#0;", b"\t", b"\n", b"\r\n", b"\r", b"\x00",
    b"\xff", b"\xe3\x81", b"\xef\xbb\xbf", b"@@", b"##", b"B-d", b"I-d", b"# id = ", b"T1\td 0 9999\tx",
    b"A1\tX T9", b"'", b"['", b"]'", b"\xe7\x99\xba\xe7\x86\xb1",
)
#: The inline format's marker soup.
MARKER_TOKENS: tuple[str, ...] = ("@@", "##", "\\", "\\@", "\\#", "\\n", "\\\\", "@", "#", "発", "熱", "x",
                                  " ", "\n", "\r\n", "\t", "\ufeff")
#: Command-line words (no Hub ids and no tokenizers: nothing here may reach the network).
ARGV_WORDS: tuple[str, ...] = (
    "convert", "stats", "show", "score", "compare", "cv", "train", "predict", "nosuch", "--from", "--to",
    "--select", "--folds", "--folds-file", "--out", "--p", "--resamples", "--permutations", "--id", "--model",
    "--format", "--lenient", "--report", "--set", "--seed", "--quiet", "--bogus", "tiny.jsonl", "tiny.txt",
    "out.jsonl", "out.xml", "out", "missing.jsonl", "abc", "-1", "0", "1", "inf", "d[x=]", "D", "concept",
    "crf", "dict", "xyz:1", "hf:./no-model", "jsonl", "brat", "text", "table", "json", "[bold]x", "",
    "model.options.c2=abc", "folds=1", "report/r.json", "tiny-sample-0001",
)


@dataclass(frozen=True)
class Target:
    """One reader to fuzz: its valid seed files, the file that gets damaged, the command, the result check."""

    name: str
    fuzzed: str  # path (relative to the case directory) of the damaged file
    argv: tuple[str, ...]
    output: str | None  # what the command writes (must be absent, or unchanged, after a failure)
    verify: Callable[[Path], str | None]  # on exit 0: None when correct, else what is wrong


def _read(path: Path, fmt: str | None = None) -> list:
    from eccr.corpus.io import read_corpus

    with _quiet_warnings():
        return list(read_corpus(path, fmt))


def _same_as_input(source: str, fmt: str) -> Callable[[Path], str | None]:
    def verify(case: Path) -> str | None:
        try:
            expected = _read(case / source, fmt)
        except Exception as err:  # the command succeeded, so reading the input must too
            return f"the input reads only with an error: {err}"
        written = _read(case / "out.jsonl", "jsonl")
        return None if written == expected else "the converted corpus does not read back as the input"
    return verify


def _readable(relative: str) -> Callable[[Path], str | None]:
    def verify(case: Path) -> str | None:
        return None if (case / relative).exists() and _read(case / relative, "jsonl") is not None else \
            f"{relative} missing"
    return verify


def _exists(relative: str) -> Callable[[Path], str | None]:
    return lambda case: None if (case / relative).is_file() else f"{relative} was not written"


def _nothing(case: Path) -> str | None:
    return None


CORPUS_FORMATS = {"jsonl": "in.jsonl", "inline": "in.txt", "medtxt": "in.xml", "jmedllm": "in.csv",
                  "conll": "in.conll", "text": "in.txt"}


def targets() -> list[Target]:
    """Every reader the fuzzer feeds, in the order the table lists them."""
    found = [
        Target(fmt, name, ("convert", name, "out.jsonl", "--from", fmt), "out.jsonl",
               _same_as_input(name, fmt))
        for fmt, name in CORPUS_FORMATS.items()
    ]
    found.append(Target("brat", "in/tiny-sample-0001.ann", ("convert", "in", "out.jsonl", "--from", "brat"),
                        "out.jsonl", _same_as_input("in", "brat")))
    for part in ("crf.crfsuite", "eccr-model.json", "dictionary.json"):
        found.append(Target(f"model {part}", f"model/{part}",
                            ("predict", "model", "note.txt", "--from", "text", "--out", "out.jsonl"),
                            "out.jsonl", _readable("out.jsonl")))
    cv = ("cv", "tiny.jsonl", "--model", "dict", "--folds-file", "folds.json", "--out", "run", "--quiet",
          "--format", "json")
    found.append(Target("folds.json", "folds.json", cv, "run", _exists("run/summary.json")))
    configured = ("cv", "tiny.jsonl", "--config", "resolved.yaml", "--out", "run", "--quiet",
                  "--format", "json")
    found.append(Target("resolved.yaml", "resolved.yaml", configured, "run", _exists("run/summary.json")))
    found.append(Target("argv", "", (), None, _nothing))
    return found


def build_seeds(directory: Path) -> dict[str, bytes]:
    """The valid files of every target (relative path -> bytes), built once from the bundled sample."""
    from eccr.corpus.io import write_corpus
    from eccr.corpus.types import Corpus, Document, Span
    from eccr.data import sample_corpus
    from eccr.experiments.config import resolve_config
    from eccr.experiments.folds import make_folds
    from eccr.models.base import create_model

    sample = sample_corpus()
    docs = Corpus(Document(f"tiny-{d.id}", d.text, [Span(s.start, s.end, "d") for s in d.spans])
                  for d in list(sample)[:6])
    work = directory / "seed"
    work.mkdir(parents=True)
    with _quiet_warnings():
        for fmt, name in CORPUS_FORMATS.items():
            if fmt != "text":
                write_corpus(docs, work / name, fmt)
        write_corpus(docs, work / "in", "brat")
        write_corpus(docs, work / "tiny.jsonl", "jsonl")
        write_corpus(docs, work / "tiny.txt", "inline")
        model = create_model("crf", {"max_iterations": 20})
        model.fit(docs)
        model.save(work / "model")
    (work / "note.txt").write_text(docs[0].text, encoding="utf-8")
    make_folds(docs.ids, k=3, seed=0, validation_fraction=0.2).write(work / "folds.json")
    resolve_config({"model": {"spec": "dict"}, "folds": 3, "p": [1.0, 2.0]}).write(work)
    seeds = {p.relative_to(work).as_posix(): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}
    seeds["in.txt"] = (work / "in.txt").read_bytes()  # inline and text share the path (not the reading)
    shutil.rmtree(work)
    return seeds


# --- damaging inputs --------------------------------------------------------------------------------------


def mutate(seed: bytes, rng: random.Random, *, marker_soup: bool = False) -> tuple[str, bytes]:
    """``(kind, damaged bytes)`` made from ``seed``: one of the kinds in the module docstring, at random."""
    kinds = ["random bytes", "truncate", "flip", "splice"] + (["marker soup"] if marker_soup else [])
    kind = rng.choice(kinds)
    if kind == "random bytes":
        return kind, rng.randbytes(rng.randint(0, max(1, min(len(seed), 400))))
    if kind == "truncate":
        return kind, seed[: rng.randint(0, len(seed))]
    if kind == "flip":
        data = bytearray(seed or b"\x00")
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return kind, bytes(data)
    if kind == "splice":
        data = seed
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(data))
            data = data[:at] + rng.choice(SPLICES) + data[at + rng.choice((0, 0, 1, 5)):]
        return kind, data
    return kind, marker_soup_text(rng).encode("utf-8", "surrogatepass")


def marker_soup_text(rng: random.Random) -> str:
    return "".join(rng.choice(MARKER_TOKENS) for _ in range(rng.randint(0, 40)))


COMMANDS = ("convert", "stats", "show", "score", "compare", "cv", "train", "predict")


def random_argv(rng: random.Random) -> list[str]:
    """A command (mostly a real one) followed by random words: options, values, paths."""
    words = [rng.choice(ARGV_WORDS) for _ in range(rng.randint(0, 7))]
    return [rng.choice(COMMANDS), *words] if rng.random() < 0.85 else words


# --- running one case -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""


@contextlib.contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_cli(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``eccr ARGV`` in this process (the real entry point), in ``cwd``: exit status, stdout, stderr."""
    from eccr.cli.common import run_app
    from eccr.cli.main import app

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run_app(app, argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def run_case(target: Target, data: bytes | list[str], seeds: dict[str, bytes], base: Path,
             *, existing_output: bool = False) -> Outcome:
    """Run one damaged input (bytes for the fuzzed file, or an argv for ``argv``) and classify it."""
    case = Path(tempfile.mkdtemp(prefix="case-", dir=base))
    try:
        for relative, content in seeds.items():
            (case / relative).parent.mkdir(parents=True, exist_ok=True)
            (case / relative).write_bytes(content)
        if target.name == "argv":
            assert isinstance(data, list)
            argv = data
        else:
            assert isinstance(data, bytes)
            (case / target.fuzzed).write_bytes(data)
            argv = list(target.argv)
        if existing_output and target.output is not None and target.output.endswith(".jsonl"):
            (case / target.output).write_bytes(SENTINEL)
        code, out, err = run_cli(argv, case)
        return classify(target, case, code, out, err, existing_output)
    finally:
        shutil.rmtree(case, ignore_errors=True)


def classify(target: Target, case: Path, code: int, out: str, err: str, existing_output: bool) -> Outcome:
    lines = err.strip().splitlines()
    last = lines[-1] if lines else ""
    if "Traceback (most recent call last)" in err + out:
        return Outcome("traceback", last)
    leftovers = [p.name for p in case.rglob(".eccr-tmp-*")]
    if leftovers:
        return Outcome("partial file", f"temporary file left: {leftovers[0]}")
    if code == 0:
        try:
            problem = target.verify(case)
        except Exception as error:
            problem = f"the result cannot be read: {error}"
        return Outcome("ok") if problem is None else Outcome("wrong result", problem)
    if code == 2:
        output = case / target.output if target.output else None
        if output is not None and existing_output and output.suffix == ".jsonl":
            if output.read_bytes() != SENTINEL:
                return Outcome("partial file", f"{target.output} changed by a failed command")
        elif output is not None and output.exists():
            return Outcome("partial file", f"{target.output} written by a failed command")
        if _CODED.match(last):
            return Outcome("coded error", last[7:11])
        if lines and lines[0].startswith("Usage:") and last.startswith("error: "):
            return Outcome("usage error")
        return Outcome("uncoded error", last)
    if code == 70:
        return Outcome("internal error", last)
    return Outcome("crash", f"exit status {code}: {last}")


# --- the benchmark: a worker process runs the cases, the parent keeps count --------------------------------


def _worker() -> None:
    """Read cases (JSON lines) on stdin, run each in this process, answer one JSON line per case."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    by_name = {t.name: t for t in targets()}
    base = Path(tempfile.mkdtemp(prefix="eccr-fuzz-"))
    seeds = build_seeds(base)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        target = by_name[request["target"]]
        data = request["argv"] if target.name == "argv" else base64.b64decode(request["data"])
        outcome = run_case(target, data, seeds, base, existing_output=request["existing"])
        print(json.dumps({"kind": outcome.kind, "detail": outcome.detail}), flush=True)


class _Worker:
    def __init__(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.answer(600.0)  # seeds built

    def answer(self, timeout: float) -> dict | None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def run(self, request: dict) -> Outcome:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.answer(CASE_TIMEOUT_S)
        if reply is not None:
            return Outcome(reply["kind"], reply["detail"])
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            return Outcome("timeout", f"no answer in {CASE_TIMEOUT_S:.0f} s")
        return Outcome("crash", f"worker died with status {self.process.returncode}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def fuzz(cases: int, budget_s: float, seed: int) -> dict[str, Counter]:
    """Run up to ``cases`` damaged inputs per target within ``budget_s`` seconds (shared evenly)."""
    rng = random.Random(seed)
    all_targets = targets()
    seeds = _seed_bytes()
    counts: dict[str, Counter] = {}
    examples: dict[str, list[str]] = {}
    worker = _Worker()
    try:
        for index, target in enumerate(all_targets):
            share = budget_s / len(all_targets)
            deadline = time.monotonic() + share
            counter: Counter = Counter()
            for _ in range(cases):
                if time.monotonic() > deadline:
                    break
                request: dict = {"target": target.name, "existing": rng.random() < 0.5}
                if target.name == "argv":
                    request["argv"] = random_argv(rng)
                else:
                    _, data = mutate(seeds[target.fuzzed], rng, marker_soup=target.name == "inline")
                    request["data"] = base64.b64encode(data).decode()
                outcome = worker.run(request)
                counter[outcome.kind] += 1
                if outcome.kind in FAILURES:
                    examples.setdefault(target.name, []).append(f"{outcome.kind}: {outcome.detail}")
                    if worker.process.poll() is not None:
                        worker = _Worker()
            counts[target.name] = counter
            print(f"[{index + 1}/{len(all_targets)}] {target.name}: {sum(counter.values())} cases, "
                  f"{sum(counter[k] for k in FAILURES)} failures", file=sys.stderr, flush=True)
    finally:
        worker.close()
    for name, lines in examples.items():
        for line in lines[:3]:
            print(f"  {name}: {line}", file=sys.stderr)
    return counts


def _seed_bytes() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        return build_seeds(Path(tmp))


def table(counts: dict[str, Counter]) -> str:
    columns = [*PASSES, *FAILURES]
    header = "| reader | cases | " + " | ".join(columns) + " |"
    rows = [header, "| --- " * (len(columns) + 2) + "|"]
    total: Counter = Counter()
    for name, counter in counts.items():
        total.update(counter)
        cells = " | ".join(str(counter[c]) for c in columns)
        rows.append(f"| {name} | {sum(counter.values())} | {cells} |")
    cells = " | ".join(str(total[c]) for c in columns)
    rows.append(f"| **all** | {sum(total.values())} | {cells} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="damaged inputs per reader (at most)")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the counts to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker()
        return
    started = time.perf_counter()
    counts = fuzz(args.cases, args.budget, args.seed)
    print(table(counts))
    failures = sum(counter[k] for counter in counts.values() for k in FAILURES)
    cases = sum(sum(counter.values()) for counter in counts.values())
    print(f"\n{cases} cases, {failures} failures, {time.perf_counter() - started:.0f} s (seed {args.seed})")
    if args.json:
        args.json.write_text(json.dumps({k: dict(v) for k, v in counts.items()}, indent=2) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
