"""EDA's word-level edits (Wei and Zou 2019) on a text cut into words: swap, delete, insert.

A text is the list of its jieba words, whitespace and punctuation included, so that joining
the list gives the text back. Only words with a letter or a digit in them (any script, so
Chinese words count) are moved, dropped, copied or masked; punctuation and spaces stay where
they are. Each edit changes ``words_to_change`` words: max(1, alpha x the number of words),
as EDA's n = max(1, int(alpha * len(words))), so that every augmentation differs from its
original wherever the text allows it.

EDA's insertion adds a synonym of a word of the sentence (from WordNet). No Chinese synonym
dictionary ships with the project, so ``random_insertion`` inserts a copy of one of the
text's own words; ``mlm`` (curation.mlm_fill) is the method that brings in new words, chosen
by a masked language model from the context.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

Words = list[str]
WordEdit = Callable[[Sequence[str], float, random.Random], Words]


def is_word(token: str) -> bool:
    """A token an edit may touch: it holds a letter or a digit (CJK characters are letters)."""
    return any(char.isalnum() for char in token)


def word_positions(words: Sequence[str]) -> list[int]:
    """The indices of the editable words of ``words``, in order."""
    return [index for index, token in enumerate(words) if is_word(token)]


def words_to_change(num_words: int, alpha: float) -> int:
    """max(1, int(alpha * num_words)); the tiny epsilon keeps 0.3 * 10 from flooring to 2."""
    return max(1, int(alpha * num_words + 1e-9))


def random_swap(words: Sequence[str], alpha: float, rng: random.Random) -> Words:
    """Swaps two different editable words, ``words_to_change`` times."""
    out = list(words)
    positions = word_positions(out)
    if len(positions) < 2:
        return out
    for _ in range(words_to_change(len(positions), alpha)):
        first, second = rng.sample(positions, 2)
        out[first], out[second] = out[second], out[first]
    return out


def random_deletion(words: Sequence[str], alpha: float, rng: random.Random) -> Words:
    """Drops each editable word with probability ``alpha``; at least one is dropped and at
    least one kept (a text of one word stays as it is)."""
    positions = word_positions(words)
    if len(positions) < 2:
        return list(words)
    dropped = {index for index in positions if rng.random() < alpha}
    if not dropped:
        dropped = {rng.choice(positions)}
    elif len(dropped) == len(positions):
        dropped.discard(rng.choice(positions))
    return [token for index, token in enumerate(words) if index not in dropped]


def random_insertion(words: Sequence[str], alpha: float, rng: random.Random) -> Words:
    """Inserts a copy of a random editable word at a random place, ``words_to_change`` times
    (a copy of one of the text's own words: see the module doc)."""
    out = list(words)
    positions = word_positions(out)
    if not positions:
        return out
    for _ in range(words_to_change(len(positions), alpha)):
        copied = out[rng.choice(word_positions(out))]
        out.insert(rng.randrange(len(out) + 1), copied)
    return out


def choose_masked_words(
    words: Sequence[str], alpha: float, rng: random.Random, maskable: Sequence[int]
) -> list[int]:
    """The positions of the words a masked LM refills, in order: ``words_to_change`` of the
    text's editable words, drawn from ``maskable`` (those the model can see)."""
    count = min(words_to_change(len(word_positions(words)), alpha), len(maskable))
    return sorted(rng.sample(list(maskable), count))


WORD_EDITS: dict[str, WordEdit] = {
    "swap": random_swap,
    "delete": random_deletion,
    "insert": random_insertion,
}
