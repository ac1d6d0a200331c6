"""TextClassifier.train_step: Keras's step, with a tape that watches only trainable weights.

Two specifications: the update is exactly Keras's own, and on a frozen backbone (adapters) the
backward pass no longer computes the frozen kernels' gradients (fewer matmuls in the traced
step), which is where adapter training gets its speed.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

MATMULS = ("MatMul", "BatchMatMulV2", "_MklMatMul", "Einsum")


def compiled(demo_bert_dir, adapter: str | None):
    from classifier.adapters import apply_adapters, make_adapter_config
    from classifier.checkpoints import load_backbone
    from classifier.heads import make_head
    from classifier.text_classifier import TextClassifier
    from classifier.training.compile import compile_for_training
    from classifier.training.training_config import TrainingConfig

    keras.utils.set_random_seed(0)
    backbone = load_backbone(demo_bert_dir)
    if adapter:
        backbone = apply_adapters(backbone, make_adapter_config(adapter))
    model = TextClassifier(backbone, num_labels=4, dropout=0.0)
    compile_for_training(
        model, make_head("multiclass", "abcd"), TrainingConfig(learning_rate=1e-3), 10, np.arange(4)
    )
    return model


def batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 100, (4, 12)).astype("int32")
    mask = np.ones_like(ids)
    mask[2:, 9:] = 0
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    return x, np.array([0, 1, 2, 3], "int32")


def traced_matmuls(step, data) -> int:
    graph = tf.function(step).get_concrete_function(data).graph
    return sum(op.type in MATMULS for op in graph.get_operations())


@pytest.mark.parametrize("adapter", [None, "houlsby"])
def test_update_equals_keras_default_step(demo_bert_dir, adapter):
    ours, reference = compiled(demo_bert_dir, adapter), compiled(demo_bert_dir, adapter)
    data = tf.nest.map_structure(tf.constant, batch())
    ours.train_step(data)
    keras.Model.train_step(reference, data)
    for a, b in zip(ours.weights, reference.weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)


def test_frozen_backbone_kernels_get_no_gradient_matmuls(demo_bert_dir):
    model = compiled(demo_bert_dir, "houlsby")
    data = tf.nest.map_structure(tf.constant, batch())
    ours = traced_matmuls(model.train_step, data)
    default = traced_matmuls(lambda d: keras.Model.train_step(model, d), data)
    # Each frozen kernel matmul (4 per block: the fused query/key/value projection, attention
    # output, intermediate, output; 2 blocks; and the pooler) saves its kernel-gradient matmul.
    assert default - ours >= 9, (default, ours)
