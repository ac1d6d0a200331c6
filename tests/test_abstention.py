"""Abstention (issue 21, item 3): below --abstain_threshold a text gets the abstain label.

The rule is the head's (its largest calibrated probability below P); the export bakes it into
the graph and records it in its metadata; predict.sh, the REPL and both HTTP routes take a
per-request threshold; dev reports carry a coverage curve to pick P from."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.heads import make_head
from classifier.split_reports import write_split_reports

MC_LABELS = ("体育", "财经", "科技", "娱乐")


# === The head's rule ===
def test_multiclass_abstains_when_the_top_probability_is_below_p():
    head = make_head("multiclass", ("a", "b", "c"))
    probs = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [0.0, 1.0, 0.0]])
    assert head.abstains(probs, 0.4).tolist() == [False, True, False]
    assert head.abstains(probs, 0.5).tolist() == [False, True, False]  # at P: answered
    assert not head.abstains(probs, 0.0).any()  # 0 never abstains
    assert head.abstains(probs, 1.0).tolist() == [True, True, False]  # 1: unless exactly 1


def test_multilabel_abstains_only_when_every_label_is_below_p():
    head = make_head("multilabel", ("a", "b", "c"))
    probs = np.array([[0.1, 0.2, 0.7], [0.1, 0.2, 0.3], [0.0, 0.0, 0.0]])
    assert head.abstains(probs, 0.5).tolist() == [False, True, True]
    assert not head.abstains(probs, 0.0).any()
    assert head.abstains(np.array([[1.0, 0.0], [0.99, 0.99]]), 1.0).tolist() == [False, True]


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_the_graph_rule_is_the_numpy_rule(kind):
    head = make_head(kind, ("a", "b", "c"))
    probs = np.random.default_rng(0).dirichlet([1, 1, 1], size=50).astype(np.float32)
    for p in (0.0, 0.3, 0.5, 0.8, 1.0):
        graph = head.abstains_graph(probs, np.float32(p)).numpy()
        assert graph.tolist() == head.abstains(probs, p).tolist()


# === The coverage curve ===
def dev_logits(kind: str, n: int = 120):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, size=(n, len(MC_LABELS)))
    if kind == "multiclass":
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # calibrated
        targets = np.array([rng.choice(len(MC_LABELS), p=row) for row in probs])
    else:
        targets = ((logits + rng.normal(0, 1.5, logits.shape)) > 0.5).astype(np.float32)
    return logits, targets


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_coverage_curve_is_written_with_the_reports(kind, tmp_path):
    from classifier.thresholds import ThresholdPolicy

    head = make_head(kind, MC_LABELS)
    logits, targets = dev_logits(kind)
    policy = head.threshold_policy(None, None) if kind == "multilabel" else None
    assert policy is None or isinstance(policy, ThresholdPolicy)
    examples = [example(kind, i, targets[i]) for i in range(len(targets))]
    results = write_split_reports(tmp_path, head, examples, logits, targets, "eval", policy)
    curve = results["coverage_curve"]
    metric = head.default_metric
    assert [row["threshold"] for row in curve][:3] == [0.0, 0.05, 0.1]
    coverage = [row["coverage"] for row in curve]
    assert coverage[0] == 1.0 and all(
        a >= b for a, b in zip(coverage[:-1], coverage[1:], strict=True)
    )
    assert curve[0][metric] == pytest.approx(results[metric])  # threshold 0: the plain figure
    assert curve[0]["answered"] == len(targets)
    assert coverage[-1] < 1.0  # the grid reaches thresholds that abstain
    for row in curve:
        assert row["answered"] == round(row["coverage"] * len(targets))
        assert (row[metric] is None) == (row["answered"] == 0)
    saved = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert saved["coverage_curve"] == curve
    png = tmp_path / "coverage_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    test = write_split_reports(tmp_path, head, examples, logits, targets, "test")
    assert test["coverage_curve"] and (tmp_path / "test_coverage_curve.png").is_file()


def test_coverage_rises_where_the_model_is_confident():
    head = make_head("multiclass", MC_LABELS)
    logits, targets = dev_logits("multiclass", 400)
    curve = head.coverage_curve(logits, targets)
    answered = [row for row in curve if row["answered"] >= 20]
    assert answered[-1]["accuracy"] > answered[0]["accuracy"]


def example(kind: str, i: int, target):
    from types import SimpleNamespace

    if kind == "multiclass":
        return SimpleNamespace(guid=f"dev-{i}", text_a=f"t{i}", text_b=None, label=MC_LABELS[int(target)], labels=None)  # fmt: skip
    names = tuple(MC_LABELS[j] for j in np.flatnonzero(target))
    return SimpleNamespace(guid=f"dev-{i}", text_a=f"t{i}", text_b=None, label=None, labels=names)
