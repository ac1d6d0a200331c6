"""Pooled representations of texts for a run's model: what the classifier's head reads.

The backbone's ``pooled_output`` (adapters included: a TextClassifier's backbone is the
adapted one), for rows encoded exactly as prediction encodes them (the run's TextEncoder:
tokenizer, packing, long-text policy); a document of several sliding windows gets the mean of
its windows' vectors. Rows are L2-normalised, so that a dot product is the cosine
(classifier.explain.support_index).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from classifier.batching import EncodedExamples, inference_batches
from classifier.text import TextEncoder

_FORWARD = weakref.WeakKeyDictionary()


def _pooled(model: keras.Model, signature) -> tf.types.experimental.GenericFunction:
    """``model.backbone``'s pooled_output as a tf.function, run outside any distribution
    strategy (every process computes all rows, as classifier.inference does)."""
    forward = _FORWARD.get(model)
    if forward is None:
        forward = tf.function(
            lambda features: tf.cast(
                model.backbone(features, training=False)["pooled_output"], tf.float32
            ),
            input_signature=[signature],
        )
        _FORWARD[model] = forward
    return forward


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def pooled_representations(
    model: keras.Model,
    encoder: TextEncoder,
    texts: Sequence[str],
    texts_b: Sequence[str] | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """float32 [len(texts), H]: each text's pooled representation, L2-normalised."""
    data = EncodedExamples.from_texts(
        encoder, list(texts), None if texts_b is None else list(texts_b)
    )
    if len(data) == 0:
        return np.zeros((0, 0), np.float32)
    dataset, restore = inference_batches(data, batch_size)
    forward = _pooled(model, dataset.element_spec)
    rows = np.concatenate([forward(features).numpy() for features in dataset])[restore]
    if data.document_index is not None:  # sliding windows: the mean of each document's
        documents = data.num_documents
        sums = np.zeros((documents, rows.shape[1]), np.float64)
        np.add.at(sums, data.document_index, rows)
        counts = np.bincount(data.document_index, minlength=documents)
        rows = sums / np.maximum(counts, 1)[:, None]
    return normalised(np.asarray(rows, np.float32))


def representer(model: keras.Model, encoder: TextEncoder, batch_size: int = 64):
    """A support_index.Represent over ``model``."""

    def represent(texts: list[str], texts_b: list[str] | None) -> np.ndarray:
        return pooled_representations(model, encoder, texts, texts_b, batch_size)

    return represent
