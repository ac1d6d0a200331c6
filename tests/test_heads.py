"""Both head kinds keep one contract: labels in, the loss's targets out; numpy and graph
decisions agree; reports carry every selection metric; prediction columns; finalize."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from classifier.heads import (
    LossOptions,
    MulticlassHead,
    MultilabelHead,
    head_kind_of,
    make_head,
    register_head,
)

LABELS = ("体育", "财经", "科技")


def example(label=None, labels=None):
    return SimpleNamespace(guid="g", text_a="x", text_b=None, label=label, labels=labels)


EXAMPLES = {
    "multiclass": [example("体育"), example("科技"), example("财经"), example("科技")],
    "multilabel": [example(labels=("体育",)), example(labels=()), example(labels=("财经", "科技"))],
}


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_head_contract(kind):
    head = make_head(kind, LABELS)
    examples = EXAMPLES[kind]
    targets = head.encode_labels(examples)
    assert head.has_labels(examples)
    assert not head.has_labels([example()])
    with pytest.raises(ValueError, match="label '足球' is not one of the model's labels"):
        head.check_labels([example("足球", ("足球",))], "dev")

    logits = np.random.default_rng(0).normal(0, 2, (len(examples), 3)).astype(np.float32)
    probs = head.probabilities(logits)
    assert ((probs >= 0) & (probs <= 1)).all()
    graph_probs, predicted = head.graph_outputs(tf.constant(logits))
    np.testing.assert_allclose(graph_probs.numpy(), probs, atol=1e-6)
    decisions = head.decisions(probs)
    expected = np.eye(3, dtype=int)[decisions] if decisions.ndim == 1 else decisions
    np.testing.assert_array_equal(predicted.numpy(), expected)

    report = head.report(logits, targets)
    for metric in head.selection_metrics:
        assert metric in report
    assert head.check_options(LossOptions()) == head.default_metric
    loss = head.loss(LossOptions(), targets)
    assert float(loss(targets, logits)) > 0

    predicted_names, score = head.prediction_fields(probs[0])
    assert all(name in LABELS for name in filter(None, predicted_names.split("|")))
    finalized = head.finalize(logits, targets)
    assert finalized.labels == head.labels
    if finalized.thresholds is not None:
        assert len(finalized.served_thresholds()) == 3


def test_a_task_names_its_head_kind_or_says_whether_it_is_multilabel():
    from types import SimpleNamespace

    assert head_kind_of(SimpleNamespace(is_multilabel=True)) == "multilabel"
    assert head_kind_of(SimpleNamespace(is_multilabel=False)) == "multiclass"
    assert head_kind_of(SimpleNamespace(is_multilabel=False, head_kind="multilabel")) == (
        "multilabel"
    )
    with pytest.raises(ValueError, match=r"one of \('multiclass', 'multilabel'.*'tree'"):
        head_kind_of(SimpleNamespace(head_kind="tree"))
    with pytest.raises(ValueError, match="registered twice"):
        register_head("multiclass")(MulticlassHead)


def test_kinds_and_their_label_encodings():
    assert isinstance(make_head("multiclass", LABELS), MulticlassHead)
    np.testing.assert_array_equal(
        make_head("multiclass", LABELS).encode_labels(EXAMPLES["multiclass"]), [0, 2, 1, 2]
    )
    multihot = MultilabelHead(LABELS).encode_labels(EXAMPLES["multilabel"])
    np.testing.assert_array_equal(multihot, [[1, 0, 0], [0, 0, 0], [0, 1, 1]])
    with pytest.raises(ValueError, match="head kind must be one of"):
        make_head("regression", LABELS)


def test_multilabel_thresholds_decide_and_are_served():
    head = MultilabelHead(LABELS, thresholds=(0.2, 0.5, 0.9))
    probs = np.array([[0.3, 0.4, 0.95]])
    np.testing.assert_array_equal(head.decisions(probs), [[1, 0, 1]])
    assert head.prediction_fields(probs[0]) == ("体育|科技", "0.300000|0.950000")
    assert head.served_thresholds() == [0.2, 0.5, 0.9]
    assert MulticlassHead(LABELS).served_thresholds() is None


REQUIRED = {  # what a head kind must say: its labels, its loss, its decisions, its report
    "gold",
    "encode_labels",
    "loss",
    "_probabilities",
    "decisions",
    "_graph_outputs",
    "prediction_fields",
    "_report",
    "_text_report",
    "error_tables",
}


def test_a_new_head_kind_implements_only_its_labels_loss_decisions_and_report():
    """Every other hook (calibration, class weights, priors, R-Drop, distillation) has a
    default: a kind without it is served uncalibrated, starts at zero bias, and refuses the
    recipe's flag by name."""
    from types import SimpleNamespace

    from classifier.heads import HEADS, Head
    from classifier.heads.registry import head_kind_of

    assert set(Head.__abstractmethods__) == REQUIRED

    class Ranker(Head):
        losses, selection_metrics, default_metric = ("cross_entropy",), ("accuracy",), "accuracy"
        min_labels, predicted_column, gold_column = 2, "predicted", "gold"

    for name in REQUIRED:  # the smallest kind: the required methods and nothing else
        setattr(Ranker, name, lambda self, *args: None)
    Ranker.__abstractmethods__ = frozenset()
    try:
        register_head("ranker_for_test")(Ranker)
        assert head_kind_of(SimpleNamespace(head_kind="ranker_for_test")) == "ranker_for_test"
        head = make_head("ranker_for_test", LABELS)
        assert isinstance(head, Ranker) and head.kind == "ranker_for_test"
        logits, targets = np.zeros((4, 3)), np.array([0, 1, 2, 0])
        assert head.calibrate(logits, targets) is head
        assert head.calibration_report(logits, targets) == {}
        assert head.prior_logits(LossOptions(), targets) is None
        assert head.training_metrics() == []
        assert head.sample_weights(LossOptions(), targets) is None
        with pytest.raises(ValueError, match="--class_weight is not available for ranker_for"):
            head.sample_weights(LossOptions(class_weight="balanced"), targets)
        with pytest.raises(ValueError, match="--rdrop_alpha"):
            head.consistency_loss(logits, logits)
        with pytest.raises(ValueError, match="distill.sh does not distil ranker_for_test"):
            head.soft_target_loss(logits, logits, 2.0)
    finally:
        HEADS.pop("ranker_for_test", None)
