"""Top-k (issue 21, item 2): one function orders a prediction's labels by probability, and
predict.sh (tables, JSONL, the REPL; an export and its run folder alike), POST /predict, TF
Serving's route and the upload give its answer; a bad top_k is a 400 naming the field."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest

from serving.model_info import ModelInfo
from serving.prediction import LabelProbability, LabelScore, Prediction, top_k_labels
from serving.text_io import PredictionWriter, TextRow
from serving.validation import Limits, RequestError, parse_predict, parse_top_k

LABELS = ("体育", "财经", "科技", "娱乐")
TEXTS = ["中超第6轮，浙江队5比0逆转武汉三镇", "央行宣布降准0.5个百分点", "苹果发布了新款iPhone手机"]
BAD_VALUES = [0, -1, "3", True, 1.5, 3.0, None, [2]]


# === The function (no model) ===
def test_top_k_orders_by_probability_then_label_order():
    got = top_k_labels([0.1, 0.4, 0.1, 0.4], LABELS, 3)
    assert got == (
        LabelProbability("财经", 0.4),
        LabelProbability("娱乐", 0.4),  # tied with 财经: the model's label order decides
        LabelProbability("体育", 0.1),
    )
    assert [item.to_dict() for item in got[:1]] == [{"label": "财经", "probability": 0.4}]


def test_top_k_is_clipped_to_the_labels_and_takes_numpy_values():
    probabilities = np.array([0.2, 0.5, 0.3], np.float32)
    got = top_k_labels(probabilities, LABELS[:3], np.int64(10))
    assert [item.label for item in got] == ["财经", "科技", "体育"]
    assert all(type(item.probability) is float for item in got)


@pytest.mark.parametrize("k", [0, -1, True, 1.5, "3", None])
def test_top_k_refuses_anything_but_a_positive_integer(k):
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        top_k_labels([0.5, 0.5], LABELS[:2], k)


def prediction(probabilities: list[float]) -> Prediction:
    top = int(np.argmax(probabilities))
    return Prediction(
        LABELS[top],
        probabilities[top],
        (LabelScore(LABELS[top], probabilities[top]),),
        dict(zip(LABELS, probabilities, strict=True)),
    )


def test_prediction_to_dict_gains_top_k_only_when_asked():
    p = prediction([0.1, 0.6, 0.2, 0.1])
    assert "top_k" not in p.to_dict()
    assert p.to_dict(2)["top_k"] == [
        {"label": "财经", "probability": 0.6},
        {"label": "科技", "probability": 0.2},
    ]


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
def test_the_writer_appends_top_k_after_todays_columns(fmt):
    info = ModelInfo(LABELS, "multiclass", False, None, 32, "bert", {})
    rows, preds = [TextRow(1, "a", id=7)], [prediction([0.1, 0.6, 0.2, 0.1])]
    plain, ranked = io.StringIO(), io.StringIO()
    PredictionWriter(plain, fmt, info, "id").write(rows, preds)
    PredictionWriter(ranked, fmt, info, "id", top_k=9).write(rows, preds)
    if fmt == "jsonl":
        before, after = json.loads(plain.getvalue()), json.loads(ranked.getvalue())
        assert after.pop("top_k") == [
            {"label": "财经", "probability": 0.6},
            {"label": "科技", "probability": 0.2},
            {"label": "体育", "probability": 0.1},
            {"label": "娱乐", "probability": 0.1},
        ]
        assert after == before
        return
    delimiter = "\t" if fmt == "tsv" else ","
    before = list(csv.reader(io.StringIO(plain.getvalue()), delimiter=delimiter))
    after = list(csv.reader(io.StringIO(ranked.getvalue()), delimiter=delimiter))
    width = len(before[0])
    assert after[0][:width] == before[0] and after[1][:width] == before[1]
    assert after[0][width:] == [
        f"top{r}_{c}" for r in range(1, 5) for c in ("label", "probability")
    ]
    assert after[1][width:] == ["财经", "0.600000", "科技", "0.200000", "体育", "0.100000", "娱乐", "0.100000"]  # fmt: skip


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_top_k_field_names_it(value):
    with pytest.raises(RequestError) as caught:
        parse_top_k({"texts": ["a"], "top_k": value})
    assert caught.value.field == "top_k" and caught.value.status == 400
    assert parse_top_k({"texts": ["a"]}) is None and parse_top_k({"top_k": 2}) == 2
    assert parse_predict({"texts": ["a"], "top_k": 2}, False, Limits()).texts == ["a"]


# === predict.sh: an export and its run folder agree ===
def ranked(rows: list[dict]) -> list[list[tuple[str, float]]]:
    return [[(item["label"], item["probability"]) for item in row["top_k"]] for row in rows]


def assert_same_top_k(got, want, atol: float = 1e-5) -> None:
    assert [[label for label, _ in row] for row in got] == [[lab for lab, _ in r] for r in want]
    np.testing.assert_allclose(
        [p for row in got for _, p in row], [p for row in want for _, p in row], atol=atol
    )


@pytest.fixture(scope="module")
def multiclass(serving_models):
    from serving import Predictor

    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def sorted_probabilities(predictor, texts, k, texts_b=None) -> list[list[tuple[str, float]]]:
    """The Predictor's probabilities, sorted by hand (the test's own top-k)."""
    rows = predictor.run(texts, texts_b)["probabilities"]
    labels = predictor.info.labels
    return [
        sorted(zip(labels, map(float, row), strict=True), key=lambda x: -x[1])[:k] for row in rows
    ]


@pytest.mark.slow
def test_predict_sh_top_k_export_and_run_folder_agree(serving_models, multiclass, tmp_path):
    from scripts import predict

    source = tmp_path / "texts.txt"
    source.write_text("".join(f"{t}\n" for t in TEXTS), encoding="utf-8")
    model = serving_models["multiclass"]
    got = {}
    for name, flag in (("export", f"--export_dir={model.export_dir}"), ("run", f"--run_dir={model.output_dir}")):  # fmt: skip
        target = tmp_path / f"{name}.jsonl"
        flags = [flag, f"--input_file={source}", f"--output_file={target}", "--top_k=3"]
        assert predict.main([*flags, "--verbosity=warning"]) == 0
        got[name] = ranked([json.loads(line) for line in target.read_text().splitlines()])
    assert_same_top_k(got["run"], got["export"])
    assert_same_top_k(got["export"], sorted_probabilities(multiclass, TEXTS, 3), atol=1e-6)


@pytest.mark.slow
def test_predict_sh_top_k_on_text_flags_and_multilabel_pairs(serving_models, capsys):
    from scripts import predict
    from serving import Predictor

    pair = serving_models["multilabel_pair"]
    flags = ["--text=物流很快", "--text_b=售后很差", "--text=价格", "--text_b="]
    assert predict.main([f"--run_dir={pair.output_dir}", *flags, "--top_k=5", "--verbosity=warning"]) == 0  # fmt: skip
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out), delimiter="\t"))
    start = rows[0].index("top1_label")
    assert rows[0][start:] == [f"top{r}_{c}" for r in (1, 2, 3) for c in ("label", "probability")]
    got = [[(r[i], float(r[i + 1])) for i in range(start, len(r), 2)] for r in rows[1:]]
    predictor = Predictor.from_export_dir(pair.export_dir)  # thresholds play no part
    want = sorted_probabilities(predictor, ["物流很快", "价格"], 5, ["售后很差", ""])
    assert_same_top_k(got, want)


@pytest.mark.slow
def test_the_repl_shows_top_k_under_each_answer(serving_models, multiclass, monkeypatch, capsys):
    from scripts import predict

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{TEXTS[0]}\nq\n"))
    export = f"--export_dir={serving_models['multiclass'].export_dir}"
    assert predict.main([export, "--interactive=true", "--top_k=2", "--verbosity=warning"]) == 0
    lines = capsys.readouterr().out.split("> ")[1].splitlines()
    want = sorted_probabilities(multiclass, TEXTS[:1], 2)[0]
    assert lines[0].split("\t")[0] == want[0][0]  # the answer line as without --top_k
    assert [line.split("\t")[0] for line in lines[1:3]] == [f"  1. {want[0][0]}", f"  2. {want[1][0]}"]  # fmt: skip
    assert [float(line.split("\t")[1]) for line in lines[1:3]] == pytest.approx(
        [p for _, p in want], abs=1e-5
    )


# === HTTP (the Flask app in-process over the export) ===
@pytest.fixture(scope="module")
def client(serving_models, multiclass):
    from serving.app import create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder

    export_dir = serving_models["multiclass"].export_dir
    holder = ModelHolder(export_dir, lambda found: multiclass, poll_seconds=0)
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    yield create_app(holder, batcher, Limits(), "news").test_client()
    batcher.stop()


@pytest.mark.slow
def test_http_routes_give_top_k_sorted(client, multiclass):
    want = sorted_probabilities(multiclass, TEXTS, 3)
    simple = client.post("/predict", json={"texts": TEXTS, "top_k": 3})
    assert simple.status_code == 200, simple.data
    assert_same_top_k(ranked(simple.get_json()["predictions"]), want, atol=1e-6)
    rows = client.post("/v1/models/news:predict", json={"instances": TEXTS, "top_k": 3})
    assert rows.status_code == 200, rows.data
    predictions = rows.get_json()["predictions"]
    assert list(predictions[0])[-1] == "top_k"
    assert_same_top_k(ranked(predictions), want, atol=1e-6)
    columns = client.post("/v1/models/news:predict", json={"inputs": TEXTS, "top_k": 3})
    assert_same_top_k(ranked([{"top_k": r} for r in columns.get_json()["outputs"]["top_k"]]), want, atol=1e-6)  # fmt: skip
    plain = client.post("/v1/models/news:predict", json={"instances": TEXTS})
    assert "top_k" not in plain.get_json()["predictions"][0]
    assert "top_k" not in client.post("/predict", json={"texts": TEXTS}).get_json()["predictions"][0]  # fmt: skip


@pytest.mark.slow
def test_upload_takes_a_top_k_field(client, multiclass):
    data = {"file": (io.BytesIO("".join(f"{t}\n" for t in TEXTS).encode()), "t.txt"), "top_k": "2"}
    reply = client.post("/predict_file", data=data, content_type="multipart/form-data")
    assert reply.status_code == 200, reply.data
    rows = list(csv.reader(io.StringIO(reply.data.decode()), delimiter="\t"))
    assert rows[0][-4:] == ["top1_label", "top1_probability", "top2_label", "top2_probability"]
    assert [[r[-4], r[-2]] for r in rows[1:]] == [
        [label for label, _ in row] for row in sorted_probabilities(multiclass, TEXTS, 2)
    ]
    for bad in ("0", "-1", "1.5", "x", "9" * 5000):
        data = {"file": (io.BytesIO(b"a\n"), "t.txt"), "top_k": bad}
        reply = client.post("/predict_file", data=data, content_type="multipart/form-data")
        assert (reply.status_code, reply.get_json()["field"]) == (400, "top_k"), bad


@pytest.mark.slow
@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("route", ["/predict", "/v1/models/news:predict"])
def test_http_bad_top_k_is_a_400_naming_it(client, route, value):
    key = "texts" if route == "/predict" else "instances"
    reply = client.post(route, json={key: ["a"], "top_k": value})
    assert reply.status_code == 400, reply.data
    error = reply.get_json()
    assert error["field"] == "top_k" and error["error"].startswith("top_k: ")
    assert "Traceback" not in reply.data.decode()
