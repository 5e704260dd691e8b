r"""Constrained decoding: the model can only write the sentence back, with balanced ``@@…##`` markers.

The set of allowed outputs for a sentence is exactly the set of strings that the inline format's strict
reader (:func:`eccr.corpus.inline.parse_marked`) reads back to *that sentence* with non-empty, non-nested
concepts: the sentence copied in order, ``@@`` opening a concept where none is open, ``##`` closing a
non-empty one, and the escapes ``\\ \@ \# \n \r`` for characters of the sentence. The end of the answer
(EOS) is allowed only when the whole sentence has been written and no concept is open.

:class:`CopyAutomaton` recognises these outputs byte by byte (UTF-8; markers and escapes are ASCII and are
allowed only between characters, so the output is valid UTF-8 and bytes and characters agree). Its state is
``(pos, mode, pending, started)``: bytes of the sentence written so far; outside / in an empty / in a
non-empty concept; a ``@``, ``#`` or ``\`` read whose meaning depends on the next byte; whether a token has
been generated yet (for tokenizers that drop a first token's leading space). Every state the decoder may
enter is *viable* — some continuation still reaches the end — so it can never paint itself into a corner.

Per step, :meth:`CopyAutomaton.allowed` walks the vocabulary trie (:class:`~eccr.models.instruction.
vocabulary.TokenTrie`) only along bytes the state accepts: the next one or two bytes of the sentence and
the marker/escape bytes, so the cost depends on the length of the matching tokens, not on the vocabulary
size. Under greedy decoding :class:`MarkerConstraint` first checks the model's own choice and masks only
when that choice is not allowed — a trained model copies, so most steps cost one table lookup. Token and
byte transitions are memoised per automaton and each state's allowed ids are computed once: assisted
(prompt-lookup) decoding asks about the same states many times — once per draft token when it proposes
drafts (with constant scores, so always a full mask) and once per position when it verifies them.

If generation stops before the answer is complete (the token budget ran out, or the vocabulary cannot spell
the next byte), :meth:`CopyAutomaton.completion` finishes it: the rest of the sentence, escaped, and ``##``
if a concept is open. So every answer reads back to the sentence exactly.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from eccr.corpus.inline import ESCAPES
from eccr.models.instruction.vocabulary import TokenTable, TokenTrie, token_table

OUT, OPEN_EMPTY, OPEN_FULL = 0, 1, 2
NONE = -1
BACKSLASH, AT, HASH = ord("\\"), ord("@"), ord("#")
#: escape letter byte -> the byte it stands for (from the inline format's one escape table)
ESCAPE_BYTES: dict[int, int] = {ord(k): ord(v) for k, v in ESCAPES.items()}
#: a sentence byte -> the escape letter that writes it
ESCAPE_LETTERS: dict[int, int] = {v: k for k, v in ESCAPE_BYTES.items()}
_SPECIAL = (BACKSLASH, AT, HASH)
_ALWAYS = (*_SPECIAL, ord("n"), ord("r"))

State = tuple[int, int, int, bool]
_UNSEEN: Any = object()  # a memo's "not computed yet" (None means "not allowed")


class CopyAutomaton:
    """The outputs that read back to ``sentence`` (see the module docstring), over a token vocabulary."""

    def __init__(self, sentence: str, table: TokenTable, trie: TokenTrie) -> None:
        self.source = sentence.encode("utf-8")
        self.table = table
        self.trie = trie
        #: memos: (state, byte) -> viable state or None; (state, token) -> state or None
        self._moves: dict[tuple[State, int], State | None] = {}
        self._next: dict[tuple[State, int], State | None] = {}
        #: per position of the sentence, the bytes a state there may accept (see :meth:`_walk`)
        self._bytes_at = [tuple({*_ALWAYS, *self.source[p : p + 2]}) for p in range(len(self.source) + 1)]

    @property
    def start(self) -> State:
        return (0, OUT, NONE, False)

    # --- bytes ---------------------------------------------------------------------------------------
    def _literal(self, pos: int, mode: int, byte: int, started: bool) -> State | None:
        if pos < len(self.source) and self.source[pos] == byte:
            return (pos + 1, OPEN_FULL if mode == OPEN_EMPTY else mode, NONE, started)
        return None

    def step(self, state: State, byte: int) -> State | None:
        """The state after one more output byte, or ``None`` when the output can no longer be valid."""
        pos, mode, pending, started = state
        if pending == NONE:
            if byte in _SPECIAL:  # markers and escapes only between characters, never inside one
                continuation = pos < len(self.source) and self.source[pos] & 0xC0 == 0x80
                return None if continuation else (pos, mode, byte, started)
            return self._literal(pos, mode, byte, started)
        if pending == BACKSLASH:
            meant = ESCAPE_BYTES.get(byte)
            return None if meant is None else self._literal(pos, mode, meant, started)
        if byte == pending:  # "@@" opens, "##" closes
            if pending == AT:
                return (pos, OPEN_EMPTY, NONE, started) if mode == OUT and pos < len(self.source) else None
            return (pos, OUT, NONE, started) if mode == OPEN_FULL else None
        after = self._literal(pos, mode, pending, started)  # the pending @ or # was a literal character
        return None if after is None else self.step(after, byte)

    def move(self, state: State, byte: int) -> State | None:
        """:meth:`step`, kept only when the state it enters is :meth:`viable` (memoised)."""
        key = (state, byte)
        after = self._moves.get(key, _UNSEEN)
        if after is _UNSEEN:
            after = self.step(state, byte)
            if after is not None and not self.viable(after):
                after = None
            self._moves[key] = after
        return after  # type: ignore[return-value]

    def viable(self, state: State) -> bool:
        """Whether some continuation of ``state`` is a complete, valid output."""
        pos, mode, pending, _ = state
        more = pos < len(self.source)
        if pending == NONE:
            return more or mode != OPEN_EMPTY
        if pending == BACKSLASH:
            return more and self.source[pos] in ESCAPE_LETTERS
        if pending == AT:
            return more and (mode == OUT or self.source[pos] == AT)
        if mode == OPEN_FULL:
            return True  # "#" closes
        # a literal "#" must not be followed by "#" (that would read as "##"): so something else must follow
        return more and self.source[pos] == HASH and (pos + 1 < len(self.source) or mode == OUT)

    def accepts(self, state: State) -> bool:
        """Whether the output may end here (the whole sentence written, no concept open)."""
        pos, mode, pending, _ = state
        n = len(self.source)
        if pending == NONE:
            return pos == n and mode == OUT
        if pending in (AT, HASH):  # a final single @ or # is a literal character
            return mode == OUT and pos == n - 1 and self.source[pos] == pending
        return False

    # --- tokens --------------------------------------------------------------------------------------
    def advance(self, state: State, token: int) -> State | None:
        """The state after ``token``, or ``None`` when it is not allowed there (memoised per state and token:
        assisted decoding checks the same draft tokens from the same states again and again)."""
        key = (state, token)
        after = self._next.get(key, _UNSEEN)
        if after is _UNSEEN:
            after = self._next[key] = self._advance(state, token)
        return after  # type: ignore[return-value]

    def _advance(self, state: State, token: int) -> State | None:
        pieces = self.table.pieces
        piece = pieces[token] if 0 <= token < len(pieces) else None
        if not piece:
            return None
        pos, mode, pending, started = state
        if not started:
            state = (pos, mode, pending, True)
            if token in self.table.strippable:
                piece = piece[1:]
        for byte in piece:
            state = self.move(state, byte)  # type: ignore[assignment]
            if state is None:
                return None
        return state

    def allowed(self, state: State) -> list[int]:
        """Token ids allowed after ``state`` (EOS not included: see :meth:`accepts`)."""
        found: list[int] = []
        pos, mode, pending, started = state
        if started:
            self._walk(0, state, found, None)
            return found
        state = (pos, mode, pending, True)
        strippable = self.table.strippable
        self._walk(0, state, found, lambda t: t not in strippable)
        space = self.trie.children[0].get(0x20)
        if space is not None:  # a strippable first token's leading space writes nothing
            self._walk(space, state, found, lambda t: t in strippable)
        return found

    def _walk(self, node: int, state: State, found: list[int], keep: Any) -> None:
        """Collect the tokens below trie ``node`` whose bytes :meth:`move` accepts from ``state``.

        Only the bytes a state can accept are tried: the next two bytes of the sentence (a character, or the
        character after a pending ``@``/``#``) and the marker and escape bytes.
        """
        children, tokens, bytes_at, move = self.trie.children, self.trie.tokens, self._bytes_at, self.move
        stack = [(node, state)]
        while stack:
            node, state = stack.pop()
            here = tokens[node]
            if here:
                found.extend(here if keep is None else [t for t in here if keep(t)])
            kids = children[node]
            if not kids:
                continue
            for byte in bytes_at[state[0]]:
                child = kids.get(byte)
                if child is not None:
                    after = move(state, byte)
                    if after is not None:
                        stack.append((child, after))

    def completion(self, state: State) -> bytes:
        """The bytes that finish a valid output from ``state`` (empty when it may already end)."""
        pos, mode, pending, _ = state
        out = bytearray()
        source = self.source
        if pending == BACKSLASH:
            out.append(ESCAPE_LETTERS[source[pos]])
            pos, mode = pos + 1, (OPEN_FULL if mode == OPEN_EMPTY else mode)
        elif pending == AT and (pos >= len(source) or source[pos] != AT):
            out.append(AT)  # completes "@@": a concept opens
            mode = OPEN_EMPTY
        elif pending == HASH and mode == OPEN_FULL:
            out.append(HASH)  # completes "##"
            mode = OUT
        elif pending in (AT, HASH):  # it was a literal character of the sentence
            pos, mode = pos + 1, (OPEN_FULL if mode == OPEN_EMPTY else mode)
        for byte in source[pos:]:
            if byte in _SPECIAL:
                out.append(BACKSLASH)
            out.append(byte)
        if mode != OUT:
            out += b"##"
        return bytes(out)

    def run(self, ids: Sequence[int]) -> State | None:
        """The state after the tokens ``ids`` from the start (``None`` if they are not allowed)."""
        state: State | None = self.start
        for token in ids:
            state = self.advance(state, token)
            if state is None:
                return None
        return state


class MarkerConstraint:
    """A ``transformers`` logits processor that allows only tokens :class:`CopyAutomaton` accepts.

    Args:
        automata: one automaton per input row (a row's beams share it).
        prompt_length: length of the (left-padded) prompt; generated tokens start there.
        num_beams: beams per input row.
        greedy: under greedy search, keep the scores untouched when the model's best token is allowed
            (same result as masking, at a fraction of the cost).

    A row's scores are masked to the tokens allowed after its generated tokens (EOS too when the answer may
    end, or when nothing is spellable: the completion finishes the answer). Rows that have ended (EOS or
    padding among their tokens) or whose tokens are not allowed (unverified draft tokens of assisted
    decoding, which are discarded anyway) are left alone.

    Per-call cost, which assisted decoding pays once per draft position: each row keeps the path of states
    it has walked (:meth:`state`); the allowed ids of a state are computed once, as an index tensor
    (:meth:`allowed_ids`); ``__call__`` takes exactly ``(input_ids, scores)`` and carries a precomputed
    signature, so ``LogitsProcessorList``'s ``inspect.signature`` on every call is a lookup.
    """

    def __init__(self, automata: Sequence[CopyAutomaton], prompt_length: int, *, num_beams: int = 1,
                 greedy: bool = True) -> None:
        self.automata = list(automata)
        self.prompt_length = prompt_length
        self.num_beams = num_beams
        self.greedy = greedy
        self.eos = self.automata[0].table.eos_ids if self.automata else frozenset()
        self._paths: dict[int, tuple[list[int], list[State]]] = {}
        self._allowed: dict[tuple[int, State], Any] = {}

    def state(self, row: int, generated: list[int]) -> State | None:
        """The state after ``generated`` (``None``: not allowed), from the row's cached path.

        The path holds the tokens walked so far and the state after each prefix of them: a prefix of it
        (assisted decoding verifies its drafts one position at a time) is a lookup; tokens that leave it (a
        rejected draft rolled back) are walked from the longest common prefix.
        """
        automaton = self.automata[row // self.num_beams]
        tokens, states = self._paths.setdefault(row, ([], [automaton.start]))
        n = len(generated)
        if n <= len(tokens) and tokens[:n] == generated:
            return states[n]
        k = len(tokens) if generated[: len(tokens)] == tokens else _common_prefix(tokens, generated)
        del tokens[k:]
        del states[k + 1 :]
        state = states[k]
        for token in generated[k:]:
            state = automaton.advance(state, token)  # type: ignore[assignment]
            if state is None:
                return None
            tokens.append(token)
            states.append(state)
        return state

    def allows(self, row: int, state: State, token: int) -> bool:
        """Whether ``token`` may follow ``state`` in ``row`` (EOS: when the answer may end there)."""
        automaton = self.automata[row // self.num_beams]
        if token in self.eos:
            return automaton.accepts(state)
        return automaton.advance(state, token) is not None

    def allowed_ids(self, row: int, state: State, device: Any) -> Any:
        """The ids a masked row keeps after ``state``, as a tensor on ``device`` (computed once per state)."""
        import torch

        index = row // self.num_beams
        key = (index, state)
        ids = self._allowed.get(key)
        if ids is None or ids.device != device:
            automaton = self.automata[index]
            allowed = automaton.allowed(state)
            if automaton.accepts(state) or not allowed:  # nothing spellable: end here, completion finishes
                allowed.extend(self.eos)
            ids = self._allowed[key] = torch.tensor(sorted(allowed), dtype=torch.long, device=device)
        return ids

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        generated = input_ids[:, self.prompt_length :].tolist()
        best = scores.argmax(dim=-1).tolist() if self.greedy else None
        masks = []
        for row, tokens in enumerate(generated):
            state = self.state(row, tokens)
            if state is None or (best is not None and self.allows(row, state, best[row])):
                continue
            masks.append((row, self.allowed_ids(row, state, scores.device)))
        if not masks:
            return scores
        every = len(masks) == len(generated)
        masked = torch.full_like(scores, -torch.inf) if every else scores.clone()
        for row, ids in masks:
            target = masked[row] if every else masked[row].fill_(-torch.inf)
            target.index_copy_(0, ids, scores[row].index_select(0, ids))
        return masked

    __call__.__signature__ = inspect.signature(__call__)  # type: ignore[attr-defined]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    for k, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return k
    return min(len(a), len(b))


class CopyConstraint:
    """What constrained decoding needs for one tokenizer, built once: its token table and trie.

    Raises ``E101``/``E102`` (from :func:`~eccr.models.instruction.vocabulary.token_table`) for a tokenizer
    it cannot model; :meth:`check` verifies the table against the tokenizer on real texts.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.table = token_table(tokenizer)
        self.trie = TokenTrie(self.table)

    def check(self, texts: Sequence[str]) -> None:
        self.table.check(self.tokenizer, texts)

    def automaton(self, sentence: str) -> CopyAutomaton:
        return CopyAutomaton(sentence, self.table, self.trie)
