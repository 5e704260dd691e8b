"""Constrained decoding: token tables, the copy automaton, and generation that cannot leave the sentence."""

from __future__ import annotations

import inspect
import unicodedata

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus.inline import mark_document, parse_marked
from eccr.corpus.types import Document, Span
from eccr.errors import ModelError
from eccr.models.instruction.constrained import CopyConstraint, MarkerConstraint
from eccr.models.instruction.generation import GenerationSettings, generate
from eccr.pretrain.tokenizer import load_tokenizer

#: Characters every fixture tokenizer writes back unchanged (NFKC-stable), markers and escapes included.
ALPHABET = "発熱咳嗽頭痛をと認めた。、 \nabc@#\\"
SAMPLES = ["発熱と咳嗽を認めた。", " 先頭に空白", "@@x##\\@ #", "ＣＴで胸水貯留を指摘", "a\nb\r\nc", "##"]


@pytest.fixture(scope="module", params=["bpe", "unigram"])
def tokenizer(request, bpe_decoder_tokenizer_dir, unigram_decoder_tokenizer_dir):
    directory = bpe_decoder_tokenizer_dir if request.param == "bpe" else unigram_decoder_tokenizer_dir
    return load_tokenizer(directory)


@pytest.fixture(scope="module")
def constraint(tokenizer):
    return CopyConstraint(tokenizer)


@st.composite
def marked_sentences(draw) -> Document:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=25))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6, unique=True)))
    return Document("s", text, [Span(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b])


# --- token tables -----------------------------------------------------------------------------------------
def test_token_table_decodes_exactly_like_the_tokenizer(tokenizer, constraint):
    constraint.check(SAMPLES)  # raises E102 on any difference
    ids = tokenizer(" 先頭", add_special_tokens=False)["input_ids"]
    assert constraint.table.decode(ids) == tokenizer.decode(ids)
    assert constraint.table.eos_ids == {tokenizer.eos_token_id}
    assert all(constraint.table.pieces[i] is None for i in tokenizer.all_special_ids)


def test_sentencepiece_style_first_token_space_is_modelled():
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    tok = train_unigram_tokenizer(["発熱 咳嗽 頭痛"] * 20, vocab_size=300, byte_fallback=True, role="decoder")
    table = CopyConstraint(tok).table
    ids = tok("発熱 咳嗽", add_special_tokens=False)["input_ids"]
    # "▁発熱" is written "発熱" when it comes first
    assert table.pieces[ids[0]].startswith(b" ") and ids[0] in table.strippable
    assert table.decode(ids) == tok.decode(ids) == "発熱 咳嗽"


def test_a_tokenizer_eccr_cannot_model_is_refused(char_tokenizer_dir):
    tok = load_tokenizer(char_tokenizer_dir)  # WordLevel without a decoder: tokens are joined with spaces
    tok.eos_token = "[SEP]"
    with pytest.raises(ModelError, match="E102"):
        CopyConstraint(tok).check(["発熱"])


# --- the automaton --------------------------------------------------------------------------------------
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=marked_sentences())
def test_every_answer_the_inline_writer_produces_is_allowed(tokenizer, constraint, doc):
    if unicodedata.normalize("NFKC", doc.text) != doc.text:
        return
    answer = mark_document(doc, line_layout=False)
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if constraint.table.decode(ids) != answer:
        return  # this tokenizer cannot even spell the answer (e.g. the Unigram one drops a leading space)
    automaton = constraint.automaton(doc.text)
    state = automaton.run(ids)
    assert state is not None and automaton.accepts(state)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=marked_sentences(), data=st.data())
def test_every_path_through_the_allowed_tokens_reads_back_to_the_sentence(constraint, doc, data):
    automaton = constraint.automaton(doc.text)
    state, ids = automaton.start, []
    for _ in range(60):
        allowed = automaton.allowed(state)
        if not allowed or (automaton.accepts(state) and data.draw(st.booleans())):
            break
        token = data.draw(st.sampled_from(allowed))
        state = automaton.advance(state, token)
        assert state is not None and automaton.viable(state)
        ids.append(token)
    raw = constraint.table.decode_bytes(ids) + automaton.completion(state)
    text, _ = parse_marked(raw.decode("utf-8"))  # strict: raises on any unbalanced or empty marker
    assert text == doc.text


def test_eos_is_allowed_only_when_the_sentence_is_complete_and_no_concept_is_open(constraint):
    automaton = constraint.automaton("発熱")
    tok = constraint.tokenizer
    at = tok("@@", add_special_tokens=False)["input_ids"]
    state = automaton.run(at)
    assert state is not None and not automaton.accepts(state)
    state = automaton.run(tok("@@発熱", add_special_tokens=False)["input_ids"])
    assert state is not None and not automaton.accepts(state)
    assert automaton.completion(state) == b"##"
    assert automaton.accepts(automaton.run(tok("@@発熱##", add_special_tokens=False)["input_ids"]))
    assert automaton.run(tok("発熱 ", add_special_tokens=False)["input_ids"]) is None  # no extra text
    assert automaton.run(tok("@@##発熱", add_special_tokens=False)["input_ids"]) is None  # no empty concept


# --- generation with random weights ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def random_decoder(tiny_causal_lm_dir, tokenizer):
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    kind = "bpe" if type(tokenizer.backend_tokenizer.model).__name__ == "BPE" else "unigram"
    config = AutoConfig.from_pretrained(tiny_causal_lm_dir("llama", kind))
    return AutoModelForCausalLM.from_config(config).eval()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=12), min_size=1, max_size=4))
def test_constrained_generation_with_random_weights_always_returns_the_sentence(
    random_decoder, tokenizer, constraint, sentences
):
    run = generate(random_decoder, tokenizer, [f"入力:{s}\n応答:" for s in sentences], sentences,
                   GenerationSettings(batch_size=3, constrained=True, factor=1.0, extra=4), constraint)
    for sentence, answer in zip(sentences, run.answers, strict=True):
        text, _ = parse_marked(answer.text)  # the answer's tokens were all re-checked by the automaton
        assert text == sentence


def test_constrained_beam_search_and_prompt_lookup_stay_faithful(random_decoder, tokenizer, constraint):
    sentences = ["発熱と咳嗽を認めた。", "@#\\"]
    prompts = [f"入力:{s}\n応答:" for s in sentences]
    for settings_ in (GenerationSettings(num_beams=2, constrained=True), GenerationSettings(
            prompt_lookup=3, constrained=True)):
        run = generate(random_decoder, tokenizer, prompts, sentences, settings_, constraint)
        assert [parse_marked(a.text)[0] for a in run.answers] == sentences


def _random_path(automaton, data, steps: int) -> list[int]:
    state, ids = automaton.start, []
    for _ in range(steps):
        allowed = automaton.allowed(state)
        if not allowed:
            break
        ids.append(data.draw(st.sampled_from(sorted(allowed))))
        state = automaton.advance(state, ids[-1])
    return ids


def _full_mask(constraint, sentence: str, generated: list[int], scores: torch.Tensor) -> torch.Tensor:
    """The reference: a fresh automaton, every token but the allowed ones set to -inf."""
    automaton = constraint.automaton(sentence)
    state = automaton.run(generated)
    if state is None:
        return scores
    allowed = automaton.allowed(state)
    if automaton.accepts(state) or not allowed:
        allowed += sorted(constraint.table.eos_ids)
    expected = torch.full_like(scores, -torch.inf)
    expected[allowed] = scores[allowed]
    return expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(marked_sentences(), min_size=2, max_size=2), data=st.data())
def test_the_processors_caches_give_exactly_the_full_mask_in_any_call_order(constraint, docs, data):
    """Prefixes in any order (assisted decoding verifies drafts position by position and rolls rejected
    ones back), stray tokens included: every row's scores equal a fresh full mask; greedy: the same choice."""
    automata = [constraint.automaton(d.text) for d in docs]
    paths = [_random_path(a, data, 12) for a in automata]
    vocab = len(constraint.table.pieces)
    processors = {g: MarkerConstraint(automata, prompt_length=1, greedy=g) for g in (False, True)}
    for _ in range(data.draw(st.integers(1, 12))):
        k = data.draw(st.integers(0, min(len(p) for p in paths)))
        rows = [p[:k] for p in paths]
        if k and data.draw(st.booleans()):
            rows[data.draw(st.integers(0, 1))][-1] = data.draw(st.integers(0, vocab - 1))
        input_ids = torch.tensor([[0, *r] for r in rows])
        scores = torch.randn(2, vocab)
        expected = torch.stack([_full_mask(constraint, d.text, r, s) for d, r, s in zip(docs, rows, scores,
                                                                                           strict=True)])
        assert torch.equal(processors[False](input_ids, scores), expected)
        greedy = processors[True](input_ids, scores)
        assert torch.equal(greedy.argmax(dim=-1), expected.argmax(dim=-1))


def test_the_processor_takes_no_keyword_arguments_and_its_signature_is_precomputed(constraint):
    processor = MarkerConstraint([constraint.automaton("発熱")], prompt_length=1)
    assert list(inspect.signature(processor.__call__).parameters) == ["input_ids", "scores"]
    assert "__signature__" in vars(MarkerConstraint.__call__)  # LogitsProcessorList inspects it every call


def test_the_processor_masks_only_when_the_best_token_is_not_allowed(constraint):
    automaton = constraint.automaton("発熱")
    processor = MarkerConstraint([automaton], prompt_length=1)
    vocab = len(constraint.table.pieces)
    good = constraint.tokenizer("発熱", add_special_tokens=False)["input_ids"][0]
    scores = torch.zeros(1, vocab)
    scores[0, good] = 5.0
    assert processor(torch.tensor([[0]]), scores) is scores  # the model's choice is allowed: untouched
    bad = constraint.tokenizer("咳", add_special_tokens=False)["input_ids"][-1]
    scores = torch.zeros(1, vocab)
    scores[0, bad] = 5.0
    masked = processor(torch.tensor([[0]]), scores)
    allowed = set(automaton.allowed(automaton.start))
    assert int(masked.argmax()) in allowed and torch.isinf(masked[0, bad])
    assert {i for i in range(vocab) if torch.isfinite(masked[0, i])} == allowed
