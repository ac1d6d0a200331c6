"""Evaluation reports with scikit-learn: the numbers a user compares runs by.

All functions take numpy arrays and label names and return plain JSON-ready dicts, so the
same code reports on dev during training, after training, and on test predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from classifier.thresholds import DECISION_METRICS, decision_metric

METRICS = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "samples_f1", "loss")


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean()) if len(labels) else 0.0


def sigmoid_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    x = np.asarray(logits, np.float64)
    z = np.asarray(targets, np.float64)
    # max(x, 0) - x z + log(1 + exp(-|x|)): stable for large |x|.
    losses = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    return float(losses.mean()) if losses.size else 0.0


def _per_label(y_true, y_pred, label_names: list[str]) -> dict[str, dict[str, float]]:
    indices = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=indices, zero_division=0
    )
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }


def multiclass_report(
    logits: np.ndarray, labels: np.ndarray, label_names: list[str]
) -> dict[str, Any]:
    """accuracy, macro/micro/weighted F1, loss and per-label precision/recall/F1/support."""
    predictions = np.asarray(logits).argmax(axis=1)
    indices = list(range(len(label_names)))
    return {
        "num_examples": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predictions)) if len(labels) else 0.0,
        "macro_f1": float(
            f1_score(labels, predictions, labels=indices, average="macro", zero_division=0)
        ),
        "micro_f1": float(
            f1_score(labels, predictions, labels=indices, average="micro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(labels, predictions, labels=indices, average="weighted", zero_division=0)
        ),
        "loss": softmax_cross_entropy(logits, labels),
        "per_label": _per_label(labels, predictions, label_names),
    }


def multiclass_text_report(logits, labels, label_names: list[str]) -> str:
    predictions = np.asarray(logits).argmax(axis=1)
    return classification_report(
        labels,
        predictions,
        labels=list(range(len(label_names))),
        target_names=label_names,
        digits=4,
        zero_division=0,
    )


def multiclass_confusion(logits, labels, num_labels: int) -> np.ndarray:
    """Rows are true labels, columns predicted labels, in label order."""
    predictions = np.asarray(logits).argmax(axis=1)
    return confusion_matrix(labels, predictions, labels=list(range(num_labels)))


def multilabel_predictions(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return (np.asarray(probabilities) >= np.asarray(thresholds)[None, :]).astype(np.int32)


AT_FIXED = "_at_0.5"  # suffix of the figures at the plain 0.5 cut-off, beside the tuned ones


def multilabel_report(
    logits: np.ndarray,
    targets: np.ndarray,
    label_names: list[str],
    thresholds: np.ndarray,
    predictions: np.ndarray | None = None,
) -> dict[str, Any]:
    """micro/macro/samples F1 and subset accuracy of the decisions at the given per-label
    thresholds (or of ``predictions``, when they were made otherwise: out-of-fold), the same
    figures at 0.5 (``micro_f1_at_0.5`` ...), loss and per-label figures."""
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    if predictions is None:
        predictions = multilabel_predictions(probs, thresholds)
    targets = np.asarray(targets).astype(np.int32)
    at_fixed = multilabel_predictions(probs, np.full(len(label_names), 0.5))
    report: dict[str, Any] = {"num_examples": int(len(targets))}
    report.update(_decision_figures(predictions, targets, ""))
    report["loss"] = sigmoid_cross_entropy(logits, targets)
    report.update(_decision_figures(at_fixed, targets, AT_FIXED))
    report["thresholds"] = {name: float(t) for name, t in zip(label_names, thresholds, strict=True)}
    report["per_label"] = _per_label(targets, predictions, label_names)
    return report


def _decision_figures(predictions: np.ndarray, targets: np.ndarray, suffix: str) -> dict:
    return {
        f"{name}{suffix}": decision_metric(name, predictions, targets) for name in DECISION_METRICS
    }


def decisions_text_report(predictions, targets, label_names: list[str]) -> str:
    """scikit-learn's classification report of 0/1 ``predictions`` [N, L] against multi-hot
    ``targets``, one row per label."""
    return classification_report(
        np.asarray(targets).astype(np.int32),
        np.asarray(predictions).astype(np.int32),
        labels=list(range(len(label_names))),
        target_names=label_names,
        digits=4,
        zero_division=0,
    )
