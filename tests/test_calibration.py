"""Temperature scaling: fitted temperatures recover a known over-confidence, ECE is the
textbook figure, the head reads logits through its temperatures everywhere (numpy, graph,
reports), decisions do not change, and a trained run ships the temperature in its export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.calibration import (
    fit_shared_sigmoid_temperature,
    fit_sigmoid_temperatures,
    fit_softmax_temperature,
    multiclass_bins,
    reliability_bins,
)
from classifier.heads import make_head

LABELS = ("体育", "科技", "财经")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def overconfident_multiclass(n=20000, factor=3.0, seed=0):
    """Labels drawn from softmax(z): z is calibrated, z * factor is over-confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(z)])
    return z * factor, labels


def test_softmax_temperature_recovers_the_over_confidence():
    logits, labels = overconfident_multiclass(factor=3.0)
    assert fit_softmax_temperature(logits, labels) == pytest.approx(3.0, rel=0.08)
    logits, labels = overconfident_multiclass(factor=0.5, seed=1)  # under-confident
    assert fit_softmax_temperature(logits, labels) == pytest.approx(0.5, rel=0.08)


def test_sigmoid_temperatures_per_label_and_shared_for_rare_labels():
    rng = np.random.default_rng(0)
    n = 20000
    z = rng.normal(0, 2, (n, 3))
    targets = (rng.random((n, 3)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    targets[:, 2] = 0
    targets[:10, 2] = 1  # too few positives for a temperature of its own
    factors = np.array([2.0, 4.0, 1.0])
    temperatures = fit_sigmoid_temperatures(z * factors, targets)
    assert temperatures[0] == pytest.approx(2.0, rel=0.08)
    assert temperatures[1] == pytest.approx(4.0, rel=0.08)
    assert temperatures[2] == fit_shared_sigmoid_temperature(z * factors, targets)


def test_a_calibrated_model_keeps_temperature_one():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1.5, (20000, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(z)])
    assert fit_softmax_temperature(z, labels) == pytest.approx(1.0, abs=0.05)


def test_ece_is_the_binned_confidence_accuracy_gap():
    # Two bins used: confidence 0.95 (4 rows, 2 right) and 0.55 (2 rows, both right).
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 0, 0, 1, 1])
    expected = (4 * abs(0.95 - 0.5) + 2 * abs(0.55 - 1.0)) / 6
    assert reliability_bins(confidence, correct).ece == pytest.approx(expected)
    assert reliability_bins(np.array([]), np.array([])).ece == 0.0


def test_calibration_lowers_ece_and_keeps_every_decision():
    logits, labels = overconfident_multiclass(factor=3.0)
    head = make_head("multiclass", LABELS)
    calibrated = head.calibrate(logits, labels)
    figures = calibrated.calibration_report(logits, labels)
    assert figures["ece"] < 0.02 < 0.1 < figures["ece_before_calibration"]
    assert figures["temperatures"] == [pytest.approx(3.0, rel=0.08)]
    np.testing.assert_array_equal(
        calibrated.decisions(calibrated.probabilities(logits)),
        head.decisions(head.probabilities(logits)),
    )
    assert calibrated.report(logits, labels)["accuracy"] == head.report(logits, labels)["accuracy"]
    assert calibrated.report(logits, labels)["loss"] < head.report(logits, labels)["loss"]
    ece = multiclass_bins(calibrated.probabilities(logits), labels).ece
    assert ece == pytest.approx(figures["ece"])


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_the_head_reads_logits_through_its_temperatures(kind):
    import tensorflow as tf

    temperatures = [2.0] if kind == "multiclass" else [2.0, 0.5, 4.0]
    head = make_head(kind, LABELS, temperatures=temperatures)
    logits = np.random.default_rng(0).normal(0, 3, (8, 3)).astype(np.float32)
    scaled = logits / np.asarray(temperatures)
    plain = make_head(kind, LABELS)
    np.testing.assert_allclose(head.probabilities(logits), plain.probabilities(scaled), rtol=1e-9)
    graph_probs, _ = head.graph_outputs(tf.constant(logits))
    np.testing.assert_allclose(graph_probs.numpy(), plain.probabilities(scaled), atol=1e-6)
    assert head.with_thresholds([0.3, 0.3, 0.3]).temperatures == tuple(temperatures)


def test_bad_temperatures_are_refused():
    from classifier.checkpoints.tiny import tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec, SpecError

    with pytest.raises(ValueError, match="2 temperatures for 3 multilabel labels"):
        make_head("multilabel", LABELS, temperatures=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"3 temperatures for 3 multiclass labels \(allowed: 1\)"):
        make_head("multiclass", LABELS, temperatures=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="positive"):
        make_head("multiclass", LABELS, temperatures=[0.0])
    with pytest.raises(SpecError, match="temperatures"):
        ClassifierSpec(tiny_bert_config(50), LABELS, "multiclass", temperatures=(1.0, 2.0))
    spec = ClassifierSpec(tiny_bert_config(50), LABELS, "multiclass", temperatures=(1.5,))
    assert ClassifierSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.slow  # fine-tunes and exports a tiny model
def test_training_calibrates_and_the_export_serves_calibrated_probabilities(
    demo_bert_dir, tmp_path
):
    import tensorflow as tf

    from classifier.estimator import FineTuner
    from export import export_trained_model
    from tests.support.samples import DEMO_DATA_DIRS

    def rows(split):
        path = f"{DEMO_DATA_DIRS[0]}/{split}.tsv"
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        return [line.split("\t", 1)[1] for line in lines], [line.split("\t")[0] for line in lines]

    train, dev = rows("train"), rows("dev")
    tuner = FineTuner(
        demo_bert_dir,
        max_seq_length=32,
        output_dir=tmp_path / "run",
        learning_rate=1e-3,
        num_train_epochs=3,
    ).fit(*train, dev_texts=dev[0], dev_labels=dev[1])
    results = json.loads((tmp_path / "run" / "eval_results.json").read_text(encoding="utf-8"))
    (temperature,) = results["temperatures"]
    assert temperature > 0 and temperature != 1.0
    assert results["ece"] <= results["ece_before_calibration"] + 1e-9
    assert (tmp_path / "run" / "reliability_diagram.png").stat().st_size > 1000
    assert tuner.spec_.temperatures == (temperature,)

    exported = export_trained_model(tmp_path / "run", tmp_path / "export")
    assert exported.metadata["temperatures"] == [temperature]
    served = tf.saved_model.load(str(exported.path)).signatures["serving_default"](
        text=tf.constant(dev[0])
    )
    np.testing.assert_allclose(
        served["probabilities"].numpy(), tuner.predict_proba(dev[0]), atol=1e-5
    )
    expected = softmax(served["logits"].numpy().astype(np.float64) / temperature)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)

    uncalibrated = FineTuner(
        demo_bert_dir,
        max_seq_length=32,
        output_dir=tmp_path / "raw",
        num_train_epochs=1,
        calibration="none",
    ).fit(*train, dev_texts=dev[0], dev_labels=dev[1])
    assert uncalibrated.spec_.temperatures is None
