"""Where each WordPiece token of a text came from: its character span in the original text.

Explanations are read on the text, not on the token list: a token's score is drawn on the
characters it came from, and word scores gather the tokens inside each jieba word. The
tokenizer itself (classifier.text.tokenizer) throws the positions away, so this module walks
the same steps (google-research/bert's clean, whitespace split, lower-casing and accent
stripping, punctuation split, WordPiece) keeping, for every character it keeps, the index it
had in the text. The tokens are checked against ``FullTokenizer.tokenize`` and the function
refuses to guess when they differ.

No TensorFlow: the serving paths use it as they use the Python tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifier.text.chars import (
    is_chinese_char,
    is_dropped,
    is_punctuation,
    is_whitespace,
    strip_accents,
    to_unicode,
)
from classifier.text.tokenizer import FullTokenizer
from classifier.text.vocab import UNK
from classifier.text.wordpiece import SUFFIX_INDICATOR, wordpiece


@dataclass(frozen=True)
class TokenSpan:
    """One WordPiece token and the characters [start, end) of the text it came from."""

    token: str
    start: int
    end: int


# A run of normalised characters, each with the span [start, end) of the text it came from.
_Chars = list[tuple[str, int, int]]


def token_spans(tokenizer: FullTokenizer, text: str | bytes) -> list[TokenSpan]:
    """The tokens of ``tokenizer.tokenize(text)`` with their character spans in ``text``
    (bytes are decoded as the tokenizer decodes them; spans index the decoded string).

    A piece whose characters cannot be told apart (a word whose normalised form differs in
    length from the original, or an [UNK]) gets the span of its whole word.
    """
    text = to_unicode(text)
    spans: list[TokenSpan] = []
    for word in _basic_words(text, tokenizer.do_lower_case):
        spans += _word_pieces(word, tokenizer)
    expected = tokenizer.tokenize(text)
    if [span.token for span in spans] != expected:  # a rule this walk does not know
        raise ValueError("token spans disagree with the tokenizer on this text")
    return spans


def _basic_words(text: str, do_lower_case: bool) -> list[_Chars]:
    """BasicTokenizer.tokenize's words, as runs of (normalised char, original index)."""
    words: list[_Chars] = []
    current: _Chars = []

    def flush() -> None:
        if current:
            words.append(list(current))
            current.clear()

    for index, char in enumerate(text):
        if is_dropped(char):
            continue
        if is_whitespace(char) or char.isspace():  # str.split()'s whitespace splits too
            flush()
        elif is_chinese_char(ord(char)):
            flush()
            words.append([(char, index, index + 1)])
        else:
            current.append((char, index, index + 1))
    flush()
    pieces: list[_Chars] = []
    for word in words:
        if do_lower_case:
            word = _normalised(word)
        pieces += _split_punctuation(word)
    return [piece for piece in pieces if piece]


def _normalised(word: _Chars) -> _Chars:
    """Lower-cased and accent-stripped, character by character; where that differs from
    doing it to the whole word (final sigma), every result character gets the whole word's
    span."""
    out: _Chars = []
    for char, start, end in word:
        out += [(c, start, end) for c in strip_accents(char.lower())]
    whole = strip_accents("".join(c for c, _, _ in word).lower())
    if "".join(c for c, _, _ in out) == whole:
        return out
    start, end = word[0][1], word[-1][2]
    return [(c, start, end) for c in whole]


def _split_punctuation(word: _Chars) -> list[_Chars]:
    pieces: list[_Chars] = []
    current: _Chars = []
    for item in word:
        if item[0].isspace():  # normalisation may produce a space: the join/split re-splits
            if current:
                pieces.append(current)
                current = []
        elif is_punctuation(item[0]):
            if current:
                pieces.append(current)
                current = []
            pieces.append([item])
        else:
            current.append(item)
    if current:
        pieces.append(current)
    return pieces


def _word_pieces(word: _Chars, tokenizer: FullTokenizer) -> list[TokenSpan]:
    chars = "".join(c for c, _, _ in word)
    start, end = word[0][1], word[-1][2]
    pieces = wordpiece(chars, tokenizer.token_to_id, UNK, tokenizer.max_input_chars_per_word)
    if pieces == [UNK]:
        return [TokenSpan(UNK, start, end)]
    spans, offset = [], 0
    for piece in pieces:
        # WordPiece marks every piece after the first with the suffix indicator.
        size = len(piece) - (len(SUFFIX_INDICATOR) if offset > 0 else 0)
        first, last = word[offset][1], word[offset + size - 1][2]
        spans.append(TokenSpan(piece, first, last))
        offset += size
    return spans
