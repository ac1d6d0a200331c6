"""What to do with a text longer than max_seq_length: one policy for training, prediction and
the export, in Python and in the graph (the tests hold both to identical ids).

- ``truncate``: keep the first tokens (google-research/bert's behaviour).
- ``head_tail``: keep the first ``head_tokens`` and fill the rest of the budget from the end
  (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification": of 510 tokens, the head
  128 + tail 382 split worked best; the default keeps that share of whatever budget there is).
- ``sliding_window``: windows of the whole budget whose starts are ``doc_stride`` apart, the
  last one aligned to the end of the text so that every window is full; in training each window
  carries the document's label, in prediction the window logits are pooled (mean or max) into
  one document prediction.

The budget is max_seq_length - 2 ([CLS] and [SEP]). These modes apply to single texts; pair
tasks keep google-research/bert's longest-first truncation (a clear error says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # TensorFlow is imported by the graph methods only: specs stay light
    import tensorflow as tf

MODES = ("truncate", "head_tail", "sliding_window")
POOLINGS = ("mean", "max")
HEAD_SHARE = 128 / 510  # Sun et al.'s best split of BERT's 510-token budget


class LongTextError(ValueError):
    """Long-text settings that cannot be used (names the flag)."""


@dataclass(frozen=True)
class LongTextPolicy:
    mode: str = "truncate"
    head_tokens: int | None = None  # head_tail: tokens kept from the start (None: Sun et al.)
    doc_stride: int | None = None  # sliding_window: tokens between window starts (None: half)
    pooling: str = "mean"  # sliding_window: how window logits become the document's

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise LongTextError(f"--long_text must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.pooling not in POOLINGS:
            raise LongTextError(
                f"--window_pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}"
            )
        if self.head_tokens is not None and self.head_tokens < 0:
            raise LongTextError(f"--head_tokens must be >= 0, got {self.head_tokens}")
        if self.doc_stride is not None and self.doc_stride < 1:
            raise LongTextError(f"--doc_stride must be >= 1, got {self.doc_stride}")

    @property
    def windowed(self) -> bool:
        return self.mode == "sliding_window"

    def check(self, max_seq_length: int, is_pair: bool) -> None:
        """Raises LongTextError when these settings do not fit the model's text settings."""
        budget = max_seq_length - 2
        if self.mode != "truncate" and is_pair:
            raise LongTextError(
                f"--long_text={self.mode} applies to single-text tasks; pair tasks (text_b) keep "
                "google-research/bert's longest-first truncation (--long_text=truncate)"
            )
        if self.head_tokens is not None and self.head_tokens > budget:
            raise LongTextError(
                f"--head_tokens {self.head_tokens} is over the {budget} tokens that "
                f"--max_seq_length {max_seq_length} leaves for text"
            )
        if self.doc_stride is not None and self.doc_stride > budget:
            raise LongTextError(
                f"--doc_stride {self.doc_stride} is over the window of {budget} tokens that "
                f"--max_seq_length {max_seq_length} leaves for text (windows would skip text)"
            )

    def head_count(self, budget: int) -> int:
        if self.head_tokens is not None:
            return min(self.head_tokens, budget)
        return int(round(budget * HEAD_SHARE))

    def stride(self, budget: int) -> int:
        return self.doc_stride if self.doc_stride is not None else max(1, budget // 2)

    # === Python ===
    def select(self, ids: Sequence[int], budget: int) -> list[list[int]]:
        """The token ids each model row gets from one text: one row, or several windows."""
        ids = list(ids)
        if len(ids) <= budget or self.mode == "truncate":
            return [ids[:budget]]
        if self.mode == "head_tail":
            head = self.head_count(budget)
            return [ids[:head] + ids[len(ids) - (budget - head) :]]
        return [ids[start : start + budget] for start in window_starts(len(ids), budget, self)]

    def pool(self, logits: np.ndarray, document_index: np.ndarray, num_documents: int):
        """Window logits [W, K] -> document logits [D, K]."""
        pooled = np.zeros((num_documents, logits.shape[1]), np.float32)
        if self.pooling == "max":
            pooled.fill(-np.inf)
            np.maximum.at(pooled, document_index, logits)
            return pooled
        np.add.at(pooled, document_index, logits)
        counts = np.bincount(document_index, minlength=num_documents).astype(np.float32)
        return pooled / np.maximum(counts, 1.0)[:, None]

    # === Graph ===
    def select_ragged(self, ids: tf.RaggedTensor, budget: int) -> tuple[tf.RaggedTensor, tf.Tensor]:
        """Graph ``select`` of a batch: (rows [R, None], document index [R] int64)."""
        import tensorflow as tf

        ids = ids.with_row_splits_dtype(tf.int64)
        lengths = ids.row_lengths()
        documents = tf.range(tf.size(lengths, out_type=tf.int64))
        if self.mode == "truncate":
            return ids[:, :budget], documents
        if self.mode == "head_tail":
            head = self.head_count(budget)
            rows = ids.value_rowids()
            positions = tf.range(tf.size(rows, out_type=tf.int64)) - tf.gather(
                ids.row_starts(), rows
            )
            # Rows no longer than the budget keep every token: pos < head or pos >= n - tail.
            tail_start = tf.gather(lengths, rows) - (budget - head)
            keep = (positions < head) | (positions >= tail_start)
            return tf.RaggedTensor.from_value_rowids(
                tf.boolean_mask(ids.values, keep),
                tf.boolean_mask(rows, keep),
                nrows=tf.size(lengths, out_type=tf.int64),
            ), documents
        stride = self.stride(budget)
        extra = tf.maximum(lengths - budget, 0)
        counts = 1 + (extra + stride - 1) // stride
        window_document = tf.repeat(documents, counts)
        first = tf.gather(tf.cumsum(counts, exclusive=True), window_document)
        k = tf.range(tf.size(window_document, out_type=tf.int64)) - first
        starts = tf.minimum(k * stride, tf.gather(extra, window_document))
        window_lengths = tf.minimum(tf.gather(lengths, window_document), budget)
        # Flat positions of every window's tokens in ids.values.
        base = tf.gather(ids.row_starts(), window_document) + starts
        offsets = tf.ragged.range(window_lengths)
        gather_at = offsets + tf.expand_dims(base, 1)
        return tf.gather(ids.values, gather_at), window_document

    def pool_graph(
        self, logits: tf.Tensor, document_index: tf.Tensor, num_documents: tf.Tensor
    ) -> tf.Tensor:
        """Graph ``pool``: window logits [W, K] -> document logits [D, K]."""
        import tensorflow as tf

        if self.pooling == "max":
            return tf.math.unsorted_segment_max(logits, document_index, num_documents)
        return tf.math.unsorted_segment_mean(logits, document_index, num_documents)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LongTextPolicy:
        """The inverse of ``to_dict`` (ClassifierSpec's and train.sh's field names)."""
        return cls(
            mode=data.get("long_text") or "truncate",
            head_tokens=data.get("head_tokens"),
            doc_stride=data.get("doc_stride"),
            pooling=data.get("window_pooling") or "mean",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "long_text": self.mode,
            "head_tokens": self.head_tokens,
            "doc_stride": self.doc_stride,
            "window_pooling": self.pooling,
        }


def window_starts(length: int, budget: int, policy: LongTextPolicy) -> list[int]:
    """Starts of the sliding windows over ``length`` tokens: 0, s, 2s, ... and n - budget."""
    extra = max(length - budget, 0)
    stride = policy.stride(budget)
    count = 1 + -(-extra // stride)
    return [min(k * stride, extra) for k in range(count)]
