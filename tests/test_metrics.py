"""Reports, checked against hand-computed values (thresholds: tests/test_thresholds.py)."""

from __future__ import annotations

import numpy as np
import pytest

from classifier import metrics as M


def test_multiclass_report_matches_hand_counts():
    labels = np.array([0, 0, 1, 1, 2, 2])
    logits = np.array([[3, 0, 0], [0, 3, 0], [0, 3, 0], [0, 3, 0], [0, 0, 3], [3, 0, 0]], float)
    r = M.multiclass_report(logits, labels, ["a", "b", "c"])
    assert r["accuracy"] == pytest.approx(4 / 6)
    # a: P=1/2 R=1/2; b: P=2/3 R=1; c: P=1 R=1/2
    f1 = [0.5, 0.8, 2 / 3]
    assert r["macro_f1"] == pytest.approx(np.mean(f1))
    assert r["weighted_f1"] == pytest.approx(np.mean(f1))  # equal supports
    assert r["per_label"]["b"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )
    expected_loss = -np.mean(
        [np.log(np.exp(row[y]) / np.exp(row).sum()) for row, y in zip(logits, labels, strict=True)]
    )
    assert r["loss"] == pytest.approx(expected_loss)


def test_macro_f1_counts_labels_absent_from_the_data():
    # A label never seen in dev still counts (as 0) in the macro average: the honest figure.
    r = M.multiclass_report(np.array([[5.0, 0, 0], [0, 5.0, 0]]), np.array([0, 1]), ["a", "b", "c"])
    assert r["macro_f1"] == pytest.approx(2 / 3)
    assert r["per_label"]["c"]["support"] == 0


def test_confusion_rows_are_true_labels():
    m = M.multiclass_confusion(np.array([[0, 1.0], [0, 1.0], [1.0, 0]]), np.array([0, 1, 1]), 2)
    assert m.tolist() == [[0, 1], [1, 1]]


def test_multilabel_report_applies_the_thresholds():
    logits = np.log(
        np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.35]])
        / (1 - np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.35]]))
    )
    targets = np.array([[1, 0], [1, 1], [0, 1]])
    r = M.multilabel_report(logits, targets, ["x", "y"], np.array([0.3, 0.3]))
    assert r["micro_f1"] == pytest.approx(1.0)
    r = M.multilabel_report(logits, targets, ["x", "y"], np.array([0.5, 0.5]))
    assert r["per_label"]["x"]["recall"] == pytest.approx(0.5)
    assert r["thresholds"] == {"x": 0.5, "y": 0.5}


def test_multilabel_report_puts_the_half_cut_off_beside_the_tuned_one():
    probs = np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.35]])
    targets = np.array([[1, 0], [1, 1], [0, 1]])
    r = M.multilabel_report(np.log(probs / (1 - probs)), targets, ["x", "y"], np.array([0.3, 0.3]))
    assert r["micro_f1"] == pytest.approx(1.0)
    assert r["micro_f1_at_0.5"] == pytest.approx(2 * 2 / (2 + 4))
    assert {"macro_f1_at_0.5", "samples_f1_at_0.5", "subset_accuracy_at_0.5"} <= set(r)
