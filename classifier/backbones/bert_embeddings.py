"""BERT's input embeddings: word + learned absolute position + token type, LayerNorm, dropout."""

from __future__ import annotations

import keras
from keras import ops

from classifier.backbones.transformer_block import truncated_normal


class WordVectorOverride:
    """What the word-vector lookup returns instead of the table's rows, while set.

    Integrated gradients differentiates the logits with respect to the word vectors, which a
    lookup does not expose: during an explanation ``replacement`` holds the interpolated
    vectors, [batch, length, E] like the lookup's, and every family's embeddings (BERT's,
    both ALBERT layouts) read them through ``BertEmbeddings.word_vectors``. It is set only
    while an explanation runs or is traced (classifier.explain.integrated_gradients), so a
    model must not be called from another thread meanwhile; a SavedModel's traced graph holds
    no such state.
    """

    def __init__(self) -> None:
        self.replacement = None

    def apply(self, looked_up):
        if self.replacement is None:
            return looked_up
        return ops.cast(self.replacement, looked_up.dtype)


@keras.saving.register_keras_serializable(package="classifier")
class BertEmbeddings(keras.layers.Layer):
    """Sums the three embeddings of google-research/bert's embedding_postprocessor.

    ``embedding_size`` smaller than the table width is ALBERT's factorised embedding; the
    projection to the hidden size lives in the ALBERT backbone, not here.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        hidden_dropout_prob: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        position_size: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        # Width of the position/token-type tables and LayerNorm; brightmart's ALBERT adds them
        # after the projection, at the hidden size, so it may differ from embedding_size.
        self.position_size = position_size or embedding_size
        init = truncated_normal(initializer_range)
        self.word_embeddings = keras.layers.Embedding(
            vocab_size,
            embedding_size,
            embeddings_initializer=init,
            name="word_embeddings",
            dtype=self.dtype_policy,
        )
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size,
            self.position_size,
            embeddings_initializer=init,
            name="token_type_embeddings",
            dtype=self.dtype_policy,
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, name="layer_norm", dtype=self.dtype_policy
        )
        self.dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=self.dtype_policy)
        # Explanations replace the looked-up word vectors (classifier.explain); a plain
        # object, so Keras tracks nothing of it.
        self.word_vector_override = WordVectorOverride()

    def build(self, input_shape=None):
        self.word_embeddings.build((None, None))
        self.token_type_embeddings.build((None, None))
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_position_embeddings, self.position_size),
            initializer=truncated_normal(self.initializer_range),
        )
        self.layer_norm.build((None, None, self.position_size))

    def word_vectors(self, token_ids):
        return self.word_vector_override.apply(self.word_embeddings(token_ids))

    def add_position_and_type(self, x, segment_ids, training=None, positions=None):
        """Adds position and token-type embeddings to ``x``, then LayerNorm and dropout.

        ``x`` is [batch, length, E] with positions 0..length-1, or, for padding-free
        execution, [tokens, E] with each token's position given in ``positions``.
        """
        if positions is None:
            length = ops.shape(x)[1]
            table = ops.expand_dims(self.position_embeddings[:length], 0)
        else:
            table = ops.take(self.position_embeddings, positions, axis=0)
        x = x + ops.cast(table, x.dtype) + self.token_type_embeddings(segment_ids)
        return self.dropout(self.layer_norm(x), training=training)

    def call(self, token_ids, segment_ids, training=None, positions=None):
        x = self.word_vectors(token_ids)
        return self.add_position_and_type(x, segment_ids, training, positions)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.position_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            hidden_dropout_prob=self.hidden_dropout_prob,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
            position_size=self.position_size,
        )
        return config
