"""Packing a document's sentences into training sequences of at most max_seq_length tokens.

As google-research/bert's create_pretraining_data.py (without its next-sentence pairs):
consecutive sentences of one document fill a sequence until the next would overflow it; a
sentence longer than a whole sequence is cut into pieces. Every sequence is [CLS] ... [SEP]
and never mixes documents. Word indices run on across the sentences of a sequence, so that
whole-word masking can tell the words apart; [CLS] and [SEP] belong to no word (-1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NO_WORD = -1


@dataclass(frozen=True)
class Sequence:
    token_ids: list[int]
    word_ids: list[int]


def pack_document(
    sentences: Iterable[tuple[list[int], list[int]]],
    max_seq_length: int,
    cls_id: int,
    sep_id: int,
) -> Iterator[Sequence]:
    """Sequences from one document's encoded sentences ((token ids, word ids) pairs)."""
    budget = max_seq_length - 2
    if budget < 1:
        raise ValueError(f"max_seq_length must be at least 3, got {max_seq_length}")
    ids: list[int] = []
    words: list[int] = []

    def emit() -> Sequence:
        # Renumber words from 0 within the sequence (a cut word keeps one index per part).
        mapping: dict[int, int] = {}
        local = [mapping.setdefault(w, len(mapping)) for w in words]
        return Sequence([cls_id, *ids, sep_id], [NO_WORD, *local, NO_WORD])

    offset = 0  # keeps word indices of different sentences apart
    for sentence_ids, sentence_words in sentences:
        if not sentence_ids:
            continue
        shifted = [w + offset for w in sentence_words]
        offset = max(shifted) + 1
        if ids and len(ids) + len(sentence_ids) > budget:
            yield emit()
            ids, words = [], []
        while len(sentence_ids) > budget:  # a sentence longer than a sequence: cut it
            if ids:
                yield emit()
                ids, words = [], []
            ids, words = sentence_ids[:budget], shifted[:budget]
            yield emit()
            ids, words = [], []
            sentence_ids, shifted = sentence_ids[budget:], shifted[budget:]
        ids += sentence_ids
        words += shifted
    if ids:
        yield emit()
