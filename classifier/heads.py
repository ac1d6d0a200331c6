"""Classification heads: what a task's labels mean for the output layer and the loss.

The model always outputs logits; the head kind decides how they become probabilities
(softmax over classes, or one sigmoid per label) and which loss trains them.
"""

from __future__ import annotations

import keras
import numpy as np

MULTICLASS = "multiclass"
MULTILABEL = "multilabel"
HEAD_KINDS = (MULTICLASS, MULTILABEL)


def check_head_kind(kind: str) -> str:
    if kind not in HEAD_KINDS:
        raise ValueError(f"head kind must be one of {HEAD_KINDS}, got {kind!r}")
    return kind


def head_loss(kind: str) -> keras.losses.Loss:
    """Sparse categorical cross-entropy (multiclass) or binary cross-entropy (multilabel)."""
    if check_head_kind(kind) == MULTICLASS:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.BinaryCrossentropy(from_logits=True)


def probabilities(logits: np.ndarray, kind: str) -> np.ndarray:
    """Numerically stable softmax / sigmoid in numpy (reports and predictions)."""
    logits = np.asarray(logits, dtype=np.float64)
    if check_head_kind(kind) == MULTICLASS:
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


@keras.saving.register_keras_serializable(package="classifier")
class ClassificationHead(keras.layers.Layer):
    """Dropout on the pooled feature, then a dense layer to one logit per label."""

    def __init__(
        self, num_labels: int, dropout: float = 0.1, initializer_range: float = 0.02, **kwargs
    ):
        super().__init__(**kwargs)
        if num_labels < 1:
            raise ValueError(f"num_labels must be at least 1, got {num_labels}")
        self.num_labels = num_labels
        self.dropout_rate = dropout
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.dense = keras.layers.Dense(
            num_labels,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="logits",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, features, training=None):
        return self.dense(self.dropout(features, training=training))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_labels)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_labels=self.num_labels,
            dropout=self.dropout_rate,
            initializer_range=self.initializer_range,
        )
        return config
