"""Sliding windows over the tokens of a long text, and merging their predictions by maximum context.

A model sees at most ``window`` tokens, special tokens included. A text's content tokens are cut into
windows of ``window - n_special`` content tokens (``n_special`` = the special tokens the tokenizer adds, e.g.
``[CLS]`` and ``[SEP]``), starting every ``step`` tokens; the last window is moved back to end at the last
token, so every token is in at least one window and nothing is ever truncated. A ``step`` larger than the
content size would skip tokens and is refused.

Overlapping predictions are merged by **maximum context**: each token's prediction is taken from the window
in which it is farthest from a window edge (``min(tokens before it, tokens after it)`` within the window;
ties go to the earlier window). A position-independent predictor therefore gives exactly the same merged
output as a run without windows.

>>> [(w.start, w.end) for w in plan_windows(10, window=6, step=3, n_special=2)]
[(0, 4), (3, 7), (6, 10)]
>>> merged = merge_window_scores(10, plan_windows(10, 6, 3, 2), [np.full((4, 1), k) for k in range(3)])
>>> merged[:, 0].tolist()  # tokens 3 and 6 are at an edge of both their windows: the earlier wins
[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eccr.errors import ConfigError, Location, ModelError


@dataclass(frozen=True)
class SpecialTokens:
    """The special token ids a tokenizer puts before and after a single sequence.

    >>> SpecialTokens((2,), (3,)).wrap([10, 11])
    [2, 10, 11, 3]
    """

    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def wrap(self, ids: Sequence[int]) -> list[int]:
        """``prefix + ids + suffix``."""
        return [*self.prefix, *ids, *self.suffix]

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, probe: str = "発熱 a 1") -> SpecialTokens:
        """Find the tokenizer's special tokens by encoding ``probe`` with and without them.

        Works for any template that puts fixed ids around a single sequence (BERT/DeBERTa ``[CLS] … [SEP]``,
        Llama ``<s> …``, GPT-2 nothing).

        Raises:
            ModelError: ``E076`` when the content ids are not a contiguous part of the encoding with
                special tokens (a template that rewrites the content cannot be windowed safely).
        """
        plain = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
        full = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
        if plain:
            for k in range(len(full) - len(plain) + 1):
                if full[k : k + len(plain)] == plain:
                    return cls(tuple(full[:k]), tuple(full[k + len(plain) :]))
        raise ModelError(
            "E076",
            f"cannot tell which special tokens the tokenizer adds: encoding {probe!r} gives {plain} without "
            f"and {full} with special tokens",
        )


@dataclass(frozen=True)
class Window:
    """Content tokens ``[start, end)`` of a text that one model input holds (special tokens not counted)."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def content_size(window: int, n_special: int) -> int:
    """Content tokens per window; raises ``E077`` when the special tokens leave no room."""
    size = window - n_special
    if size < 1:
        raise ConfigError("E077", f"window of {window} tokens leaves no room for content after {n_special} "
                          "special tokens; use a larger window")
    return size


def default_step(window: int, n_special: int) -> int:
    """The step when none is given: half the content tokens of a window (at least 1).

    >>> default_step(512, 2), default_step(4, 2)
    (255, 1)
    """
    return max(1, content_size(window, n_special) // 2)


def plan_windows(n_tokens: int, window: int, step: int | None = None, n_special: int = 0) -> list[Window]:
    """The windows covering ``n_tokens`` content tokens (see the module rules).

    Args:
        n_tokens: number of content tokens of the text.
        window: the model's maximum input length, special tokens included.
        step: tokens between window starts; default half the content size (at least 1).
        n_special: special tokens added to each window.

    Raises:
        ConfigError: ``E077`` for a window without room for content or a step outside ``1..content``.
    """
    size = content_size(window, n_special)
    step = step if step is not None else default_step(window, n_special)
    if not 1 <= step <= size:
        raise ConfigError(
            "E077",
            f"window step {step} must be between 1 and the window's {size} content tokens ({window} minus "
            f"{n_special} special tokens); a larger step would skip tokens",
        )
    if n_tokens <= size:
        return [Window(0, n_tokens)]
    windows = []
    start = 0
    while start + size < n_tokens:
        windows.append(Window(start, start + size))
        start += step
    windows.append(Window(n_tokens - size, n_tokens))
    return windows


def best_window_per_token(n_tokens: int, windows: Sequence[Window]) -> np.ndarray:
    """Per token, the index of the window where it has the most context (earliest on ties).

    Raises:
        ModelError: ``E078`` naming the first token no window covers.
    """
    best = np.full(n_tokens, -1, dtype=np.int64)
    best_context = np.full(n_tokens, -1, dtype=np.int64)
    for w, win in enumerate(windows):
        positions = np.arange(win.start, win.end)
        context = np.minimum(positions - win.start, win.end - 1 - positions)
        better = context > best_context[win.start : win.end]
        best[win.start : win.end][better] = w
        best_context[win.start : win.end][better] = context[better]
    missing = np.flatnonzero(best < 0)
    if missing.size:
        raise ModelError("E078", f"token {int(missing[0])} of {n_tokens} is in no window; windows must cover "
                         "every token", Location(offset=None))
    return best


def merge_window_scores(n_tokens: int, windows: Sequence[Window], window_scores: Sequence[np.ndarray]
                        ) -> np.ndarray:
    """Per-token scores for the whole text from per-window scores of the windows' content tokens.

    Args:
        n_tokens: content tokens of the text.
        windows: the windows, as planned by :func:`plan_windows`.
        window_scores: per window, an array of shape ``(len(window), labels)`` — content tokens only
            (drop the special-token rows first, e.g. with :func:`content_rows`).
    """
    if len(windows) != len(window_scores):
        raise ModelError("E078", f"{len(windows)} windows but {len(window_scores)} score arrays")
    if n_tokens == 0:
        width = np.asarray(window_scores[0]).shape[1] if window_scores else 0
        return np.zeros((0, width), dtype=np.float64)
    arrays = [np.asarray(s, dtype=np.float64) for s in window_scores]
    for win, arr in zip(windows, arrays, strict=True):
        if arr.ndim != 2 or arr.shape[0] != len(win):
            raise ModelError("E078", f"window [{win.start}, {win.end}) has {len(win)} content tokens but "
                             f"scores of shape {arr.shape}")
    best = best_window_per_token(n_tokens, windows)
    out = np.empty((n_tokens, arrays[0].shape[1]), dtype=np.float64)
    for w, (win, arr) in enumerate(zip(windows, arrays, strict=True)):
        chosen = np.flatnonzero(best[win.start : win.end] == w)
        out[win.start + chosen] = arr[chosen]
    return out


def content_rows(scores: np.ndarray, special: SpecialTokens, n_content: int) -> np.ndarray:
    """The rows of a window's model output that belong to its content tokens (special rows dropped)."""
    scores = np.asarray(scores)
    start = len(special.prefix)
    if scores.shape[0] < start + n_content:
        raise ModelError("E078", f"model output has {scores.shape[0]} positions; expected at least "
                         f"{start + n_content} ({len(special.prefix)} special + {n_content} content)")
    return scores[start : start + n_content]
