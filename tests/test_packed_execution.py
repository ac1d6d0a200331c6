"""Padding-free execution gives the padded model's outputs, for every backbone layout."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from classifier.backbones import build_backbone
from classifier.backbones.packing import PackedPlan
from classifier.checkpoints.tiny import randomize_weights
from classifier.config import ModelConfig

BERT = ModelConfig(
    vocab_size=90, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48
)
ALBERT = dict(
    family="albert",
    vocab_size=90,
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=48,
)
CONFIGS = {
    "bert": BERT,
    "albert_google": ModelConfig(**ALBERT),
    "albert_grouped": ModelConfig(**{**ALBERT, "num_hidden_groups": 2, "inner_group_num": 2}),
    "albert_brightmart_preln": ModelConfig(
        **ALBERT, embedding_layout="brightmart", ln_type="preln"
    ),
}
LENGTHS = [11, 2, 7, 4]


def ragged_batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = [rng.integers(5, 90, n).astype(np.int32) for n in LENGTHS]
    segs = [(np.arange(n) >= n // 2).astype(np.int32) for n in LENGTHS]
    return tf.ragged.constant(ids, dtype=tf.int32), tf.ragged.constant(segs, dtype=tf.int32)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_packed_outputs_equal_padded_outputs(name):
    keras.utils.set_random_seed(0)
    backbone = build_backbone(CONFIGS[name])
    randomize_weights(backbone, seed=1)
    token_ids, segment_ids = ragged_batch()
    padded = backbone(
        {
            "token_ids": token_ids.to_tensor(),
            "segment_ids": segment_ids.to_tensor(),
            "padding_mask": tf.ones_like(token_ids).to_tensor(),
        },
        training=False,
    )
    packed = backbone.packed_outputs(token_ids, segment_ids)
    np.testing.assert_allclose(packed["pooled_output"], padded["pooled_output"], atol=2e-5)
    for row, n in enumerate(LENGTHS):
        np.testing.assert_allclose(
            packed["sequence_output"][row], padded["sequence_output"][row, :n], atol=2e-5
        )


def test_packed_outputs_run_the_adapter_hooks():
    keras.utils.set_random_seed(0)
    backbone = build_backbone(BERT)
    seen = []

    def hook(inputs, outputs, training=None, layer_index=None):
        seen.append((layer_index, tuple(outputs.shape)))
        return outputs

    backbone.transformer_layers[0].hooks.add("ffn_output", hook)
    token_ids, segment_ids = ragged_batch()
    backbone.packed_outputs(token_ids, segment_ids)
    # One [rows, hidden] matrix: the real tokens rounded up to their bucket, no padding.
    assert seen == [(0, (32, 32))] and sum(LENGTHS) == 24


def test_plan_moves_tokens_between_layouts():
    plan = PackedPlan.from_row_lengths(tf.constant([3, 1, 2]), multiple=1)
    flat = tf.constant([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])
    padded = plan.pad(flat)
    # Padding slots copy row 0: they are masked as keys and dropped as queries.
    assert padded.numpy()[..., 0].tolist() == [[1, 2, 3], [4, 1, 1], [5, 6, 1]]
    assert plan.flatten(padded).numpy().tolist() == flat.numpy().tolist()
    assert plan.positions.numpy().tolist() == [0, 1, 2, 0, 0, 1]
    assert plan.first_token.numpy().tolist() == [0, 3, 4]
    assert plan.padding_mask.numpy().tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]


def test_plan_rounds_rows_and_lengths_up_so_kernels_are_reused():
    plan = PackedPlan.from_row_lengths(tf.constant([3, 1, 2]), multiple=4)
    assert int(plan.num_tokens) == 6 and int(plan.num_rows) == 8
    assert plan.padding_mask.shape == (3, 4)
    assert plan.positions.numpy().tolist() == [0, 1, 2, 0, 0, 1, 0, 0]
    assert plan.pad_ids(tf.constant([7, 7, 7, 7, 7, 7])).numpy().tolist() == [7] * 6 + [0, 0]
    flat = tf.reshape(tf.range(8.0), [8, 1])
    real = plan.flatten(plan.pad(flat))[:6]
    assert real.numpy()[:, 0].tolist() == [0, 1, 2, 3, 4, 5]


def test_rows_round_up_to_multiples_of_16():
    """Few distinct shapes, so oneDNN's cached kernels are reused across requests."""
    from classifier.backbones.packing import bucket, bucket_sizes

    values = tf.constant([1, 16, 17, 22, 127, 128, 129, 2000])
    assert bucket(values).numpy().tolist() == [16, 16, 32, 32, 128, 128, 144, 2000]
    assert bucket_sizes() == list(range(16, 129, 16)) and bucket_sizes(30) == [16, 32]
    assert bucket_sizes(512) == bucket_sizes(128)  # longer texts build theirs when they come
    plan = PackedPlan.from_row_lengths(tf.constant([22]))
    assert int(plan.num_rows) == 32 and plan.padding_mask.shape == (1, 32)


def test_packed_outputs_trace_once_for_any_batch():
    backbone = build_backbone(BERT)
    spec = tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1)

    @tf.function(input_signature=[spec, spec])
    def pooled(token_ids, segment_ids):
        return backbone.packed_outputs(token_ids, segment_ids)["pooled_output"]

    for lengths in ([3], [5, 9, 2]):
        ids = tf.ragged.constant([[7] * n for n in lengths], dtype=tf.int32)
        assert pooled(ids, tf.zeros_like(ids)).shape == (len(lengths), 32)
    assert pooled.experimental_get_tracing_count() == 1
