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


def multilabel_report(
    logits: np.ndarray,
    targets: np.ndarray,
    label_names: list[str],
    thresholds: np.ndarray,
) -> dict[str, Any]:
    """micro/macro/samples F1 at the given per-label thresholds, loss, per-label figures."""
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    predictions = multilabel_predictions(probs, thresholds)
    targets = np.asarray(targets).astype(np.int32)
    indices = list(range(len(label_names)))

    def f1(average: str) -> float:
        return float(
            f1_score(targets, predictions, labels=indices, average=average, zero_division=0)
        )

    return {
        "num_examples": int(len(targets)),
        "micro_f1": f1("micro"),
        "macro_f1": f1("macro"),
        "samples_f1": f1("samples") if len(targets) else 0.0,
        "subset_accuracy": float((predictions == targets).all(axis=1).mean())
        if len(targets)
        else 0.0,
        "loss": sigmoid_cross_entropy(logits, targets),
        "thresholds": {name: float(t) for name, t in zip(label_names, thresholds, strict=True)},
        "per_label": _per_label(targets, predictions, label_names),
    }


def multilabel_text_report(logits, targets, label_names: list[str], thresholds) -> str:
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    return classification_report(
        np.asarray(targets).astype(np.int32),
        multilabel_predictions(probs, thresholds),
        labels=list(range(len(label_names))),
        target_names=label_names,
        digits=4,
        zero_division=0,
    )


def tune_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, default: float = 0.5
) -> np.ndarray:
    """One threshold per label, maximising that label's F1 on the given (dev) data.

    The threshold sits halfway between the lowest probability still predicted positive and the
    next one below, so it generalises instead of hugging a dev example. A label with no positive
    example keeps ``default``; among equally good cut-offs the one nearest ``default`` wins.
    """
    probabilities = np.asarray(probabilities, np.float64)
    targets = np.asarray(targets).astype(bool)
    thresholds = np.full(probabilities.shape[1], default)
    for j in range(probabilities.shape[1]):
        positives = int(targets[:, j].sum())
        if positives == 0:
            continue
        order = np.argsort(-probabilities[:, j], kind="stable")
        probs = probabilities[order, j]
        hits = targets[order, j]
        true_pos = np.cumsum(hits)
        predicted = np.arange(1, len(probs) + 1)
        f1 = 2 * true_pos / (predicted + positives)
        # Only cut where the next probability is strictly lower (ties must fall together).
        valid = np.append(probs[:-1] > probs[1:], True)
        f1 = np.where(valid, f1, -1.0)
        below = np.append(probs[1:], 0.0)
        cuts = (probs + below) / 2
        best = f1.max()
        candidates = np.flatnonzero(np.isclose(f1, best))
        thresholds[j] = cuts[candidates[np.argmin(np.abs(cuts[candidates] - default))]]
    return thresholds
