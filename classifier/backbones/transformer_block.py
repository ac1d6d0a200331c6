"""One transformer encoder block with google-research/bert's math and adapter hook points."""

from __future__ import annotations

import math

import keras
from keras import ops

from classifier.backbones.activations import get_activation
from classifier.backbones.hooks import HookTable


def truncated_normal(stddev: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


def attention_bias(padding_mask, dtype):
    """Additive mask [batch, 1, 1, keys]: 0 for real tokens, -10000 for padding (as Google)."""
    mask = ops.cast(padding_mask, dtype)
    return ops.expand_dims(ops.expand_dims((1.0 - mask) * -10000.0, 1), 1)


@keras.saving.register_keras_serializable(package="classifier")
class TransformerBlock(keras.layers.Layer):
    """Self-attention then feed-forward, each followed by dropout, residual add and LayerNorm.

    Post-LayerNorm (BERT, Google ALBERT) by default; ``norm_first`` gives the pre-LayerNorm
    variant. Sub-layer names follow the checkpoint structure (query, key, value,
    attention_output, attention_layer_norm, intermediate, output, output_layer_norm) so that
    checkpoint mappings read naturally. ``hooks`` lets adapters act at named points without the
    block knowing about them (see classifier.backbones.hooks).
    """

    def __init__(
        self,
        hidden_size: int,
        num_attention_heads: int,
        intermediate_size: int,
        hidden_act: str = "gelu_tanh",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        norm_first: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.head_size = hidden_size // num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.norm_first = norm_first
        self.activation = get_activation(hidden_act)
        self.hooks = HookTable()

        def dense(units: int, name: str) -> keras.layers.Dense:
            return keras.layers.Dense(
                units,
                kernel_initializer=truncated_normal(initializer_range),
                name=name,
                dtype=self.dtype_policy,
            )

        def layer_norm(name: str) -> keras.layers.LayerNormalization:
            return keras.layers.LayerNormalization(
                epsilon=layer_norm_eps, name=name, dtype=self.dtype_policy
            )

        self.query = dense(hidden_size, "query")
        self.key = dense(hidden_size, "key")
        self.value = dense(hidden_size, "value")
        self.attention_output = dense(hidden_size, "attention_output")
        self.attention_layer_norm = layer_norm("attention_layer_norm")
        self.intermediate = dense(intermediate_size, "intermediate")
        self.output_dense = dense(hidden_size, "output")
        self.output_layer_norm = layer_norm("output_layer_norm")
        self.attention_dropout = keras.layers.Dropout(
            attention_probs_dropout_prob, dtype=self.dtype_policy
        )
        self.hidden_dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=self.dtype_policy)

    def build(self, input_shape):
        hidden_shape = (None, None, self.hidden_size)
        for layer in (self.query, self.key, self.value, self.attention_output):
            layer.build(hidden_shape)
        self.intermediate.build(hidden_shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.attention_layer_norm.build(hidden_shape)
        self.output_layer_norm.build(hidden_shape)

    def call(self, hidden_states, padding_mask, training=None, layer_index=None, packed=None):
        """``layer_index``: this call's position in the stack, passed on to the hooks.

        ``packed``: a PackedPlan when ``hidden_states`` holds the real tokens of the batch as
        [tokens, hidden] (padding-free execution); ``padding_mask`` is then ignored.
        """
        x = hidden_states
        attn_in = self.attention_layer_norm(x) if self.norm_first else x
        attn = self._self_attention(attn_in, padding_mask, training, layer_index, packed)
        attn = self.hidden_dropout(self.attention_output(attn), training=training)
        attn = self.hooks.apply("attention_output", attn_in, attn, training, layer_index)
        if self.norm_first:
            x = x + attn
            ffn_in = self.output_layer_norm(x)
        else:
            x = self.attention_layer_norm(x + attn)
            ffn_in = x
        ffn = self.activation(self.intermediate(ffn_in))
        ffn = self.hidden_dropout(self.output_dense(ffn), training=training)
        ffn = self.hooks.apply("ffn_output", ffn_in, ffn, training, layer_index)
        if self.norm_first:
            return x + ffn
        return self.output_layer_norm(x + ffn)

    def _self_attention(self, x, padding_mask, training, layer_index, packed):
        q, k, v = self._heads(x, training, layer_index, packed)
        if packed is not None:
            padding_mask = packed.padding_mask
        batch, length = ops.shape(q)[0], ops.shape(q)[2]
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        scores = scores * ops.cast(1.0 / math.sqrt(self.head_size), scores.dtype)
        # Softmax in float32 even under mixed precision: -10000 does not fit bf16 sums well.
        scores = ops.cast(scores, "float32") + attention_bias(padding_mask, "float32")
        probs = ops.cast(ops.softmax(scores, axis=-1), v.dtype)
        probs = self.attention_dropout(probs, training=training)
        context = ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))
        context = ops.reshape(context, (batch, length, self.hidden_size))
        return context if packed is None else packed.flatten(context)

    def _heads(self, x, training, layer_index, packed):
        """Queries, keys and values as [B, N, S, D].

        Without query/value adapters the three projections run as one matmul over the
        concatenated kernels, and one pad (packed) and one transpose move all three into the
        head layout: one op where there were three, each of which costs a fixed overhead
        that dominates at batch 1 (profiled: transposes were 6% of a BERT-base short
        text). The kernels' concatenation is a constant in a frozen export. Adapters at the
        query/value hook points and quantized layers keep the three projections apart."""
        heads, size = self.num_attention_heads, self.head_size
        separate = self.hooks.get("attention_query") or self.hooks.get("attention_value")
        # Quantized Dense layers (keras' Model.quantize) keep int8 kernels and scales: their
        # own call does the arithmetic.
        quantized = any(
            getattr(dense, "quantization_mode", None)
            for dense in (self.query, self.key, self.value)
        )
        if separate or quantized:
            q = self.hooks.apply("attention_query", x, self.query(x), training, layer_index)
            k = self.key(x)
            v = self.hooks.apply("attention_value", x, self.value(x), training, layer_index)
            qkv = ops.stack([q, k, v], axis=-2)  # [..., 3, H]
        else:
            kernel = ops.concatenate([self.query.kernel, self.key.kernel, self.value.kernel], 1)
            bias = ops.concatenate([self.query.bias, self.key.bias, self.value.bias], 0)
            qkv = ops.matmul(x, ops.cast(kernel, x.dtype)) + ops.cast(bias, x.dtype)
        if packed is not None:  # only attention needs the [batch, length] layout
            qkv = packed.pad(qkv)
        batch, length = ops.shape(qkv)[0], ops.shape(qkv)[1]
        qkv = ops.reshape(qkv, (batch, length, 3, heads, size))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # [3, B, N, S, D]
        return qkv[0], qkv[1], qkv[2]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
            norm_first=self.norm_first,
        )
        return config
