"""The head object: everything a task's kind of labels decides, in one place.

A model always outputs logits. Whether they are read through a softmax (one label per text) or
per-label sigmoids (any number of labels), how labels are encoded, which loss and training
metric apply, how probabilities become decisions (argmax, or tuned per-label thresholds), what
the reports say and which columns a prediction file has: the head answers all of it, so the
rest of the code asks the head instead of comparing kind names. New head-level options (a
loss, calibration) live here, once. Model Garden's Task (official/nlp/tasks) plays this role
there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from classifier.calibration import ReliabilityBins, write_reliability_png
from classifier.coverage import COVERAGE_THRESHOLDS
from classifier.head_options import LossOptions
from classifier.label_bounds import LabelBounds
from classifier.thresholds import ThresholdPolicy

if TYPE_CHECKING:  # TensorFlow loads only when training or exporting calls for it (see Head)
    import keras
    import tensorflow as tf


class Example(Protocol):
    guid: str
    text_a: str
    text_b: str | None
    label: str | None
    labels: tuple[str, ...] | None


class Head(ABC):
    """One kind of labels over ``labels`` (their order is the model's output order).

    Subclasses set the class attributes and implement the abstract methods; ``thresholds`` are
    the per-label decision thresholds where the kind uses them (multilabel); ``temperatures``
    divide the model's logits before anything reads them (classifier.calibration): every public
    method takes the model's raw logits, and the underscored ones the subclasses implement get
    them scaled.

    Reading logits, decisions, reports and error analysis are numpy: importing a head does not
    load TensorFlow (scripts/baseline.sh reports through heads without it); the methods that
    build losses, metrics and graph outputs import TensorFlow / Keras when called.
    """

    kind: ClassVar[str]
    losses: ClassVar[tuple[str, ...]]
    selection_metrics: ClassVar[tuple[str, ...]]
    default_metric: ClassVar[str]
    min_labels: ClassVar[int]
    predicted_column: ClassVar[str]
    gold_column: ClassVar[str]
    # Whether decisions take --min_labels / --max_labels (classifier.label_bounds).
    takes_label_bounds: ClassVar[bool] = False
    takes_parent_loss_weight: ClassVar[bool] = False  # --parent_loss_weight (label trees)
    # Whether a text gets a set of labels (any number, none included) rather than exactly one.
    multiple_labels: ClassVar[bool] = False

    def __init__(
        self,
        labels: Sequence[str],
        thresholds: Sequence[float] | None = None,
        temperatures: Sequence[float] | None = None,
        label_bounds: LabelBounds | None = None,
    ):
        self.labels = tuple(labels)
        self.thresholds = None if thresholds is None else tuple(float(t) for t in thresholds)
        self.temperatures = None if temperatures is None else tuple(float(t) for t in temperatures)
        if self.temperatures is not None:
            if len(self.temperatures) not in self.temperature_counts():
                raise ValueError(
                    f"{len(self.temperatures)} temperatures for {self.num_labels} {self.kind} "
                    f"labels (allowed: {' or '.join(map(str, self.temperature_counts()))})"
                )
            if not all(t > 0 for t in self.temperatures):
                raise ValueError("temperatures must be positive")
        self._index = {name: i for i, name in enumerate(self.labels)}
        self.label_bounds = self.check_label_bounds(label_bounds or LabelBounds())

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def with_thresholds(self, thresholds: Sequence[float] | None) -> Head:
        return type(self)(self.labels, thresholds, self.temperatures, self.label_bounds)

    def with_label_bounds(self, bounds: LabelBounds | None) -> Head:
        return type(self)(self.labels, self.thresholds, self.temperatures, bounds)

    def check_label_bounds(self, bounds: LabelBounds) -> LabelBounds:
        """Refuses bounds this kind does not take or that cannot hold, naming the flag (a head
        without labels yet, training's blank one, checks all but the label count)."""
        if bounds.is_set and not self.takes_label_bounds:
            raise ValueError(
                f"{' and '.join(bounds.flags())} apply to multilabel tasks, not {self.kind}"
            )
        return bounds.check(self.num_labels or None)

    def temperature_counts(self) -> tuple[int, ...]:
        """How many temperatures this kind can take: one, or one per label."""
        return (1, self.num_labels)

    def with_temperatures(self, temperatures: Sequence[float] | None) -> Head:
        return type(self)(self.labels, self.thresholds, temperatures, self.label_bounds)

    # === Calibration ===
    def scaled(self, logits: np.ndarray) -> np.ndarray:
        """The logits divided by the temperature(s), float64 (unchanged without any)."""
        logits = np.asarray(logits, np.float64)
        if self.temperatures is None:
            return logits
        return logits / np.asarray(self.temperatures, np.float64)

    def scaled_graph(self, logits: tf.Tensor) -> tf.Tensor:
        import tensorflow as tf

        if self.temperatures is None:
            return logits
        return logits / tf.constant(self.temperatures, logits.dtype)

    def calibrate(self, dev_logits: np.ndarray, dev_targets: np.ndarray) -> Head:
        """This head with temperature(s) fitted on dev (classifier.calibration); unchanged for
        a kind that fits none."""
        temperatures = self._fit_temperatures(dev_logits, dev_targets)
        return self if temperatures is None else self.with_temperatures(temperatures)

    def _fit_temperatures(self, logits: np.ndarray, targets: np.ndarray) -> list[float] | None:
        """The temperature(s) that calibrate these dev logits (default: none, served as is)."""
        return None

    def reliability(self, logits: np.ndarray, targets: np.ndarray) -> ReliabilityBins | None:
        """The reliability bins of these (raw) logits read through this head (default: none,
        and then no calibration figures are reported)."""
        return None

    def calibration_report(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        """ECE of the served probabilities and of the uncalibrated ones, and the temperatures."""
        raw = self.with_temperatures(None)
        if self.reliability(logits, targets) is None:
            return {}
        return {
            "ece": self.reliability(logits, targets).ece,
            "ece_before_calibration": raw.reliability(logits, targets).ece,
            "temperatures": None if self.temperatures is None else list(self.temperatures),
        }

    # === Options ===
    def check_options(self, options: LossOptions, metric: str | None = None) -> str:
        """Refuses options that mean nothing for this kind, naming the flag; returns the
        metric that selects the best epoch."""
        if options.parent_loss_weight is not None and not self.takes_parent_loss_weight:
            raise ValueError(f"--parent_loss_weight applies to hierarchical tasks, not {self.kind}")
        if options.loss not in self.losses:
            raise ValueError(
                f"--loss={options.loss} is not available for {self.kind} tasks; "
                f"choose one of {self.losses}"
            )
        metric = metric or self.default_metric
        if metric not in self.selection_metrics:
            raise ValueError(
                f"metric {metric!r} is not available for {self.kind} tasks; "
                f"choose one of {self.selection_metrics}"
            )
        return metric

    # === Labels ===
    @abstractmethod
    def gold(self, example: Example) -> tuple[str, ...] | None:
        """The example's label names (None when it carries none)."""

    def has_labels(self, examples: Sequence[Example]) -> bool:
        return bool(examples) and all(self.gold(e) is not None for e in examples)

    def check_labels(self, examples: Sequence[Example], split: str) -> None:
        for example in examples:
            for name in self.gold(example) or ():
                if name not in self._index:
                    raise ValueError(
                        f"{split} example {example.guid}: label {name!r} is not one of the "
                        f"model's labels {list(self.labels)}"
                    )

    @abstractmethod
    def encode_labels(self, examples: Sequence[Example]) -> np.ndarray:
        """Label ids [N] or multi-hot rows [N, L], as the loss takes them."""

    def _ids(self, names: Sequence[str]) -> list[int]:
        try:
            return [self._index[name] for name in names]
        except KeyError as err:
            raise ValueError(f"label {err.args[0]!r} is not in the label set") from None

    # === Training ===
    @abstractmethod
    def loss(self, options: LossOptions, targets: np.ndarray) -> keras.losses.Loss:
        """The training loss; ``targets`` (the encoded training labels) size the weights."""

    def training_metrics(self) -> list[keras.metrics.Metric]:
        """The cheap per-batch metric Keras shows while training, on logits (default: none)."""
        return []

    # === Recipes: each hook has a default, so a new kind implements only what it serves ===
    def sample_weights(self, options: LossOptions, targets: np.ndarray) -> np.ndarray | None:
        """Per-example weights the options ask for (class weights), or None (default: the
        kind has no weighting, and a weighting flag is refused by name)."""
        for flag, value in (
            ("class_weight", options.class_weight),
            ("pos_weight", options.pos_weight),
        ):
            if value is not None:
                raise ValueError(f"--{flag} is not available for {self.kind} tasks")
        return None

    def prior_logits(
        self,
        options: LossOptions,
        targets: np.ndarray,
        sample_weights: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """The bias that makes an untrained head predict the training label frequencies
        (default None: the head's bias starts at zero)."""
        return None

    def consistency_loss(self, logits_a: tf.Tensor, logits_b: tf.Tensor) -> tf.Tensor:
        """R-Drop's symmetric KL between two dropout passes' predictions (classifier.losses)."""
        raise ValueError(f"--rdrop_alpha (R-Drop) is not available for {self.kind} tasks")

    def soft_target_loss(
        self, student_logits: tf.Tensor, teacher_logits: tf.Tensor, temperature: float
    ) -> tf.Tensor:
        """Distillation: per-example divergence of the student's predictions from the
        teacher's at ``temperature`` (times T^2), float32 [batch]."""
        raise ValueError(f"distill.sh does not distil {self.kind} models")

    def hard_target_loss(self, targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Distillation: the plain per-example loss on gold labels, float32 [batch]."""
        raise ValueError(f"distill.sh does not distil {self.kind} models")

    def describe_options(self, options: LossOptions, targets: np.ndarray) -> str:
        """One log line about data-dependent loss settings ("" when there are none)."""
        return ""

    # === Reading logits ===
    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the model's logits, float64."""
        return self._probabilities(self.scaled(logits))

    @abstractmethod
    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Numerically stable softmax / sigmoid in numpy, float64."""

    @abstractmethod
    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        """Predicted label ids [N] (multiclass) or 0/1 rows [N, L] (multilabel)."""

    def graph_outputs(self, logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(calibrated probabilities, predicted 0/1 int32 [B, L]) of the model's logits in
        TensorFlow, for the SavedModel."""
        return self._graph_outputs(self.scaled_graph(logits))

    @abstractmethod
    def _graph_outputs(self, logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]: ...

    # === Abstention ===
    def abstains(self, probabilities: np.ndarray, threshold: float) -> np.ndarray:
        """Rows [N] of bool: True where the text gets the abstain label instead of a decision.

        The rule: its largest calibrated probability is below ``threshold`` (multiclass: the
        top class's; multilabel: every label's). One rule on the probabilities the export
        already outputs, so a server can recompute it for a request's own threshold;
        threshold 0 never abstains, 1 always does unless a probability is exactly 1."""
        probabilities = np.asarray(probabilities)
        return probabilities.max(axis=-1) < threshold

    def abstains_graph(self, probabilities: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
        """``abstains`` in TensorFlow, for the exported graph: bool [B]."""
        import tensorflow as tf

        return tf.reduce_max(probabilities, axis=-1) < tf.cast(threshold, probabilities.dtype)

    # === Serving ===
    def served_outputs(
        self, logits: np.ndarray, abstain_threshold: float | None = None, abstain_label: str = ""
    ) -> dict[str, np.ndarray]:
        """The SavedModel's serving_default outputs of the model's raw ``logits`` [N, K], in
        numpy (export.serving_module.ServingModule._outputs in TensorFlow): ``label`` and
        ``score`` (the most probable label), ``labels`` (the decided names, "" elsewhere),
        ``predicted`` (0/1 int32), ``probabilities`` (calibrated, float32) and ``logits``.
        ``abstain_threshold``: rows below it (``abstains``) get ``abstain_label``, no
        decisions, and ``abstained`` true. The run folder in memory (FineTuner.predict_outputs)
        and the ONNX runtime (serving.onnx_predictor) answer through this."""
        logits = np.asarray(logits, np.float32).reshape(-1, self.num_labels)
        probabilities = self.probabilities(logits)
        decisions = np.asarray(self.decisions(probabilities))
        if decisions.ndim == 1:  # label ids -> one-hot rows, as the export's "predicted"
            decisions = np.eye(self.num_labels, dtype=np.int32)[decisions]
        predicted = decisions.astype(np.int32).reshape(len(logits), self.num_labels)
        names = np.array(self.labels, dtype=object)
        top = probabilities.argmax(axis=-1) if len(logits) else np.zeros([0], int)
        outputs = {
            "label": names[top],
            "score": probabilities[np.arange(len(top)), top].astype(np.float32),
            "labels": np.where(predicted > 0, names, "").astype(object),
            "predicted": predicted,
            "probabilities": probabilities.astype(np.float32),
            "logits": logits,
        }
        if abstain_threshold is not None:
            abstained = np.asarray(self.abstains(probabilities, abstain_threshold), bool)
            abstained = abstained.reshape(len(logits))
            outputs["label"] = np.where(abstained, abstain_label, outputs["label"]).astype(object)
            outputs["labels"] = np.where(abstained[:, None], "", outputs["labels"]).astype(object)
            outputs["predicted"] = np.where(abstained[:, None], 0, predicted).astype(np.int32)
            outputs["abstained"] = abstained
        return outputs

    def coverage_metric(self, decisions: np.ndarray, targets: np.ndarray) -> float | None:
        """The default metric of the answered rows' decisions (None: the kind reports no
        coverage curve)."""
        return None

    def coverage_curve(
        self,
        logits: np.ndarray,
        targets: np.ndarray,
        policy: ThresholdPolicy | None = None,
        thresholds: Sequence[float] = COVERAGE_THRESHOLDS,
    ) -> list[dict[str, Any]]:
        """Per abstain threshold: the share of rows answered, the default metric of their
        decisions (None when none is answered) and how many; decided as ``dev_report``
        decides these rows (``policy``), so threshold 0's figure is the report's."""
        probabilities = self.probabilities(logits)
        decisions = np.asarray(self._coverage_decisions(logits, targets, policy))
        targets = np.asarray(targets)
        if not len(probabilities) or self.coverage_metric(decisions, targets) is None:
            return []
        rows = []
        for threshold in thresholds:
            answered = ~self.abstains(probabilities, threshold)
            count = int(answered.sum())
            value = self.coverage_metric(decisions[answered], targets[answered]) if count else None
            rows.append(
                {
                    "threshold": float(threshold),
                    "coverage": count / len(probabilities),
                    self.default_metric: value,
                    "answered": count,
                }
            )
        return rows

    def _coverage_decisions(
        self, logits: np.ndarray, targets: np.ndarray, policy: ThresholdPolicy | None
    ) -> np.ndarray:
        return self.decisions(self.probabilities(logits))

    def served_thresholds(self) -> list[float] | None:
        """The decision thresholds an export serves (None for heads that have none)."""
        return None

    def threshold_policy(self, strategy: str | None, metric: str | None) -> ThresholdPolicy | None:
        """How decision thresholds are fitted on dev (classifier.thresholds.ThresholdPolicy),
        or None for a kind that has none; refuses a strategy given to such a kind."""
        if strategy is not None:
            raise ValueError(f"--threshold_strategy applies to multilabel tasks, not {self.kind}")
        return None

    def finalize(
        self,
        dev_logits: np.ndarray | None,
        dev_targets: np.ndarray | None,
        policy: ThresholdPolicy | None = None,
    ) -> Head:
        """After training: decision settings fitted on dev (thresholds); self by default."""
        return self

    # === Reports ===
    def report(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        """The results dict (metrics, loss of the calibrated probabilities, per-label figures)
        of eval_results.json."""
        return self._report(self.scaled(logits), targets)

    @abstractmethod
    def _report(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]: ...

    def text_report(self, logits: np.ndarray, targets: np.ndarray) -> str:
        """scikit-learn's classification report."""
        return self._text_report(self.scaled(logits), targets)

    @abstractmethod
    def _text_report(self, logits: np.ndarray, targets: np.ndarray) -> str: ...

    def dev_report(
        self, logits: np.ndarray, targets: np.ndarray, policy: ThresholdPolicy | None
    ) -> dict[str, Any]:
        """The report of the rows decision settings were fitted on (``policy``: how), kept
        honest where fitting would flatter it; ``report`` for kinds with nothing fitted."""
        return self.report(logits, targets)

    def dev_text_report(
        self, logits: np.ndarray, targets: np.ndarray, policy: ThresholdPolicy | None
    ) -> str:
        return self.text_report(logits, targets)

    def write_figures(
        self, folder: Path, names: dict[str, str], logits: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        """Extra report files (the reliability diagram, the kind's own figures); returns what
        to add to the results."""
        before = self.with_temperatures(None).reliability(logits, targets)
        title = "calibrated by temperature" if self.temperatures else "not calibrated"
        write_reliability_png(
            folder / names["reliability_png"], before, self.reliability(logits, targets), title
        )
        return self._write_figures(folder, names, self.scaled(logits), targets)

    def _write_figures(
        self, folder: Path, names: dict[str, str], logits: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        return {}

    @abstractmethod
    def error_tables(self, logits: np.ndarray, targets: np.ndarray, texts: Any) -> list[str]:
        """The Markdown lines of error analysis (classifier.error_analysis): where this kind of
        head goes wrong, with example rows (``texts(i)``: row i's cells, ``texts.header``)."""

    # === Prediction files ===
    @abstractmethod
    def prediction_fields(self, probabilities: np.ndarray) -> tuple[str, str]:
        """(predicted label(s), their probability) of one row, as written to the TSV."""

    def export_metadata(self) -> dict[str, Any]:
        """What an export's metadata says of this kind's decisions: ``multiple_labels`` (a
        set per text, or one label), and a kind's own (the hierarchical head's label tree)."""
        return {"multiple_labels": self.multiple_labels}

    def gold_field(self, example: Example) -> str:
        return "|".join(self.gold(example) or ())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": list(self.labels),
            "thresholds": self.thresholds,
            "temperatures": self.temperatures,
            **({"label_bounds": self.label_bounds.to_dict()} if self.label_bounds.is_set else {}),
        }
