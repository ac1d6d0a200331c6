"""Training losses for the two head kinds, with the imbalance remedies users reach for.

Multilabel: one sigmoid per label. ``SigmoidLoss`` is the asymmetric loss of Ridnik et al.
(ICCV 2021, "Asymmetric Loss For Multi-Label Classification"), which contains the others:

    L+ = -w (1 - p)^gamma_pos log(p)          for a label that is present
    L- = -p_m^gamma_neg log(1 - p_m)           for a label that is absent, p_m = max(p - clip, 0)

gamma_pos = gamma_neg = clip = 0 and w = 1 is binary cross-entropy; w per label is
``pos_weight`` (torch's BCEWithLogitsLoss(pos_weight)); gamma_pos = gamma_neg = gamma is the
focal loss of Lin et al. (2017). The loss is the mean over labels and batch, as Keras' and
torch's binary cross-entropy, so a run's loss figures stay comparable across remedies
(``label_weights`` makes the mean over labels a weighted one).

Hierarchical: ``TreeSigmoidLoss``, SigmoidLoss under the label tree's max constraint.

Multiclass: softmax cross-entropy, or its focal form -(1 - p_t)^gamma log(p_t), with optional
label smoothing of the targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="classifier")
class SigmoidLoss(keras.losses.Loss):
    """Per-label sigmoid loss on logits: BCE, weighted BCE, focal or asymmetric (see module)."""

    def __init__(
        self,
        pos_weight: Sequence[float] | float | None = None,
        gamma_pos: float = 0.0,
        gamma_neg: float = 0.0,
        clip: float = 0.0,
        label_weights: Sequence[float] | None = None,
        name: str = "sigmoid_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if label_weights is not None:
            label_weights = [float(w) for w in label_weights]
            if min(label_weights) < 0 or sum(label_weights) <= 0:
                raise ValueError("label_weights must be non-negative and not all zero")
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError("focusing parameters (gamma) must be non-negative")
        if not 0 <= clip < 1:
            raise ValueError("clip must be in [0, 1)")
        if isinstance(pos_weight, int | float):
            pos_weight = float(pos_weight)
        elif pos_weight is not None:
            pos_weight = [float(w) for w in pos_weight]
        self.pos_weight = pos_weight
        self.gamma_pos = float(gamma_pos)
        self.gamma_neg = float(gamma_neg)
        self.clip = float(clip)
        self.label_weights = label_weights

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        targets = ops.cast(y_true, "float32")
        log_p = ops.log_sigmoid(logits)
        log_not_p = ops.log_sigmoid(-logits)
        p = ops.sigmoid(logits)

        positive = -log_p
        if self.gamma_pos:
            positive = positive * ops.power(1.0 - p, self.gamma_pos)
        if self.pos_weight is not None:
            positive = positive * ops.convert_to_tensor(self.pos_weight, "float32")

        if self.clip:
            shifted = ops.maximum(p - self.clip, 0.0)  # easy negatives are discarded outright
            negative = -ops.log(ops.maximum(1.0 - shifted, 1e-8))
        else:
            shifted = p
            negative = -log_not_p
        if self.gamma_neg:
            negative = negative * ops.power(shifted, self.gamma_neg)

        terms = targets * positive + (1.0 - targets) * negative
        if self.label_weights is None:
            return ops.mean(terms, axis=-1)
        weights = ops.convert_to_tensor(self.label_weights, "float32")
        return ops.sum(terms * weights, axis=-1) / ops.sum(weights)

    def get_config(self):
        config = super().get_config()
        config.update(
            pos_weight=self.pos_weight,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            label_weights=self.label_weights,
        )
        return config


@keras.saving.register_keras_serializable(package="classifier")
class TreeSigmoidLoss(SigmoidLoss):
    """SigmoidLoss on a label tree's nodes under the max constraint the hierarchical head
    predicts with (classifier.label_tree.LabelTree.lifted): C-HMCNN's MCLoss (Giunchiglia and
    Lukasiewicz, NeurIPS 2020), in logit space (max and the sigmoid commute).

    A node present in the text is scored by the largest logit among itself and its present
    descendants, an absent one by the largest among itself and all its descendants. So a
    present parent is not pushed up where a present child already carries it (the
    prediction lifts the parent to the child), and an absent parent's whole subtree is pushed
    down. A leaf's term is plain SigmoidLoss, with the same options (weights, focal, ...).

    ``parent_weight`` weighs the terms of the nodes with children against the leaves' (1) in
    the mean over nodes, one figure for every parent or one per node (the leaves' entries
    unused): below 1, the shared encoder spends less of itself on the parents, which the max
    constraint lifts from their children anyway.
    """

    def __init__(
        self,
        labels: Sequence[str],
        parent_weight: float | Sequence[float] = 1.0,
        name: str = "tree_sigmoid_loss",
        **kwargs,
    ):
        from classifier.label_tree import LabelTree

        tree = LabelTree(tuple(labels))
        if isinstance(parent_weight, int | float):
            parent_weight = float(parent_weight)
            given = np.full(len(tree.labels), parent_weight)
        else:
            parent_weight = [float(w) for w in parent_weight]
            given = np.asarray(parent_weight)
            if given.shape != (len(tree.labels),):
                raise ValueError(f"parent_weight: {len(given)} weights for {len(labels)} labels")
        if not np.all(given[~tree.is_leaf] > 0):
            raise ValueError("parent_weight must be positive")
        kwargs.pop("label_weights", None)  # derived from the tree and parent_weight
        weights = np.where(tree.is_leaf, 1.0, given)
        super().__init__(name=name, label_weights=weights.tolist(), **kwargs)
        self.labels = list(labels)
        self.parent_weight = parent_weight
        self._tree = tree

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        present = ops.cast(y_true, "float32") > 0.5
        lowest = ops.full_like(logits, -1e9)  # never the max of a present node's subtree
        lifted_present = self._tree.lifted_graph(ops.where(present, logits, lowest))
        constrained = ops.where(present, lifted_present, self._tree.lifted_graph(logits))
        return super().call(y_true, constrained)

    def get_config(self):
        config = {**super().get_config(), "labels": self.labels}
        config["parent_weight"] = self.parent_weight
        config.pop("label_weights")
        return config


@keras.saving.register_keras_serializable(package="classifier")
class SoftmaxLoss(keras.losses.Loss):
    """Sparse softmax cross-entropy on logits, with optional focusing (focal) and smoothing.

    ``label_smoothing`` e spreads e of the target mass uniformly over the classes (Szegedy et
    al. 2016, as Keras' CategoricalCrossentropy); ``gamma`` > 0 multiplies each class's term by
    (1 - p)^gamma (focal loss; with smoothing, every class's term is focused by its own p).
    """

    def __init__(
        self,
        gamma: float = 0.0,
        label_smoothing: float = 0.0,
        name: str = "softmax_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if gamma < 0:
            raise ValueError("gamma must be non-negative")
        if not 0 <= label_smoothing < 1:
            raise ValueError("label_smoothing must be in [0, 1)")
        self.gamma = float(gamma)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
        log_probs = ops.log_softmax(logits, axis=-1)
        terms = -log_probs  # per class: the loss if that class were the target
        if self.gamma:
            terms = terms * ops.power(1.0 - ops.exp(log_probs), self.gamma)
        target_term = ops.squeeze(ops.take_along_axis(terms, labels, axis=-1), -1)
        if not self.label_smoothing:
            return target_term
        e = self.label_smoothing
        return (1.0 - e) * target_term + e * ops.mean(terms, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma, label_smoothing=self.label_smoothing)
        return config


def symmetric_kl_softmax(logits_a, logits_b):
    """R-Drop's consistency term for softmax outputs: (KL(p_a||p_b) + KL(p_b||p_a)) / 2 per
    row, batch mean. For softmax that is sum_k (p_a - p_b)(z_a - z_b) / 2 (the normalisers
    cancel), which needs no logarithm of a probability."""
    a, b = ops.cast(logits_a, "float32"), ops.cast(logits_b, "float32")
    gap = ops.softmax(a, axis=-1) - ops.softmax(b, axis=-1)
    return 0.5 * ops.mean(ops.sum(gap * (a - b), axis=-1))


def symmetric_kl_sigmoid(logits_a, logits_b):
    """The same per label for sigmoid outputs (one Bernoulli each): (p_a - p_b)(z_a - z_b) / 2,
    the mean over labels and batch (as the loss averages over labels)."""
    a, b = ops.cast(logits_a, "float32"), ops.cast(logits_b, "float32")
    return 0.5 * ops.mean((ops.sigmoid(a) - ops.sigmoid(b)) * (a - b))


# === Knowledge distillation (Hinton et al. 2015) ===
def soft_target_kl_softmax(student_logits, teacher_logits, temperature: float):
    """Per-row KL(p_teacher || p_student) of the softmaxes at ``temperature``, times T^2 (so the
    gradient keeps its size as T changes, as Hinton et al. scale it)."""
    t = ops.cast(teacher_logits, "float32") / temperature
    s = ops.cast(student_logits, "float32") / temperature
    log_teacher = t - ops.logsumexp(t, axis=-1, keepdims=True)
    log_student = s - ops.logsumexp(s, axis=-1, keepdims=True)
    kl = ops.sum(ops.exp(log_teacher) * (log_teacher - log_student), axis=-1)
    return kl * (temperature**2)


def soft_target_kl_sigmoid(student_logits, teacher_logits, temperature: float):
    """Per-row mean over labels of the Bernoulli KL(p_teacher || p_student) of the sigmoids
    at ``temperature``, times T^2 (each label is its own two-way softmax)."""
    t = ops.cast(teacher_logits, "float32") / temperature
    s = ops.cast(student_logits, "float32") / temperature
    p = ops.sigmoid(t)
    # KL = sum over {1, 0} of p log p / q, with log sigmoid(z) = -softplus(-z).
    kl = p * (ops.softplus(-s) - ops.softplus(-t)) + (1 - p) * (ops.softplus(s) - ops.softplus(t))
    return ops.mean(kl, axis=-1) * (temperature**2)
