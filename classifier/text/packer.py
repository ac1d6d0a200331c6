"""[CLS] a [SEP] (b [SEP]) packing with google-research/bert's truncation, in Python (here) and
in the graph (classifier.text.graph_packer.pack_ragged).

Truncation follows ``_truncate_seq_pair``: pop the last token of the longer sequence (b on a tie)
until the pair fits. Its result has a closed form, used by both versions so they cannot differ:
with budget B and la + lb > B, ``lb' = min(lb, max(B - la, B // 2))`` and ``la' = B - lb'``.

As in ``run_classifier.convert_single_example`` (``if tokens_b:``), a b that has no tokens is
packed as a single sequence: no second [SEP], and a gets the single-sequence budget.

This module imports no TensorFlow (the ONNX serving path packs with it).
"""

from __future__ import annotations

from collections.abc import Sequence


def truncate_pair(len_a: int, len_b: int, budget: int) -> tuple[int, int]:
    """Lengths of a and b after ``_truncate_seq_pair(a, b, budget)``."""
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if len_a + len_b <= budget:
        return len_a, len_b
    kept_b = min(len_b, max(budget - len_a, budget // 2))
    return budget - kept_b, kept_b


def _check_length(max_seq_length: int, pair: bool) -> None:
    if max_seq_length < (3 if pair else 2):
        raise ValueError(f"max_seq_length {max_seq_length} leaves no room for [CLS]/[SEP]")


def pack(
    ids_a: Sequence[int],
    ids_b: Sequence[int] | None,
    max_seq_length: int,
    cls_id: int,
    sep_id: int,
) -> tuple[list[int], list[int]]:
    """(token_ids, segment_ids), unpadded: [CLS] a [SEP] with segment 0, then b [SEP] with 1."""
    if ids_b:
        _check_length(max_seq_length, pair=True)
        la, lb = truncate_pair(len(ids_a), len(ids_b), max_seq_length - 3)
        tokens = [cls_id, *ids_a[:la], sep_id, *ids_b[:lb], sep_id]
        return tokens, [0] * (la + 2) + [1] * (lb + 1)
    _check_length(max_seq_length, pair=False)
    la = min(len(ids_a), max_seq_length - 2)
    return [cls_id, *ids_a[:la], sep_id], [0] * (la + 2)
