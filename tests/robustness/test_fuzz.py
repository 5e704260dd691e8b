"""Generated bad inputs through the real command line: a clear coded error or the correct result, never a
traceback, never a partial file.

Every reader eccr has (each corpus format, a saved model directory, a folds file, a run's ``resolved.yaml``)
gets hypothesis-generated damage — random bytes, a random truncation of the file as eccr writes it, and for
the inline format random ``@@``/``##``/backslash marker soup — and the command line gets random words. The
cases, the checks and the outcome classes are those of ``benchmarks/fuzz_cli.py`` (loaded from there, so the
benchmark and the tests judge alike). The default run keeps the examples few; ``-m slow`` runs many more.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]


def _load_fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_cli", ROOT / "benchmarks" / "fuzz_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_module()
TARGETS = {t.name: t for t in fuzz.targets()}
FILE_TARGETS = sorted(name for name in TARGETS if name != "argv")
FAST, SLOW = 4, 60  # examples per reader and kind of damage: default run / -m slow


@pytest.fixture(scope="session")
def seeds(tmp_path_factory):
    return fuzz.build_seeds(tmp_path_factory.mktemp("fuzz-seeds"))


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-cases")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing a damaged input names may reach the network


def check(name: str, data, seeds, base, existing_output: bool = False) -> None:
    outcome = fuzz.run_case(TARGETS[name], data, seeds, base, existing_output=existing_output)
    assert outcome.kind in fuzz.PASSES, f"{name}: {outcome.kind}: {outcome.detail}"


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def random_bytes_test(examples: int):
    @pytest.mark.parametrize("name", FILE_TARGETS)
    @_settings(examples)
    @given(data=st.binary(max_size=400), existing=st.booleans())
    def test(name, data, existing, seeds, base) -> None:
        check(name, data, seeds, base, existing)

    return test


def truncation_test(examples: int):
    @pytest.mark.parametrize("name", FILE_TARGETS)
    @_settings(examples)
    @given(cut=st.floats(0, 1), existing=st.booleans())
    def test(name, cut, existing, seeds, base) -> None:
        """Every file type eccr writes, cut anywhere: the reader says so with a code, or reads it right."""
        seed = seeds[TARGETS[name].fuzzed]
        check(name, seed[: int(len(seed) * cut)], seeds, base, existing)

    return test


def marker_soup_test(examples: int):
    @_settings(examples * 5)
    @given(tokens=st.lists(st.sampled_from(fuzz.MARKER_TOKENS), max_size=40), existing=st.booleans())
    def test(tokens, existing, seeds, base) -> None:
        check("inline", "".join(tokens).encode("utf-8"), seeds, base, existing)

    return test


def command_line_test(examples: int):
    @_settings(examples * 5)
    @given(command=st.sampled_from(fuzz.COMMANDS),
           words=st.lists(st.sampled_from(fuzz.ARGV_WORDS), max_size=7))
    def test(command, words, seeds, base) -> None:
        check("argv", [command, *words], seeds, base)

    return test


test_random_bytes = random_bytes_test(FAST)
test_random_truncation = truncation_test(FAST)
test_marker_soup = marker_soup_test(FAST)
test_random_command_lines = command_line_test(FAST)
test_random_bytes_many = pytest.mark.slow(random_bytes_test(SLOW))
test_random_truncation_many = pytest.mark.slow(truncation_test(SLOW))
test_marker_soup_many = pytest.mark.slow(marker_soup_test(SLOW))
test_random_command_lines_many = pytest.mark.slow(command_line_test(SLOW))


def test_the_judge_fails_what_it_must(seeds, base, monkeypatch) -> None:
    """The classification is not vacuous: a traceback, an uncoded exit and a leftover file are failures."""
    target = TARGETS["jsonl"]
    case = base / "judge"
    case.mkdir()
    assert fuzz.classify(target, case, 1, "", "Traceback (most recent call last):\n  x\nValueError", False
                         ).kind == "traceback"
    assert fuzz.classify(target, case, 2, "", "something went wrong", False).kind == "uncoded error"
    assert fuzz.classify(target, case, 2, "", "error [E037] bad line (file x)", False).kind == "coded error"
    (case / "out.jsonl").write_text("{}", encoding="utf-8")
    assert fuzz.classify(target, case, 2, "", "error [E037] bad line", False).kind == "partial file"
    assert fuzz.classify(target, case, -11, "", "", False).kind == "crash"
    (case / ".eccr-tmp-out.jsonl.123").write_text("", encoding="utf-8")
    assert fuzz.classify(target, case, 0, "", "", False).kind == "partial file"
    # and a command that succeeds with a wrong result is caught by the result check
    monkeypatch.setitem(TARGETS, "jsonl", target)
    seed = seeds["in.jsonl"]
    assert fuzz.run_case(target, seed, seeds, base).kind == "ok"
