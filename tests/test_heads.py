"""Both head kinds keep one contract: labels in, the loss's targets out; numpy and graph
decisions agree; reports carry every selection metric; prediction columns; finalize."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from classifier.heads import LossOptions, MulticlassHead, MultilabelHead, kind_for, make_head

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


def test_kinds_and_their_label_encodings():
    assert kind_for(True) == "multilabel" and kind_for(False) == "multiclass"
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
