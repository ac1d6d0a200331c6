"""ALBERT's factorised embedding: word vectors of width E, projected to the hidden width H."""

from __future__ import annotations

import keras

from classifier.backbones.bert_embeddings import BertEmbeddings
from classifier.backbones.transformer_block import truncated_normal
from classifier.config import EMBEDDING_LAYOUTS


@keras.saving.register_keras_serializable(package="classifier")
class AlbertEmbeddings(keras.layers.Layer):
    """BertEmbeddings plus the E -> H projection, in either of the two released layouts.

    ``layout="google"`` (google-research/albert, transformers' AlbertModel): word, position and
    token-type vectors of width E are summed, LayerNorm(E) and dropout, then a dense E -> H with
    bias (the checkpoint's encoder/embedding_hidden_mapping_in).
    ``layout="brightmart"`` (brightmart/albert_zh): the word vectors are projected first by a
    bias-free E -> H matrix (embeddings/word_embeddings_2), then position and token-type vectors
    of width H are added, LayerNorm(H) and dropout.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        layout: str = "google",
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        hidden_dropout_prob: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if layout not in EMBEDDING_LAYOUTS:
            raise ValueError(f"layout must be one of {EMBEDDING_LAYOUTS}, got {layout!r}")
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.layout = layout
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        brightmart = layout == "brightmart"
        self.embeddings = BertEmbeddings(
            vocab_size=vocab_size,
            embedding_size=embedding_size,
            position_size=hidden_size if brightmart else embedding_size,
            max_position_embeddings=max_position_embeddings,
            type_vocab_size=type_vocab_size,
            hidden_dropout_prob=hidden_dropout_prob,
            initializer_range=initializer_range,
            layer_norm_eps=layer_norm_eps,
            dtype=self.dtype_policy,
            name="embeddings",
        )
        self.projection = keras.layers.Dense(
            hidden_size,
            use_bias=not brightmart,
            kernel_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape=None):
        self.embeddings.build()
        self.projection.build((None, None, self.embedding_size))

    def call(self, token_ids, segment_ids, training=None, positions=None):
        """``positions``: see BertEmbeddings.add_position_and_type (padding-free execution)."""
        if self.layout == "brightmart":
            x = self.projection(self.embeddings.word_vectors(token_ids))
            return self.embeddings.add_position_and_type(x, segment_ids, training, positions)
        x = self.embeddings(token_ids, segment_ids, training=training, positions=positions)
        return self.projection(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.hidden_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            hidden_size=self.hidden_size,
            layout=self.layout,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            hidden_dropout_prob=self.hidden_dropout_prob,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
        )
        return config
