"""Multilabel bounds (issue 21, item 4): --min_labels / --max_labels per text.

After the thresholds, the most probable missing labels are added up to min_labels and the least
probable chosen ones dropped down to max_labels (ties: label order). The rule is the multilabel
head's, in numpy and in the exported graph; train.sh's reports, export.sh, predict.sh and HTTP
take it; a multiclass model refuses it by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.heads import make_head
from classifier.heads.label_bounds import LabelBounds, bound_decisions, bound_decisions_graph

LABELS = ("物流", "质量", "服务", "价格")


def bounded(decisions, probs, lo=0, hi=None):
    return bound_decisions(np.array(decisions), np.array(probs), LabelBounds(lo, hi)).tolist()


# === The rule ===
def test_min_labels_adds_the_most_probable_missing_labels():
    probs = [[0.1, 0.3, 0.2, 0.05], [0.9, 0.3, 0.2, 0.05]]
    decisions = [[0, 0, 0, 0], [1, 0, 0, 0]]
    assert bounded(decisions, probs, 1) == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert bounded(decisions, probs, 2) == [[0, 1, 1, 0], [1, 1, 0, 0]]


def test_max_labels_keeps_the_most_probable_chosen_labels():
    probs = [[0.6, 0.9, 0.7, 0.8]]
    assert bounded([[1, 1, 1, 1]], probs, 0, 2) == [[0, 1, 0, 1]]
    # Only chosen labels are kept: a more probable unchosen one is not brought in.
    assert bounded([[1, 0, 1, 0]], probs, 0, 1) == [[0, 0, 1, 0]]
    assert bounded([[1, 1, 0, 0]], probs, 0, 0) == [[0, 0, 0, 0]]


def test_ties_go_to_the_earlier_label():
    probs = [[0.4, 0.4, 0.4, 0.4]]
    assert bounded([[0, 0, 0, 0]], probs, 2) == [[1, 1, 0, 0]]
    assert bounded([[1, 1, 1, 1]], probs, 0, 3) == [[1, 1, 1, 0]]
    assert bounded([[0, 1, 0, 1]], probs, 0, 1) == [[0, 1, 0, 0]]


def test_min_equal_max_gives_exactly_k_labels():
    rng = np.random.default_rng(0)
    probs = rng.random((200, 4))
    decisions = (probs >= rng.random(4)).astype(np.int32)
    for k in range(5):
        result = bound_decisions(decisions, probs, LabelBounds(k, k))
        assert (result.sum(axis=1) == k).all()


def test_no_bounds_change_nothing():
    rng = np.random.default_rng(1)
    probs = rng.random((50, 4))
    decisions = (probs >= 0.5).astype(np.int32)
    assert (bound_decisions(decisions, probs, LabelBounds()) == decisions).all()
    head = make_head("multilabel", LABELS, (0.5, 0.5, 0.5, 0.5))
    assert (head.decisions(probs) == decisions).all()
    assert "label_bounds" not in head.to_dict()


def test_the_head_applies_its_bounds():
    head = make_head("multilabel", LABELS, None, None, LabelBounds(1, 2))
    probs = np.array([[0.1, 0.3, 0.2, 0.05], [0.9, 0.8, 0.7, 0.6]])
    assert head.decisions(probs).tolist() == [[0, 1, 0, 0], [1, 1, 0, 0]]
    assert head.prediction_fields(probs[0]) == ("质量", "0.300000")
    assert head.with_thresholds([0.2] * 4).label_bounds == LabelBounds(1, 2)
    assert head.with_temperatures([2.0]).label_bounds == LabelBounds(1, 2)
    assert head.to_dict()["label_bounds"] == {"min_labels": 1, "max_labels": 2}


@pytest.mark.parametrize("bounds", [LabelBounds(0, 0), LabelBounds(1, 3), LabelBounds(2, 2), LabelBounds(3), LabelBounds(0, 1), LabelBounds(4, 4)])  # fmt: skip
def test_the_graph_rule_is_the_numpy_rule(bounds):
    import tensorflow as tf

    rng = np.random.default_rng(7)
    probs = rng.random((300, 4)).astype(np.float32)
    probs[::7, 1] = probs[::7, 2]  # ties
    probs[::11] = 0.5
    decisions = (probs >= rng.random(4).astype(np.float32)).astype(np.int32)
    graph = bound_decisions_graph(tf.constant(decisions), tf.constant(probs), bounds).numpy()
    assert graph.tolist() == bound_decisions(decisions, probs, bounds).tolist()
    head = make_head("multilabel", LABELS, (0.3, 0.5, 0.7, 0.9), None, bounds)
    logits = np.log(probs / (1 - probs + 1e-7) + 1e-7).astype(np.float32)
    served, predicted = head.graph_outputs(tf.constant(logits))
    assert predicted.numpy().tolist() == head.decisions(served.numpy()).tolist()


# === Bad bounds: one clear line naming the flag ===
def test_a_multiclass_head_refuses_bounds_by_name():
    with pytest.raises(ValueError, match="--min_labels apply to multilabel tasks, not multiclass"):
        make_head("multiclass", ("a", "b"), None, None, LabelBounds(1))
    with pytest.raises(ValueError, match="^--max_labels apply"):
        make_head("multiclass", ("a", "b")).with_label_bounds(LabelBounds(0, 2))
    make_head("multiclass", ("a", "b"), None, None, LabelBounds())  # defaults: fine


def test_impossible_bounds_are_refused_by_name():
    with pytest.raises(ValueError, match=r"--min_labels \(3\) must not exceed --max_labels"):
        make_head("multilabel", LABELS, None, None, LabelBounds(3, 2))
    with pytest.raises(ValueError, match=r"--min_labels \(5\) must not exceed the number of labels"):  # fmt: skip
        make_head("multilabel", LABELS, None, None, LabelBounds(5))
    with pytest.raises(ValueError, match="--max_labels must be a non-negative integer"):
        LabelBounds(0, -1).check()


def test_training_config_takes_the_flags():
    from classifier.training.training_config import TrainingConfig

    config = TrainingConfig(min_labels=1, max_labels=3)
    assert config.label_bounds == LabelBounds(1, 3)
    assert "min_labels" not in config.result_settings()  # a resumed run may change them
    with pytest.raises(ValueError, match="--min_labels"):
        TrainingConfig(min_labels=4, max_labels=3)


# === Training's reports ===
def dev_rows(n: int = 120):
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    logits = rng.normal(-1.5, 2, size=(n, len(LABELS)))
    targets = ((logits + rng.normal(0, 1.5, logits.shape)) > 0.5).astype(np.float32)
    examples = [
        SimpleNamespace(
            guid=f"dev-{i}",
            text_a=f"t{i}",
            text_b=None,
            label=None,
            labels=tuple(LABELS[j] for j in np.flatnonzero(row)),
        )  # fmt: skip
        for i, row in enumerate(targets)
    ]
    return logits, targets, examples


def test_reports_record_the_bounds_and_the_figures_without_them(tmp_path):
    import csv

    from classifier.split_reports import write_predictions, write_split_reports
    from classifier.thresholds import ThresholdPolicy

    logits, targets, examples = dev_rows()
    head = make_head("multilabel", LABELS).finalize(logits, targets, ThresholdPolicy())
    plain = write_split_reports(tmp_path / "plain", head, examples, logits, targets, "eval", ThresholdPolicy())  # fmt: skip
    assert "label_bounds" not in plain and "micro_f1_without_bounds" not in plain
    bounded_head = head.with_label_bounds(LabelBounds(1, 2))
    results = write_split_reports(tmp_path, bounded_head, examples, logits, targets, "eval", ThresholdPolicy())  # fmt: skip
    saved = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert saved["label_bounds"] == {"min_labels": 1, "max_labels": 2} == results["label_bounds"]
    for name in ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy"):
        assert saved[f"{name}_without_bounds"] == plain[name]
    assert saved["micro_f1"] != plain["micro_f1"]  # the bounds changed decisions here
    write_predictions(tmp_path / "dev_predictions.tsv", bounded_head, examples, bounded_head.probabilities(logits), False)  # fmt: skip
    with open(tmp_path / "dev_predictions.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    counts = [len(row["predicted_labels"].split("|")) for row in rows]
    assert all(row["predicted_labels"] for row in rows) and max(counts) <= 2
