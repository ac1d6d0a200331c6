"""Token spans: every token of FullTokenizer.tokenize with the characters of the text it came
from (what explanations draw on and group into words)."""

from __future__ import annotations

import pytest

from classifier.text.chars import strip_accents
from classifier.text.token_spans import TokenSpan, token_spans
from classifier.text.tokenizer import FullTokenizer
from classifier.text.vocab import build_tiny_chinese_vocab
from tests.test_tokenizer import CORPUS, fuzz_strings

TEXTS = CORPUS + fuzz_strings(1500, seed=3)


@pytest.fixture(scope="module", params=[True, False], ids=["lower", "cased"])
def tokenizer(request) -> FullTokenizer:
    return FullTokenizer(build_tiny_chinese_vocab(extra_texts=TEXTS), do_lower_case=request.param)


def test_tokens_equal_the_tokenizer_and_spans_lie_in_order_inside_the_text(tokenizer):
    for text in TEXTS:
        spans = token_spans(tokenizer, text)
        assert [s.token for s in spans] == tokenizer.tokenize(text), text
        previous_start = 0
        for span in spans:
            assert 0 <= span.start < span.end <= len(text), (text, span)
            assert span.start >= previous_start, (text, spans)
            previous_start = span.start


def test_spans_point_at_the_characters_of_each_token():
    vocab = build_tiny_chinese_vocab(extra_texts=["我爱iPhone手机"]) + ["iphone"]
    tokenizer = FullTokenizer(vocab)
    text = "我爱 iPhone，Café手机"
    spans = token_spans(tokenizer, text)
    assert [text[s.start : s.end] for s in spans] == [
        "我",
        "爱",
        "iPhone",
        "，",
        "Café",
        "手",
        "机",
    ]
    assert spans[4].token == "cafe"  # accents stripped: one token over four characters
    assert spans[2] == TokenSpan("iphone", 3, 9)
    pieces = token_spans(tokenizer, "iPhones")
    assert [(s.token, s.start, s.end) for s in pieces] == [("iphone", 0, 6), ("##s", 6, 7)]


def test_each_known_token_spells_its_characters(tokenizer):
    for text in TEXTS[:200]:
        for span in token_spans(tokenizer, text):
            piece = text[span.start : span.end]
            if tokenizer.do_lower_case:
                piece = strip_accents(piece.lower())
            if span.token != "[UNK]" and len(piece) == len(span.token.removeprefix("##")):
                assert piece == span.token.removeprefix("##"), (text, span)


def test_unknown_words_and_changed_lengths():
    tokenizer = FullTokenizer(build_tiny_chinese_vocab(extra_texts=["ab"]))
    # "İ" lower-cases to "i" plus a combining dot, which accent stripping drops: one character.
    assert [(s.token, s.start, s.end) for s in token_spans(tokenizer, "xİb ab")] == [
        ("x", 0, 1), ("##i", 1, 2), ("##b", 2, 3), ("a", 4, 5), ("##b", 5, 6),
    ]  # fmt: skip
    # Words the vocab cannot spell are one [UNK] over the whole word ("ﬁ" is one character).
    assert token_spans(tokenizer, "ΑΣ ﬁx") == [TokenSpan("[UNK]", 0, 2), TokenSpan("[UNK]", 3, 5)]
    assert token_spans(tokenizer, "\x00\u200b") == []


def test_bytes_are_decoded_as_the_tokenizer_decodes_them():
    tokenizer = FullTokenizer(build_tiny_chinese_vocab(extra_texts=["好"]))
    assert token_spans(tokenizer, "好".encode() + b"\xff") == [TokenSpan("好", 0, 1)]
