"""Multilabel: any number of labels per text (none included), a sigmoid per label, decisions
at per-label thresholds fitted on dev for the run's metric (classifier.thresholds; 0.5 until
fitted), then held between --min_labels and --max_labels (classifier.label_bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier import metrics as M
from classifier import thresholds as T
from classifier.calibration import ReliabilityBins, fit_sigmoid_temperatures, multilabel_bins
from classifier.heads.base import Example, Head, LossOptions
from classifier.heads.error_tables import multilabel_tables
from classifier.heads.registry import register_head
from classifier.label_bounds import bound_decisions, bound_decisions_graph

if TYPE_CHECKING:  # the training and export methods import TensorFlow when called (see Head)
    import keras
    import tensorflow as tf

MULTILABEL = "multilabel"
# "balanced" positive weights are n_negative / n_positive per label, capped here: a label seen
# once in 30k rows would otherwise weigh 30k and swamp every other label's gradient.
MAX_BALANCED_POS_WEIGHT = 100.0
WITHOUT_BOUNDS = "_without_bounds"  # suffix of the figures before --min_labels/--max_labels


def balanced_pos_weight(targets: np.ndarray) -> np.ndarray:
    """n_negative / n_positive per label of multi-hot ``targets`` [N, L], capped at
    MAX_BALANCED_POS_WEIGHT (a label never seen positive gets the cap)."""
    targets = np.asarray(targets, np.float64)
    positives = targets.sum(axis=0)
    negatives = len(targets) - positives
    with np.errstate(divide="ignore"):
        ratio = np.where(positives > 0, negatives / np.maximum(positives, 1), np.inf)
    return np.clip(ratio, 1e-3, MAX_BALANCED_POS_WEIGHT)


@register_head(MULTILABEL)
class MultilabelHead(Head):
    losses = ("cross_entropy", "focal", "asymmetric")
    selection_metrics = ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "loss")
    default_metric = "micro_f1"
    min_labels = 1
    predicted_column = "predicted_labels"
    gold_column = "gold_labels"
    takes_label_bounds = True
    multiple_labels = True

    @property
    def decision_thresholds(self) -> np.ndarray:
        if self.thresholds is None:
            return np.full(self.num_labels, 0.5)
        return np.asarray(self.thresholds, np.float64)

    def check_options(self, options: LossOptions, metric: str | None = None) -> str:
        if options.class_weight is not None:
            raise ValueError("--class_weight applies to multiclass tasks (use --pos_weight)")
        if options.label_smoothing:
            raise ValueError("--label_smoothing applies to multiclass tasks")
        return super().check_options(options, metric)

    def gold(self, example: Example) -> tuple[str, ...] | None:
        return None if example.labels is None else tuple(example.labels)

    def encode_labels(self, examples: Sequence[Example]) -> np.ndarray:
        targets = np.zeros((len(examples), self.num_labels), np.float32)
        for row, example in enumerate(examples):
            targets[row, self._ids(example.labels or ())] = 1.0
        return targets

    def pos_weight(self, options: LossOptions, targets: np.ndarray) -> np.ndarray | None:
        """Per-label positive weights from --pos_weight: None, one number, or "balanced"."""
        if options.pos_weight is None:
            return None
        if options.pos_weight == "balanced":
            return balanced_pos_weight(targets)
        return np.full(self.num_labels, float(options.pos_weight))

    def loss(self, options: LossOptions, targets: np.ndarray) -> keras.losses.Loss:
        from classifier.losses import SigmoidLoss

        return SigmoidLoss(**self.sigmoid_loss_settings(options, targets))

    def sigmoid_loss_settings(self, options: LossOptions, targets: np.ndarray) -> dict[str, Any]:
        """SigmoidLoss's arguments for the options: positive weights, focal or asymmetric."""
        weights = self.pos_weight(options, targets)
        settings: dict[str, Any] = {"pos_weight": None if weights is None else weights.tolist()}
        if options.loss == "focal":
            settings.update(gamma_pos=options.focal_gamma, gamma_neg=options.focal_gamma)
        elif options.loss == "asymmetric":
            settings.update(
                gamma_pos=options.asl_gamma_pos,
                gamma_neg=options.asl_gamma_neg,
                clip=options.asl_clip,
            )
        return settings

    def consistency_loss(self, logits_a: tf.Tensor, logits_b: tf.Tensor) -> tf.Tensor:
        from classifier.losses import symmetric_kl_sigmoid

        return symmetric_kl_sigmoid(logits_a, logits_b)

    def soft_target_loss(
        self, student_logits: tf.Tensor, teacher_logits: tf.Tensor, temperature: float
    ) -> tf.Tensor:
        from classifier.losses import soft_target_kl_sigmoid

        return soft_target_kl_sigmoid(student_logits, teacher_logits, temperature)

    def hard_target_loss(self, targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        import keras
        from keras import ops

        return keras.losses.binary_crossentropy(
            ops.cast(targets, "float32"), ops.cast(logits, "float32"), from_logits=True
        )

    def training_metrics(self) -> list[keras.metrics.Metric]:
        import keras

        return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]

    def sample_weights(self, options: LossOptions, targets: np.ndarray) -> np.ndarray | None:
        return None

    def describe_options(self, options: LossOptions, targets: np.ndarray) -> str:
        weights = self.pos_weight(options, targets)
        if weights is None:
            return ""
        pairs = ", ".join(f"{n}={w:.3g}" for n, w in zip(self.labels, weights, strict=True))
        return f"positive weights: {pairs}"

    def prior_logits(
        self,
        options: LossOptions,
        targets: np.ndarray,
        sample_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Log-odds of each label's (Laplace-smoothed) frequency, shifted by log(pos_weight):
        the optimum of the weighted loss for a model that ignores its input."""
        positives = np.asarray(targets, np.float64).sum(axis=0)
        freq = (positives + 1.0) / (len(targets) + 2.0)
        bias = np.log(freq / (1.0 - freq))
        weights = self.pos_weight(options, targets)
        if weights is not None:
            bias = bias + np.log(weights)
        return bias.astype(np.float32)

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))

    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        """At the thresholds, then within the label bounds."""
        return self.bounded(
            M.multilabel_predictions(probabilities, self.decision_thresholds), probabilities
        )

    def bounded(self, decisions: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """``decisions`` held within this head's label bounds (unchanged without any)."""
        return bound_decisions(decisions, probabilities, self.label_bounds)

    def coverage_metric(self, decisions: np.ndarray, targets: np.ndarray) -> float:
        """Micro-F1 (the default metric), as the report's."""
        return T.decision_metric(self.default_metric, decisions, targets)

    def _coverage_decisions(
        self, logits: np.ndarray, targets: np.ndarray, policy: T.ThresholdPolicy | None
    ) -> np.ndarray:
        """Dev rows (``policy``): cross-fitted, as dev_report decides them."""
        if policy is None:
            return super()._coverage_decisions(logits, targets, policy)
        choice = self.choose_thresholds(logits, targets, policy)
        return self.bounded(choice.out_of_fold, self.probabilities(logits))

    def _graph_outputs(self, logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        import tensorflow as tf

        probabilities = self._probabilities_graph(logits)
        thresholds = tf.constant(self.decision_thresholds, tf.float32)
        predicted = tf.cast(probabilities >= thresholds, tf.int32)
        return probabilities, self.bounded_graph(predicted, probabilities)

    def _probabilities_graph(self, logits: tf.Tensor) -> tf.Tensor:
        """``_probabilities`` in TensorFlow (the export's)."""
        import tensorflow as tf

        return tf.sigmoid(logits)

    def bounded_graph(self, predicted: tf.Tensor, probabilities: tf.Tensor) -> tf.Tensor:
        """``bounded`` in TensorFlow, for the export: the same rule on int32 0/1 [B, L]."""
        return bound_decisions_graph(predicted, probabilities, self.label_bounds)

    def served_thresholds(self) -> list[float] | None:
        """The tuned thresholds (0.5 each if none were tuned)."""
        return [float(t) for t in self.decision_thresholds]

    def threshold_policy(
        self, strategy: str | None, metric: str | None
    ) -> T.ThresholdPolicy | None:
        """--threshold_strategy (per_label by default) for the run's metric (micro-F1 when the
        run selects epochs by one that decisions do not change, the loss)."""
        metric = metric or self.default_metric
        return T.ThresholdPolicy(
            strategy or T.DEFAULT_STRATEGY,
            metric if metric in T.DECISION_METRICS else T.DECISION_METRICS[0],
        )

    def choose_thresholds(
        self, dev_logits: np.ndarray, dev_targets: np.ndarray, policy: T.ThresholdPolicy
    ) -> T.ThresholdChoice:
        """classifier.thresholds.choose_thresholds on the calibrated dev probabilities (the
        last answer is kept: a run asks for the same one for its reports and its head)."""
        probs = self.probabilities(dev_logits)
        targets = np.asarray(dev_targets)
        key = (policy, probs.shape, hash(probs.tobytes()), hash(targets.tobytes()))
        cached = getattr(self, "_choice", None)
        if cached is None or cached[0] != key:
            cached = (key, T.choose_thresholds(probs, targets, policy))
            self._choice = cached
        return cached[1]

    def finalize(
        self,
        dev_logits: np.ndarray | None,
        dev_targets: np.ndarray | None,
        policy: T.ThresholdPolicy | None = None,
    ) -> Head:
        """Thresholds fitted on dev by ``policy`` (the default one when None); 0.5 each
        without dev."""
        if dev_logits is None or dev_targets is None:
            return self.with_thresholds([T.FIXED_THRESHOLD] * self.num_labels)
        choice = self.choose_thresholds(dev_logits, dev_targets, policy or T.ThresholdPolicy())
        return self.with_thresholds([float(t) for t in choice.thresholds])

    def dev_report(
        self, logits: np.ndarray, targets: np.ndarray, policy: T.ThresholdPolicy | None
    ) -> dict[str, Any]:
        """The report of the rows the thresholds are fitted on: decisions cross-fitted (each
        row decided by thresholds fitted without its fold), the thresholds fitted on all rows,
        and ``threshold_tuning`` (every strategy's cross-validated figure)."""
        if policy is None:
            return self.report(logits, targets)
        choice = self.choose_thresholds(logits, targets, policy)
        report = self._bounded_report(
            self.scaled(logits), targets, choice.thresholds, choice.out_of_fold
        )
        report["threshold_tuning"] = choice.summary
        return report

    def _bounded_report(
        self,
        scaled_logits: np.ndarray,
        targets: np.ndarray,
        thresholds: np.ndarray,
        decisions: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """multilabel_report of ``decisions`` (default: at ``thresholds``) within the label
        bounds; with bounds set, also ``label_bounds`` and the figures without them
        (``micro_f1_without_bounds`` ...), so the report shows what the bounds changed."""
        names = list(self.labels)
        probs = self._probabilities(scaled_logits)
        if decisions is None:
            decisions = M.multilabel_predictions(probs, thresholds)
        final = self.bounded(decisions, probs)
        report = M.multilabel_report(scaled_logits, targets, names, thresholds, final)
        report.update(self._decision_structure_report(probs, final, targets))
        if not self.label_bounds.is_set:
            return report
        report["label_bounds"] = self.label_bounds.to_dict()
        gold = np.asarray(targets).astype(np.int32)
        for name in T.DECISION_METRICS:
            report[f"{name}{WITHOUT_BOUNDS}"] = T.decision_metric(name, decisions, gold)
        return report

    def _decision_structure_report(
        self, probabilities: np.ndarray, decisions: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        """What a kind adds to the report about its final ``decisions`` (default: nothing;
        the hierarchical head's per-level figures)."""
        return {}

    def dev_text_report(
        self, logits: np.ndarray, targets: np.ndarray, policy: T.ThresholdPolicy | None
    ) -> str:
        if policy is None:
            return self.text_report(logits, targets)
        choice = self.choose_thresholds(logits, targets, policy)
        body = self._decisions_text_report(
            self.bounded(choice.out_of_fold, self.probabilities(logits)), targets
        )
        return (
            f"Decisions cross-fitted: each row decided by {choice.strategy} thresholds fitted "
            f"without its fold ({choice.summary.get('folds', 0)} folds over these rows).\n\n" + body
        )

    def _report(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        return self._bounded_report(logits, targets, self.decision_thresholds)

    def _text_report(self, logits: np.ndarray, targets: np.ndarray) -> str:
        return self._decisions_text_report(self.decisions(self._probabilities(logits)), targets)

    def _decisions_text_report(self, decisions: np.ndarray, targets: np.ndarray) -> str:
        """scikit-learn's classification report of final 0/1 ``decisions``, one row per label."""
        return M.decisions_text_report(decisions, targets, list(self.labels))

    def _fit_temperatures(self, logits: np.ndarray, targets: np.ndarray) -> list[float]:
        return fit_sigmoid_temperatures(logits, targets)

    def reliability(self, logits: np.ndarray, targets: np.ndarray) -> ReliabilityBins:
        return multilabel_bins(self.probabilities(logits), targets)

    def error_tables(self, logits: np.ndarray, targets: np.ndarray, texts: Any) -> list[str]:
        probs = self.probabilities(logits)
        predicted = np.asarray(self.decisions(probs)) > 0
        thresholds = np.asarray(self.served_thresholds())
        return multilabel_tables(
            self.labels, probs, predicted, np.asarray(targets) > 0.5, thresholds, texts
        )

    def prediction_fields(self, probabilities: np.ndarray) -> tuple[str, str]:
        row = np.asarray(probabilities)[None, :]
        chosen = list(np.flatnonzero(self.decisions(row)[0]))
        predicted = "|".join(self.labels[i] for i in chosen)
        return predicted, "|".join(f"{probabilities[i]:.6f}" for i in chosen)
