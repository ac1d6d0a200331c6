"""FineTuner over a run folder: evaluate() reports what train.sh reports, export() writes what
export.sh writes, and predict_outputs() decides as that export does."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS
from tests.support.serving import write_serving_output_dir

TEXTS = SERVING_TEXTS + CHINESE_SAMPLES + ["", "央行宣布降准。" * 40]
LABELS = ("体育", "财经", "科技", "娱乐")
PAIR_LABELS = ("物流", "质量", "服务")


@pytest.fixture(scope="module")
def multiclass_tuner(tmp_path_factory):
    from classifier.estimator import FineTuner

    root = tmp_path_factory.mktemp("estimator")
    run = write_serving_output_dir(
        root / "run",
        head_kind="multiclass",
        is_pair=False,
        labels=LABELS,
        seed=3,
        temperatures=(1.7,),
        long_text="sliding_window",
    )
    return FineTuner.load(run)


@pytest.fixture(scope="module")
def pair_tuner(tmp_path_factory):
    from classifier.estimator import FineTuner

    run = write_serving_output_dir(
        tmp_path_factory.mktemp("estimator_pair") / "run",
        head_kind="multilabel",
        is_pair=True,
        labels=PAIR_LABELS,
        thresholds=(0.3, 0.5, 0.45),
        temperatures=(1.2, 0.8, 1.5),
        seed=4,
    )
    return FineTuner.load(run)


def test_evaluate_accuracy_is_the_share_of_matching_predictions(multiclass_tuner):
    gold = [LABELS[i % len(LABELS)] for i in range(len(TEXTS))]
    results = multiclass_tuner.evaluate(TEXTS, gold)
    predicted = multiclass_tuner.predict(TEXTS)
    matches = np.mean([p == g for p, g in zip(predicted, gold, strict=True)])
    assert results["accuracy"] == pytest.approx(matches)
    assert {"macro_f1", "micro_f1", "weighted_f1", "loss"} <= set(results)
    assert results["temperatures"] == [1.7]  # the calibration report, as eval_results.json's


def test_evaluate_multilabel_pairs_at_the_tuned_thresholds(pair_tuner):
    texts_b = list(reversed(TEXTS))
    gold = [PAIR_LABELS[: i % 3] for i in range(len(TEXTS))]
    results = pair_tuner.evaluate(TEXTS, gold, texts_b=texts_b)
    predicted = pair_tuner.predict(TEXTS, texts_b)
    exact = np.mean([set(p) == set(g) for p, g in zip(predicted, gold, strict=True)])
    assert results["subset_accuracy"] == pytest.approx(exact)
    assert {"micro_f1", "macro_f1", "samples_f1"} <= set(results)


def test_evaluate_refuses_labels_the_model_does_not_know(multiclass_tuner):
    with pytest.raises(ValueError, match="label '天气' is not one of the model's labels"):
        multiclass_tuner.evaluate(TEXTS[:2], ["体育", "天气"])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        multiclass_tuner.evaluate(TEXTS[:2], ["体育"])


def test_an_unfitted_tuner_says_so():
    from classifier.estimator import FineTuner

    with pytest.raises(RuntimeError, match="call fit"):
        FineTuner("some_model").evaluate(["很好"], ["体育"])


@pytest.mark.slow  # exports twice
@pytest.mark.parametrize("which", ["multiclass_tuner", "pair_tuner"])
def test_export_serves_the_labels_and_outputs_of_the_tuner(request, which, tmp_path):
    from serving import Predictor

    tuner = request.getfixturevalue(which)
    texts_b = list(reversed(TEXTS)) if tuner.spec_.is_pair else None
    path = tuner.export(tmp_path / "export")
    assert path == tmp_path / "export" / "1"
    assert tuner.export(tmp_path / "export").name == "2"  # a new version, never overwritten
    predictor = Predictor(path)
    served = predictor.run(TEXTS, texts_b)
    in_memory = tuner.predict_outputs(TEXTS, texts_b)
    assert set(in_memory) == set(served)
    np.testing.assert_allclose(in_memory["probabilities"], served["probabilities"], atol=1e-5)
    np.testing.assert_allclose(in_memory["score"], served["score"], atol=1e-5)
    for key in ("label", "labels", "predicted"):
        assert in_memory[key].tolist() == served[key].tolist(), key
    expected = tuner.predict(TEXTS, texts_b)
    if tuner.spec_.is_pair:  # multilabel: the labels over their thresholds
        got = [
            tuple(sorted(item.label for item in p.labels))
            for p in predictor.predict(TEXTS, texts_b)
        ]
        assert got == [tuple(sorted(labels)) for labels in expected]
    else:
        assert [p.label for p in predictor.predict(TEXTS)] == expected


def test_predict_outputs_of_no_texts(multiclass_tuner):
    outputs = multiclass_tuner.predict_outputs([])
    assert outputs["probabilities"].shape == (0, len(LABELS))
    assert outputs["label"].shape == (0,)
