"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one
number that divides the logits so the probabilities mean what they say, fitted on dev.

Fine-tuned BERTs are over-confident: a 0.95 from them is right less often than 95% of the time.
Dividing the logits by a temperature T > 1 fixes most of it without changing any decision:
argmax is unchanged, and multilabel thresholds are tuned on the calibrated probabilities.
Multiclass gets one T; multilabel gets one T for all labels, and its own T for each label that
has enough positives and negatives on dev to fit one without fitting noise.

Expected calibration error (ECE) is the measure: bins of confidence, the gap between mean
confidence and accuracy per bin, weighted by the bin's share of predictions (15 equal-width
bins as Guo et al.). Multilabel ECE treats each (text, label) probability as one binary
prediction of the label being present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from classifier.files import atomic_write
from classifier.head_options import CALIBRATION_METHODS
from classifier.metrics import sigmoid_cross_entropy, softmax_cross_entropy

METHODS = CALIBRATION_METHODS
ECE_BINS = 15
MIN_LABEL_EXAMPLES = 25  # dev positives and negatives a label needs for its own temperature
LOG_T_RANGE = (-3.0, 3.0)  # T in [0.05, 20]


def _fit_log_temperature(nll) -> float:
    result = minimize_scalar(nll, bounds=LOG_T_RANGE, method="bounded", options={"xatol": 1e-4})
    # Keep T = 1 unless scaling really lowers the dev loss.
    return float(result.x) if result.fun < nll(0.0) - 1e-9 else 0.0


def fit_softmax_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the dev negative log-likelihood of softmax(logits / T)."""
    logits = np.asarray(logits, np.float64)
    log_t = _fit_log_temperature(lambda s: softmax_cross_entropy(logits / np.exp(s), labels))
    return float(np.exp(log_t))


def fit_sigmoid_temperatures(logits: np.ndarray, targets: np.ndarray) -> list[float]:
    """One T per label: shared by all labels, refitted alone for each label with at least
    MIN_LABEL_EXAMPLES positives and negatives on dev."""
    logits = np.asarray(logits, np.float64)
    targets = np.asarray(targets, np.float64)
    shared = fit_shared_sigmoid_temperature(logits, targets)
    temperatures = []
    for j in range(logits.shape[1]):
        positives = targets[:, j].sum()
        if min(positives, len(targets) - positives) < MIN_LABEL_EXAMPLES:
            temperatures.append(shared)
        else:
            temperatures.append(fit_shared_sigmoid_temperature(logits[:, j], targets[:, j]))
    return temperatures


def fit_shared_sigmoid_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The one T minimising the binary cross-entropy of sigmoid(logits / T) over all entries."""
    log_t = _fit_log_temperature(lambda s: sigmoid_cross_entropy(logits / np.exp(s), targets))
    return float(np.exp(log_t))


@dataclass(frozen=True)
class ReliabilityBins:
    """Per confidence bin: mean confidence, accuracy, count (empty bins have count 0)."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        total = self.count.sum()
        if total == 0:
            return 0.0
        gaps = np.abs(self.confidence - self.accuracy)
        return float((gaps * self.count).sum() / total)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> ReliabilityBins:
    confidence = np.asarray(confidence, np.float64).ravel()
    correct = np.asarray(correct, np.float64).ravel()
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    safe = np.maximum(count, 1.0)
    return ReliabilityBins(
        confidence=np.bincount(which, confidence, minlength=bins) / safe,
        accuracy=np.bincount(which, correct, minlength=bins) / safe,
        count=count,
    )


def multiclass_bins(probabilities: np.ndarray, labels: np.ndarray) -> ReliabilityBins:
    """Top-label confidence against whether the top label is right."""
    probabilities = np.asarray(probabilities)
    top = probabilities.argmax(axis=1)
    return reliability_bins(probabilities.max(axis=1), top == np.asarray(labels))


def multilabel_bins(probabilities: np.ndarray, targets: np.ndarray) -> ReliabilityBins:
    """Every (text, label) probability against whether the label is present."""
    return reliability_bins(np.asarray(probabilities), np.asarray(targets) > 0.5)


def write_reliability_png(
    path: str | Path, before: ReliabilityBins, after: ReliabilityBins, title: str
) -> None:
    """The reliability diagram: accuracy against confidence per bin, before and after
    calibration, with the diagonal a calibrated model follows and each curve's ECE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for bins, name, marker in ((before, "before", "o"), (after, "after", "s")):
        seen = bins.count > 0
        ax.plot(
            bins.confidence[seen],
            bins.accuracy[seen],
            marker=marker,
            label=f"{name} (ECE {bins.ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
