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
size. Under greedy decoding :class:`MarkerConstraint` first checks the model's own choice and walks the trie
only when that choice is not allowed — a trained model copies, so most steps cost one table lookup.

If generation stops before the answer is complete (the token budget ran out, or the vocabulary cannot spell
the next byte), :meth:`CopyAutomaton.completion` finishes it: the rest of the sentence, escaped, and ``##``
if a concept is open. So every answer reads back to the sentence exactly.
"""

from __future__ import annotations

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


class CopyAutomaton:
    """The outputs that read back to ``sentence`` (see the module docstring), over a token vocabulary."""

    def __init__(self, sentence: str, table: TokenTable, trie: TokenTrie) -> None:
        self.source = sentence.encode("utf-8")
        self.table = table
        self.trie = trie

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
        """The state after ``token``, or ``None`` when it is not allowed there."""
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
            state = self.step(state, byte)  # type: ignore[assignment]
            if state is None or not self.viable(state):
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
        children, tokens, source = self.trie.children, self.trie.tokens, self.source
        stack = [(node, state)]
        while stack:
            node, state = stack.pop()
            here = tokens[node]
            if here:
                found.extend(here if keep is None else [t for t in here if keep(t)])
            kids = children[node]
            if not kids:
                continue
            pos = state[0]
            candidates = set(_ALWAYS)
            candidates.update(source[pos : pos + 2])
            for byte in candidates:
                child = kids.get(byte)
                if child is None:
                    continue
                after = self.step(state, byte)
                if after is not None and self.viable(after):
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

    The state of each row is cached with the tokens that led to it; a call whose tokens share a prefix with
    the cached ones (the usual case; prompt-lookup decoding rolls rejected drafts back) resumes from there.
    Rows that have ended (an EOS among their tokens) or whose tokens are not allowed (unverified draft
    tokens of assisted decoding, which are discarded anyway) are left alone.
    """

    def __init__(self, automata: Sequence[CopyAutomaton], prompt_length: int, *, num_beams: int = 1,
                 greedy: bool = True) -> None:
        self.automata = list(automata)
        self.prompt_length = prompt_length
        self.num_beams = num_beams
        self.greedy = greedy
        self._cache: dict[int, tuple[list[int], list[State]]] = {}

    def state(self, row: int, generated: list[int]) -> State | None:
        automaton = self.automata[row // self.num_beams]
        tokens, states = self._cache.setdefault(row, ([], [automaton.start]))
        k = len(tokens)
        if generated[:k] != tokens:
            k = 0
            while k < len(tokens) and k < len(generated) and tokens[k] == generated[k]:
                k += 1
            del tokens[k:]
            del states[k + 1 :]
        for token in generated[k:]:
            after = automaton.advance(states[-1], token)
            if after is None:
                return None
            tokens.append(token)
            states.append(after)
        return states[-1]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        eos = self.automata[0].table.eos_ids if self.automata else frozenset()
        generated = input_ids[:, self.prompt_length :].tolist()
        best = scores.argmax(dim=-1).tolist() if self.greedy else None
        masked = None
        for row, tokens in enumerate(generated):
            if any(t in eos for t in tokens):
                continue
            state = self.state(row, tokens)
            if state is None:
                continue
            automaton = self.automata[row // self.num_beams]
            if best is not None:
                choice = best[row]
                if choice in eos:
                    if automaton.accepts(state):
                        continue
                elif automaton.advance(state, choice) is not None:
                    continue
            allowed = automaton.allowed(state)
            if automaton.accepts(state) or not allowed:  # nothing spellable: end here, completion finishes
                allowed.extend(eos)
            if masked is None:
                masked = scores.clone()
            keep = masked[row, allowed].clone()
            masked[row] = -torch.inf
            masked[row, allowed] = keep
        return scores if masked is None else masked


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
