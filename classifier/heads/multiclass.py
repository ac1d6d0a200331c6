"""Multiclass: one label per text, a softmax over the classes, argmax decisions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier import metrics as M
from classifier.calibration import ReliabilityBins, fit_softmax_temperature, multiclass_bins
from classifier.heads.base import Example, Head, LossOptions
from classifier.heads.error_tables import multiclass_tables
from classifier.heads.registry import register_head
from classifier.reports import write_confusion_csv, write_confusion_png

if TYPE_CHECKING:  # the training and export methods import TensorFlow when called (see Head)
    import keras
    import tensorflow as tf

MULTICLASS = "multiclass"


def balanced_class_weights(labels: np.ndarray, num_labels: int) -> np.ndarray:
    """n / (k * n_c) per class, as scikit-learn's class_weight='balanced'; absent classes 1.0."""
    counts = np.bincount(labels, minlength=num_labels).astype(np.float64)
    weights = np.ones(num_labels)
    present = counts > 0
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


@register_head(MULTICLASS)
class MulticlassHead(Head):
    losses = ("cross_entropy", "focal")
    selection_metrics = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "loss")
    default_metric = "accuracy"
    min_labels = 2
    predicted_column = "predicted_label"
    gold_column = "gold_label"

    def check_options(self, options: LossOptions, metric: str | None = None) -> str:
        if options.pos_weight is not None:
            raise ValueError("--pos_weight applies to multilabel tasks (use --class_weight)")
        return super().check_options(options, metric)

    def gold(self, example: Example) -> tuple[str, ...] | None:
        return None if example.label is None else (example.label,)

    def encode_labels(self, examples: Sequence[Example]) -> np.ndarray:
        return np.array([self._ids([e.label])[0] for e in examples], np.int32)

    def loss(self, options: LossOptions, targets: np.ndarray) -> keras.losses.Loss:
        from classifier.losses import SoftmaxLoss

        gamma = options.focal_gamma if options.loss == "focal" else 0.0
        return SoftmaxLoss(gamma=gamma, label_smoothing=options.label_smoothing)

    def consistency_loss(self, logits_a: tf.Tensor, logits_b: tf.Tensor) -> tf.Tensor:
        from classifier.losses import symmetric_kl_softmax

        return symmetric_kl_softmax(logits_a, logits_b)

    def soft_target_loss(
        self, student_logits: tf.Tensor, teacher_logits: tf.Tensor, temperature: float
    ) -> tf.Tensor:
        from classifier.losses import soft_target_kl_softmax

        return soft_target_kl_softmax(student_logits, teacher_logits, temperature)

    def hard_target_loss(self, targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        import keras
        from keras import ops

        return keras.losses.sparse_categorical_crossentropy(
            targets, ops.cast(logits, "float32"), from_logits=True
        )

    def training_metrics(self) -> list[keras.metrics.Metric]:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def sample_weights(self, options: LossOptions, targets: np.ndarray) -> np.ndarray | None:
        if options.class_weight != "balanced":
            return None
        weights = balanced_class_weights(targets, self.num_labels)
        return weights[targets].astype(np.float32)

    def prior_logits(
        self,
        options: LossOptions,
        targets: np.ndarray,
        sample_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Log class frequency, weighted by the class weights (balanced weights give equal
        priors), Laplace-smoothed; centred (a softmax ignores a common shift)."""
        weights = np.ones(len(targets)) if sample_weights is None else np.asarray(sample_weights)
        counts = np.bincount(targets, weights=weights, minlength=self.num_labels)
        freq = (counts + 1.0) / (counts.sum() + self.num_labels)
        bias = np.log(freq)
        return (bias - bias.mean()).astype(np.float32)

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)

    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        return np.asarray(probabilities).argmax(axis=-1)

    def coverage_metric(self, decisions: np.ndarray, targets: np.ndarray) -> float:
        """Accuracy, as the report's."""
        return float(np.mean(np.asarray(decisions) == np.asarray(targets)))

    def _graph_outputs(self, logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        import tensorflow as tf

        probabilities = tf.nn.softmax(logits, axis=-1)
        top = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return probabilities, tf.one_hot(top, self.num_labels, dtype=tf.int32)

    def _report(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        return M.multiclass_report(logits, targets, list(self.labels))

    def _text_report(self, logits: np.ndarray, targets: np.ndarray) -> str:
        return M.multiclass_text_report(logits, targets, list(self.labels))

    def _write_figures(
        self, folder: Path, names: dict[str, str], logits: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        matrix = M.multiclass_confusion(logits, targets, self.num_labels)
        write_confusion_csv(folder / names["confusion_csv"], matrix, list(self.labels))
        write_confusion_png(folder / names["confusion_png"], matrix, list(self.labels))
        return {"confusion_matrix": matrix.tolist()}

    def temperature_counts(self) -> tuple[int, ...]:
        return (1,)  # one per class would change the argmax: not a calibration

    def _fit_temperatures(self, logits: np.ndarray, targets: np.ndarray) -> list[float]:
        return [fit_softmax_temperature(logits, targets)]

    def reliability(self, logits: np.ndarray, targets: np.ndarray) -> ReliabilityBins:
        return multiclass_bins(self.probabilities(logits), targets)

    def error_tables(self, logits: np.ndarray, targets: np.ndarray, texts: Any) -> list[str]:
        probs = self.probabilities(logits)
        predicted = np.asarray(self.decisions(probs))
        return multiclass_tables(self.labels, probs, predicted, np.asarray(targets, int), texts)

    def prediction_fields(self, probabilities: np.ndarray) -> tuple[str, str]:
        best = int(np.argmax(probabilities))
        return self.labels[best], f"{probabilities[best]:.6f}"
