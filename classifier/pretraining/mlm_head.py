"""The masked-language-model head of BERT and ALBERT, with output weights tied to the input
embeddings.

google-research/bert's get_masked_lm_output: a dense transform with the model's activation,
LayerNorm, then logits against the word-embedding table plus a per-token output bias. ALBERT
transforms to its embedding width E. brightmart's albert_zh transforms at the hidden width and
maps back to E through the transposed embedding projection before the table. The table (and
brightmart's projection) belongs to the backbone and is passed in at call time, so tying needs
no copy and the head's own weights are only its transform, LayerNorm and bias.
"""

from __future__ import annotations

import keras
from keras import ops

from classifier.backbones import family_of
from classifier.backbones.activations import get_activation
from classifier.backbones.transformer_block import truncated_normal


@keras.saving.register_keras_serializable(package="classifier")
class MaskedLMHead(keras.layers.Layer):
    def __init__(
        self,
        hidden_size: int,
        transform_size: int,
        vocab_size: int,
        hidden_act: str = "gelu_tanh",
        layer_norm_eps: float = 1e-12,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.transform_size = transform_size
        self.vocab_size = vocab_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.activation = get_activation(hidden_act)
        self.dense = keras.layers.Dense(
            transform_size,
            kernel_initializer=truncated_normal(initializer_range),
            name="transform",
            dtype=self.dtype_policy,
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, name="layer_norm", dtype=self.dtype_policy
        )

    def build(self, input_shape=None):
        self.dense.build((None, self.hidden_size))
        self.layer_norm.build((None, self.transform_size))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocab_size,), initializer="zeros"
        )

    def call(self, features, embedding_table, projection=None):
        """features [N, hidden]; embedding_table [vocab, E]; projection [E, transform_size]
        (brightmart: the backbone's E -> H kernel, applied transposed) -> logits [N, vocab]."""
        x = self.layer_norm(self.activation(self.dense(features)))
        if projection is not None:
            x = ops.matmul(x, ops.transpose(ops.cast(projection, x.dtype)))
        logits = ops.matmul(x, ops.transpose(ops.cast(embedding_table, x.dtype)))
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            transform_size=self.transform_size,
            vocab_size=self.vocab_size,
            hidden_act=self.hidden_act,
            layer_norm_eps=self.layer_norm_eps,
            initializer_range=self.initializer_range,
        )
        return config


def word_embedding_table(backbone):
    """The [vocab, E] input embedding variable of a BERT or ALBERT backbone."""
    embeddings = backbone.embeddings
    inner = getattr(embeddings, "embeddings", None)  # ALBERT wraps a BertEmbeddings
    if inner is not None and hasattr(inner, "word_embeddings"):
        return inner.word_embeddings.embeddings
    return embeddings.word_embeddings.embeddings


def brightmart_projection(backbone):
    """brightmart's E -> H word-vector projection kernel, or None for other layouts."""
    embeddings = backbone.embeddings
    if getattr(embeddings, "layout", None) == "brightmart":
        return embeddings.projection.kernel
    return None


def head_for(backbone, config) -> MaskedLMHead:
    """The head that fits ``backbone`` (a ModelConfig ``config`` describes it)."""
    transform = family_of(config).mlm_transform_size(config)
    return MaskedLMHead(
        hidden_size=config.hidden_size,
        transform_size=transform,
        vocab_size=config.vocab_size,
        hidden_act=config.hidden_act,
        layer_norm_eps=config.layer_norm_eps,
        initializer_range=config.initializer_range,
        dtype=backbone.dtype_policy,
        name="mlm_head",
    )
