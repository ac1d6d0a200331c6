"""Losses and head priors: each form equals its reference implementation, priors are exact."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from classifier.heads import (
    MAX_BALANCED_POS_WEIGHT,
    LossOptions,
    balanced_pos_weight,
    make_head,
)
from classifier.losses import SigmoidLoss, SoftmaxLoss


def head_loss(kind: str, loss: str = "cross_entropy", targets=None, **options):
    """The loss a head of ``kind`` builds from train.sh's options."""
    labels = [f"l{i}" for i in range(5 if kind == "multilabel" else 4)]
    return make_head(kind, labels).loss(LossOptions(loss=loss, **options), targets)


def prior_logits(kind: str, targets, num_labels: int, sample_weights=None, **options):
    head = make_head(kind, [f"l{i}" for i in range(num_labels)])
    return head.prior_logits(LossOptions(**options), targets, sample_weights)


@pytest.fixture
def multilabel_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (16, 5)).astype(np.float32)
    targets = (rng.random((16, 5)) < 0.3).astype(np.float32)
    return targets, logits


@pytest.fixture
def multiclass_batch():
    rng = np.random.default_rng(1)
    return rng.integers(0, 4, 16).astype(np.int32), rng.normal(0, 3, (16, 4)).astype(np.float32)


def test_sigmoid_loss_defaults_to_keras_binary_cross_entropy(multilabel_batch):
    y, x = multilabel_batch
    ours = float(SigmoidLoss()(y, x))
    reference = float(keras.losses.BinaryCrossentropy(from_logits=True)(y, x))
    assert ours == pytest.approx(reference, rel=1e-5)


def test_pos_weight_equals_tensorflow_weighted_cross_entropy(multilabel_batch):
    y, x = multilabel_batch
    weights = np.array([1.0, 2.0, 5.0, 0.5, 30.0], np.float32)
    ours = float(SigmoidLoss(pos_weight=weights)(y, x))
    reference = float(
        tf.reduce_mean(tf.nn.weighted_cross_entropy_with_logits(y, x, pos_weight=weights))
    )
    assert ours == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_equals_keras_binary_focal_cross_entropy(multilabel_batch, gamma):
    y, x = multilabel_batch
    ours = float(head_loss("multilabel", "focal", focal_gamma=gamma)(y, x))
    reference = float(keras.losses.BinaryFocalCrossentropy(gamma=gamma, from_logits=True)(y, x))
    assert ours == pytest.approx(reference, rel=1e-5)


def test_asymmetric_loss_matches_the_papers_formula(multilabel_batch):
    y, x = multilabel_batch
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    gamma_pos, gamma_neg, clip = 1.0, 4.0, 0.05
    p_m = np.maximum(p - clip, 0)
    positive = -((1 - p) ** gamma_pos) * np.log(p)
    negative = -(p_m**gamma_neg) * np.log(1 - p_m)
    reference = (y * positive + (1 - y) * negative).mean()
    loss = head_loss(
        "multilabel",
        "asymmetric",
        asl_gamma_pos=gamma_pos,
        asl_gamma_neg=gamma_neg,
        asl_clip=clip,
    )
    assert float(loss(y, x)) == pytest.approx(reference, rel=1e-5)


def test_asymmetric_clip_discards_easy_negatives_entirely():
    """A negative whose probability is below the margin contributes neither loss nor gradient."""
    loss = SigmoidLoss(gamma_neg=4.0, clip=0.05)
    x = tf.Variable([[-4.0, 3.0]])  # p = 0.018 (easy negative), p = 0.95 (hard negative)
    with tf.GradientTape() as tape:
        value = loss(np.zeros((1, 2), np.float32), x)
    grad = tape.gradient(value, x).numpy()
    assert grad[0, 0] == 0.0 and grad[0, 1] > 0.0


def test_softmax_loss_defaults_to_sparse_cross_entropy(multiclass_batch):
    y, x = multiclass_batch
    reference = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, x)
    assert float(SoftmaxLoss()(y, x)) == pytest.approx(float(reference), rel=1e-5)


def test_label_smoothing_equals_keras_categorical_cross_entropy(multiclass_batch):
    y, x = multiclass_batch
    reference = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(
        np.eye(4, dtype=np.float32)[y], x
    )
    ours = head_loss("multiclass", label_smoothing=0.1)(y, x)
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)


def test_multiclass_focal_equals_keras_categorical_focal_cross_entropy(multiclass_batch):
    y, x = multiclass_batch
    reference = keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=2.0, from_logits=True)(
        np.eye(4, dtype=np.float32)[y], x
    )
    ours = head_loss("multiclass", "focal", focal_gamma=2.0)(y, x)
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)


def test_heads_refuse_options_of_the_other_kind_naming_the_flag():
    multiclass, multilabel = make_head("multiclass", "ab"), make_head("multilabel", "ab")
    with pytest.raises(ValueError, match="--loss=asymmetric"):
        multiclass.check_options(LossOptions(loss="asymmetric"))
    with pytest.raises(ValueError, match="--pos_weight"):
        multiclass.check_options(LossOptions(pos_weight=2.0))
    with pytest.raises(ValueError, match="--label_smoothing"):
        multilabel.check_options(LossOptions(label_smoothing=0.1))
    with pytest.raises(ValueError, match="--class_weight"):
        multilabel.check_options(LossOptions(class_weight="balanced"))
    with pytest.raises(ValueError, match="metric 'accuracy'"):
        multilabel.check_options(LossOptions(), metric="accuracy")
    assert multilabel.check_options(LossOptions()) == "micro_f1"
    with pytest.raises(ValueError, match="--pos_weight must be"):
        LossOptions(pos_weight="lots")


def test_losses_round_trip_through_keras_serialization():
    for loss in (SigmoidLoss([1.0, 3.0], 1.0, 4.0, 0.05), SoftmaxLoss(2.0, 0.1)):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert again.get_config() == loss.get_config()


def test_multilabel_prior_logits_reproduce_smoothed_label_frequencies():
    targets = np.zeros((98, 3), np.float32)
    targets[:9, 0] = 1  # (9 + 1) / (98 + 2) = 10%
    targets[:49, 1] = 1  # 50%
    bias = prior_logits("multilabel", targets, 3)
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), [0.1, 0.5, 0.01], rtol=1e-5)


def test_multilabel_prior_logits_minimise_the_weighted_loss_of_a_constant_model():
    # Many rows, so that the Laplace smoothing of the frequencies is negligible.
    targets = (np.random.default_rng(0).random((20000, 4)) < [0.02, 0.1, 0.3, 0.6]).astype("f4")
    weights = balanced_pos_weight(targets)
    bias = prior_logits("multilabel", targets, 4, pos_weight="balanced")
    loss = SigmoidLoss(pos_weight=weights)

    def value(b):
        return float(loss(targets, np.tile(b, (20000, 1)).astype(np.float32)))

    for j in range(4):  # nudging any label's bias away from the prior only raises the loss
        for step in (-0.05, 0.05):
            moved = bias.copy()
            moved[j] += step
            assert value(moved) > value(bias)


def test_multiclass_prior_logits_follow_class_frequencies_and_class_weights():
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    bias = prior_logits("multiclass", labels, 3)
    probs = np.exp(bias) / np.exp(bias).sum()
    np.testing.assert_allclose(probs, [71 / 103, 21 / 103, 11 / 103], rtol=1e-5)
    balanced = np.array([100 / (3 * 70), 100 / (3 * 20), 100 / (3 * 10)])[labels]
    np.testing.assert_allclose(
        prior_logits("multiclass", labels, 3, sample_weights=balanced), 0, atol=0.03
    )


def test_balanced_pos_weight_is_negatives_over_positives_with_a_cap():
    targets = np.zeros((1000, 3), np.float32)
    targets[:100, 0] = 1
    targets[:1, 1] = 1
    np.testing.assert_allclose(
        balanced_pos_weight(targets), [9.0, MAX_BALANCED_POS_WEIGHT, MAX_BALANCED_POS_WEIGHT]
    )
