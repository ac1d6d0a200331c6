"""WordPiece tokens with the word each belongs to: what whole-word masking masks together.

Chinese-BERT-wwm (Cui et al. 2019) masks every character of a chosen word, words coming from a
segmenter (LTP there, jieba here). The text is tokenized as a whole, exactly as fine-tuning will
tokenize it; the segmenter's words only group the tokens afterwards. A CJK character token
belongs to the jieba word that contains that character; a "##" WordPiece continues the word of
the token before it (whole-word masking of English words, as google-research/bert does); any
other token (a Latin word, a digit run, punctuation, [UNK]) starts a word of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifier.jieba_import import quiet_jieba
from classifier.text.chars import is_chinese_char
from classifier.text.tokenizer import FullTokenizer

WHOLE_WORD = "whole_word"
TOKEN = "token"
MASKING_MODES = (WHOLE_WORD, TOKEN)


class JiebaSegmenter:
    """jieba's default (accurate) mode, with an optional user dictionary."""

    def __init__(self, user_dict: str | None = None) -> None:
        self._jieba = quiet_jieba().Tokenizer()
        if user_dict:
            self._jieba.load_userdict(user_dict)

    def words(self, text: str) -> list[str]:
        return self._jieba.lcut(text, HMM=True)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) of every word, the characters [start, end) of ``text``."""
        return [(word, start, end) for word, start, end in self._jieba.tokenize(text, HMM=True)]


class WordPieceWords:
    """``encode(sentence)`` -> (token ids, word index of each token, counted from 0)."""

    def __init__(self, tokenizer: FullTokenizer, masking: str = WHOLE_WORD, user_dict=None):
        if masking not in MASKING_MODES:
            raise ValueError(f"masking must be one of {MASKING_MODES}, got {masking!r}")
        self.tokenizer = tokenizer
        self.masking = masking
        self.segmenter = JiebaSegmenter(user_dict) if masking == WHOLE_WORD else None

    def encode(self, sentence: str) -> tuple[list[int], list[int]]:
        tokens = self.tokenizer.tokenize(sentence)
        ids = self.tokenizer.convert_tokens_to_ids(tokens)
        if self.segmenter is None:
            return ids, list(range(len(tokens)))
        return ids, word_indices(tokens, sentence, self.segmenter.words(sentence))


def word_indices(tokens: Sequence[str], sentence: str, words: Sequence[str]) -> list[int]:
    """The word of each token (0, 1, ... in order of first appearance); see the module doc."""
    char_word: list[int] = []
    for index, word in enumerate(words):
        char_word.extend([index] * len(word))
    if len(char_word) != len(sentence):  # the segmenter must cover the text exactly
        raise ValueError("segmenter words do not cover the sentence")
    raw: list[tuple[str, int]] = []  # ("w", jieba word) or ("t", token position)
    cursor = 0
    for position, token in enumerate(tokens):
        if token.startswith("##") and raw:
            raw.append(raw[-1])
            continue
        if len(token) == 1 and is_chinese_char(ord(token)):
            found = sentence.find(token, cursor)
            if found >= 0:
                cursor = found + 1
                raw.append(("w", char_word[found]))
                continue
        raw.append(("t", position))
    numbering: dict[tuple[str, int], int] = {}
    return [numbering.setdefault(key, len(numbering)) for key in raw]
