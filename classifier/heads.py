"""Classification heads: what a task's labels mean for the output layer and the loss.

The model always outputs logits; the head kind decides how they become probabilities
(softmax over classes, or one sigmoid per label) and which loss trains them.
"""

from __future__ import annotations

import keras
import numpy as np

from classifier.losses import SigmoidLoss, SoftmaxLoss

MULTICLASS = "multiclass"
MULTILABEL = "multilabel"
HEAD_KINDS = (MULTICLASS, MULTILABEL)
LOSSES = {
    MULTICLASS: ("cross_entropy", "focal"),
    MULTILABEL: ("cross_entropy", "focal", "asymmetric"),
}
# "balanced" positive weights are n_negative / n_positive per label, capped here: a label seen
# once in 30k rows would otherwise weigh 30k and swamp every other label's gradient.
MAX_BALANCED_POS_WEIGHT = 100.0


def check_head_kind(kind: str) -> str:
    if kind not in HEAD_KINDS:
        raise ValueError(f"head kind must be one of {HEAD_KINDS}, got {kind!r}")
    return kind


def head_loss(
    kind: str,
    loss: str = "cross_entropy",
    *,
    pos_weight: np.ndarray | float | None = None,
    focal_gamma: float = 2.0,
    asl_gamma_pos: float = 0.0,
    asl_gamma_neg: float = 4.0,
    asl_clip: float = 0.05,
    label_smoothing: float = 0.0,
) -> keras.losses.Loss:
    """The training loss of a head kind (see classifier.losses for the formulas).

    multiclass: softmax cross-entropy or ``focal``, with optional label smoothing;
    multilabel: sigmoid cross-entropy, ``focal`` or ``asymmetric``, with optional positive
    weights per label (a float for all, or one per label).
    """
    check_head_kind(kind)
    if loss not in LOSSES[kind]:
        raise ValueError(f"loss {loss!r} is not available for {kind} heads; choose {LOSSES[kind]}")
    if kind == MULTICLASS:
        if pos_weight is not None:
            raise ValueError("pos_weight applies to multilabel heads (use class_weight)")
        gamma = focal_gamma if loss == "focal" else 0.0
        return SoftmaxLoss(gamma=gamma, label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError("label_smoothing applies to multiclass heads")
    weights = None if pos_weight is None else np.atleast_1d(pos_weight).tolist()
    if loss == "focal":
        return SigmoidLoss(weights, gamma_pos=focal_gamma, gamma_neg=focal_gamma)
    if loss == "asymmetric":
        return SigmoidLoss(weights, gamma_pos=asl_gamma_pos, gamma_neg=asl_gamma_neg, clip=asl_clip)
    return SigmoidLoss(weights)


def balanced_pos_weight(targets: np.ndarray) -> np.ndarray:
    """n_negative / n_positive per label of multi-hot ``targets`` [N, L], capped at
    MAX_BALANCED_POS_WEIGHT (a label never seen positive gets the cap)."""
    targets = np.asarray(targets, np.float64)
    positives = targets.sum(axis=0)
    negatives = len(targets) - positives
    with np.errstate(divide="ignore"):
        ratio = np.where(positives > 0, negatives / np.maximum(positives, 1), np.inf)
    return np.clip(ratio, 1e-3, MAX_BALANCED_POS_WEIGHT)


def prior_logits(
    kind: str,
    labels: np.ndarray,
    num_labels: int,
    sample_weights: np.ndarray | None = None,
    pos_weight: np.ndarray | float | None = None,
) -> np.ndarray:
    """The head's bias that makes an untrained model predict the training label frequencies.

    Why: a head whose logits start at zero predicts 0.5 for every label of a multilabel task
    whose labels occur in a few percent of rows. The fastest way for Adam (each weight moves by
    about the learning rate per step) to reach the large negative logits the priors need is to
    drive the tanh pooler into saturation, where its gradient is zero: the encoder then stops
    learning and every label stays at its base rate (measured on People's Daily labels: half
    the pooled units at |x| > 0.99 and no variation across examples after training). Starting at the priors removes that
    pressure (Lin et al. 2017 start their focal-loss heads at a prior for the same reason).

    multiclass: log class frequency (weighted by ``sample_weights``, so class_weight balanced
    gives equal priors); multilabel: log-odds of each label's frequency, shifted by
    log(pos_weight), the optimum of the weighted loss. Frequencies are Laplace-smoothed so an
    unseen label gets a finite bias.
    """
    labels = np.asarray(labels)
    if check_head_kind(kind) == MULTICLASS:
        weights = np.ones(len(labels)) if sample_weights is None else np.asarray(sample_weights)
        counts = np.bincount(labels, weights=weights, minlength=num_labels).astype(np.float64)
        freq = (counts + 1.0) / (counts.sum() + num_labels)
        bias = np.log(freq)
        return (bias - bias.mean()).astype(np.float32)
    positives = labels.astype(np.float64).sum(axis=0)
    freq = (positives + 1.0) / (len(labels) + 2.0)
    bias = np.log(freq / (1.0 - freq))
    if pos_weight is not None:
        bias = bias + np.log(np.broadcast_to(pos_weight, (num_labels,)))
    return bias.astype(np.float32)


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
