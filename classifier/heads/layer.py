"""The Keras layer of every head: dropout on the pooled feature, then one logit per label.

How the logits are read (softmax or per-label sigmoids), trained and reported is the head
object's business (classifier.heads.base.Head); the layer is the same for both kinds.
"""

from __future__ import annotations

import keras


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
