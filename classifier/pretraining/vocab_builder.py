"""A Chinese WordPiece vocab built from a corpus, laid out like Google's Chinese vocab.txt.

Google's layout: [PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK], <S>, <T>, then the tokens.
The tokens here: every CJK character the corpus contains (the tokenizer splits CJK text into
single characters, so these are the Chinese vocabulary), every other character seen, as a
word start and as a "##" continuation (so that any word can be spelt out and nothing becomes
[UNK] that the corpus holds), then, while the size allows, the most frequent whole words of
the other scripts (Latin words, digit runs) and their most frequent "##" endings. Counting
uses the same basic tokenization (lower-casing, accent stripping) that training will apply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from classifier.text.basic import BasicTokenizer
from classifier.text.chars import is_chinese_char

SPECIAL_TOKENS = (
    "[PAD]",
    *(f"[unused{i}]" for i in range(1, 100)),
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "<S>",
    "<T>",
)


class VocabSizeError(ValueError):
    """The requested size cannot hold what the corpus needs."""


def count_words(texts: Iterable[str], do_lower_case: bool = True) -> Counter[str]:
    """Basic-tokenizer words (CJK characters and punctuation marks are words of their own)."""
    tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenizer.tokenize(text))
    return counts


def build_vocab(
    word_counts: Counter[str], vocab_size: int, min_frequency: int = 2, max_piece_chars: int = 8
) -> list[str]:
    """The vocab (see the module doc); VocabSizeError if the characters alone do not fit."""
    cjk: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    continuations: Counter[str] = Counter()
    for word, count in word_counts.items():
        if len(word) == 1 and is_chinese_char(ord(word)):
            cjk[word] += count
            continue
        for index, char in enumerate(word):
            chars[char] += count
            if index:
                continuations[char] += count
    tokens: list[str] = list(SPECIAL_TOKENS)
    tokens += sorted(chars, key=lambda c: (-chars[c], c))
    tokens += [c for c, _ in sorted(cjk.items(), key=lambda kv: (-kv[1], kv[0]))]
    tokens += [f"##{c}" for c in sorted(continuations, key=lambda c: (-continuations[c], c))]
    tokens = list(dict.fromkeys(tokens))
    if len(tokens) > vocab_size:
        raise VocabSizeError(
            f"--vocab_size {vocab_size} is too small: the special tokens and the {len(cjk)} CJK "
            f"and {len(chars)} other characters of the corpus need {len(tokens)}"
        )

    # Whole words and endings of the non-CJK words, by how many tokens they save.
    candidates: Counter[str] = Counter()
    for word, count in word_counts.items():
        if count < min_frequency or len(word) < 2 or is_chinese_char(ord(word[0])):
            continue
        if len(word) <= max_piece_chars:
            candidates[word] += count * (len(word) - 1)
        for start in range(1, len(word) - 1):
            piece = word[start:]
            if len(piece) <= max_piece_chars:
                candidates[f"##{piece}"] += count * (len(piece) - 1)
    present = set(tokens)
    for piece, _ in sorted(candidates.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(tokens) >= vocab_size:
            break
        if piece not in present:
            tokens.append(piece)
            present.add(piece)
    return tokens
