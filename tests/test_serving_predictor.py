"""serving.Predictor and the REPL / TSV functions over real exported models (in-process)."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from serving import InputError, Predictor
from serving.repl import run_repl, write_predictions_tsv
from tests.support.samples import SERVING_TEXTS
from tests.support.serving import in_memory_probabilities

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

MULTICLASS_LABELS = ("体育", "财经", "科技", "娱乐")
EDGE_TEXTS = ["", "   ", "好开心😀👍🏻", "Hello世界 naïve", "央行宣布降准。" * 300]


@pytest.fixture(scope="module")
def multiclass(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


@pytest.fixture(scope="module")
def pair(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multilabel_pair"].export_dir)


def test_loads_the_highest_version_and_its_metadata(multiclass, serving_models):
    assert multiclass.version == 1
    assert multiclass.path == serving_models["multiclass"].version_dir
    info = multiclass.info
    assert info.labels == MULTICLASS_LABELS
    assert (info.head_kind, info.is_pair, info.max_seq_length) == ("multiclass", False, 32)
    assert info.thresholds is None and info.model_family == "bert"


def test_predictions_equal_the_in_memory_model(multiclass, serving_models):
    texts = SERVING_TEXTS + EDGE_TEXTS
    expected, _, _ = in_memory_probabilities(serving_models["multiclass"].output_dir, texts)
    predictions = multiclass.predict(texts)
    got = np.array([list(p.probabilities.values()) for p in predictions])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    for prediction, row in zip(predictions, expected, strict=True):
        assert prediction.label == MULTICLASS_LABELS[int(row.argmax())]
        assert prediction.score == pytest.approx(row.max(), abs=1e-5)
        assert [item.label for item in prediction.labels] == [prediction.label]
        assert list(prediction.probabilities) == list(MULTICLASS_LABELS)


def test_order_survives_length_sorted_batches(multiclass, serving_models):
    texts = SERVING_TEXTS + EDGE_TEXTS
    random.Random(0).shuffle(texts)
    small = Predictor(serving_models["multiclass"].version_dir, version=1, batch_size=2)
    one_by_one = [multiclass.predict_one(t) for t in texts]
    batched = small.predict(texts)
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.label == b.label
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_pair_multilabel_predictions_use_the_thresholds(pair, serving_models):
    texts_a = ["物流很快，隔天就到", "", "售后态度很差", "好开心😀"]
    texts_b = ["售后态度很差", "物流很快", "", "naïve"]
    expected, _, _ = in_memory_probabilities(
        serving_models["multilabel_pair"].output_dir, texts_a, texts_b
    )
    thresholds = np.array(pair.info.thresholds)
    assert thresholds.tolist() == pytest.approx([0.25, 0.4, 0.45])
    predictions = pair.predict(texts_a, texts_b)
    for prediction, row in zip(predictions, expected, strict=True):
        chosen = [i for i in np.argsort(-row, kind="stable") if row[i] >= thresholds[i]]
        assert [item.label for item in prediction.labels] == [pair.labels[i] for i in chosen]
        scores = [item.score for item in prediction.labels]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(list(prediction.probabilities.values()), row, atol=1e-5)
        assert prediction.label == pair.labels[int(row.argmax())]
    alone = pair.predict_one(texts_a[0], texts_b[0])  # padded differently: equal to 1e-5
    assert [i.label for i in alone.labels] == [i.label for i in predictions[0].labels]
    assert alone.score == pytest.approx(predictions[0].score, abs=1e-5)


def test_raw_outputs_have_every_signature_output(pair):
    outputs = pair.run(["a", "b"], ["c", ""])
    assert set(outputs) == {"label", "score", "labels", "predicted", "probabilities", "logits"}
    assert outputs["probabilities"].shape == (2, 3)
    assert outputs["labels"].dtype == object and isinstance(outputs["label"][0], str)
    assert pair.predict([], []) == []
    assert pair.run([], [])["probabilities"].shape == (0, 3)


@pytest.mark.parametrize(
    ("which", "texts", "texts_b", "message"),
    [
        ("multiclass", ["a"], ["b"], "text_b is not an input"),
        ("multiclass", [3], None, "text 0: expected a string, got int"),
        ("multiclass", ["ok", "\ud800"], None, "text 1: not valid Unicode"),
        ("pair", ["a"], None, "text_b is required"),
        ("pair", ["a", "b"], ["c"], "2 texts but 1 text_b"),
        ("pair", ["a"], [None], "text_b 0: expected a string, got NoneType"),
    ],
)
def test_bad_inputs_raise_input_error(request, which, texts, texts_b, message):
    predictor = request.getfixturevalue(which)
    with pytest.raises(InputError, match=message):
        predictor.predict(texts, texts_b)


def test_invalid_utf8_bytes_are_dropped_as_in_training(multiclass):
    clean = multiclass.predict_one("中超 abc")
    dirty = multiclass.predict_one(b"\xff\xe4\xb8\xad\xe8\xb6\x85 abc\xed\xa0\x80")
    assert dirty == clean


def test_repl_prints_label_and_score_per_text(multiclass):
    stdin = io.StringIO("中超第6轮，浙江队5比0逆转武汉三镇\n\n股市大涨\nq\n不会被读到\n")
    stdout = io.StringIO()
    assert run_repl(multiclass, stdin, stdout) == 0
    out = stdout.getvalue()
    assert "labels: 体育 财经 科技 娱乐" in out
    answers = [line.split("> ")[-1] for line in out.splitlines() if "\t" in line]
    expected = multiclass.predict(["中超第6轮，浙江队5比0逆转武汉三镇", "股市大涨"])
    assert answers == [f"{p.label}\t{p.score:.6f}" for p in expected]


def test_repl_for_pairs_asks_for_both_texts(pair):
    stdin = io.StringIO("物流很快\n售后态度很差\n")  # then end of input
    stdout = io.StringIO()
    assert run_repl(pair, stdin, stdout) == 0
    out = stdout.getvalue()
    assert "text_a> " in out and "text_b> " in out
    prediction = pair.predict_one("物流很快", "售后态度很差")
    labels = "|".join(item.label for item in prediction.labels) or "(none)"
    assert f"{labels}\t" in out


def test_tsv_mode_writes_one_row_per_line(pair):
    lines = ["物流很快\t售后态度很差\n", "只有一段\n", "\t\n", "a\tb\tc\n"]
    out = io.StringIO()
    assert write_predictions_tsv(pair, lines, out, chunk_size=2) == 4
    rows = out.getvalue().splitlines()
    assert rows[0].split("\t") == [
        "text_a",
        "text_b",
        "predicted_labels",
        "probability",
        "p(物流)",
        "p(质量)",
        "p(服务)",
    ]
    assert len(rows) == 5
    first = rows[1].split("\t")
    prediction = pair.predict_one("物流很快", "售后态度很差")
    assert first[2] == "|".join(item.label for item in prediction.labels)
    assert [float(p) for p in first[4:]] == pytest.approx(
        list(prediction.probabilities.values()), abs=1e-6
    )
    assert rows[2].startswith("只有一段\t\t")  # no tab: text_b is empty
    assert rows[4].startswith('a\t"b\tc"\t')  # split at the first tab; csv quotes the rest
