"""The Flask app over a pair multilabel model (in-process test client, real SavedModel):
"pairs" on /predict, text_b in TF Serving instances, the labels over their thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from serving.app import create_app
from serving.batcher import MicroBatcher
from serving.model_holder import ModelHolder
from serving.predictor import Predictor
from serving.validation import Limits

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

PAIRS = [["物流很快，隔天就到", "售后态度很差"], ["", "物流很快"], ["价格很良心", ""]]
MODEL = "multilabel_pair_export"


@pytest.fixture(scope="module")
def served(serving_models):
    holder = ModelHolder(
        serving_models["multilabel_pair"].export_dir, Predictor.from_version, poll_seconds=0
    )
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    app = create_app(holder, batcher, Limits(max_texts=4), MODEL)
    yield app.test_client(), holder.current.predictor
    batcher.stop()


def test_predict_pairs(served):
    client, predictor = served
    sent = [pair for pair in PAIRS if pair[0]]  # /predict refuses an empty text_a (below)
    reply = client.post("/predict", json={"pairs": sent})
    assert reply.status_code == 200, reply.data
    expected = predictor.predict([a for a, _ in sent], [b for _, b in sent])
    thresholds = dict(zip(predictor.labels, predictor.info.thresholds, strict=True))
    for got, want in zip(reply.get_json()["predictions"], expected, strict=True):
        assert [i["label"] for i in got["labels"]] == [i.label for i in want.labels]
        for item in got["labels"]:
            assert item["score"] >= thresholds[item["label"]]
        np.testing.assert_allclose(
            list(got["probabilities"].values()), list(want.probabilities.values()), atol=1e-6
        )


def test_tf_serving_instances_with_text_b(served):
    client, predictor = served
    instances = [{"text": a, "text_b": b} for a, b in PAIRS]
    reply = client.post(f"/v1/models/{MODEL}:predict", json={"instances": instances})
    assert reply.status_code == 200, reply.data
    outputs = predictor.run([a for a, _ in PAIRS], [b for _, b in PAIRS])
    for row, got in enumerate(reply.get_json()["predictions"]):
        assert got["labels"] == outputs["labels"][row].tolist()
        assert got["predicted"] == outputs["predicted"][row].tolist()
    columnar = {"inputs": {"text": [a for a, _ in PAIRS], "text_b": [b for _, b in PAIRS]}}
    reply = client.post(f"/v1/models/{MODEL}:predict", json=columnar)
    assert reply.get_json()["outputs"]["predicted"] == outputs["predicted"].tolist()


def test_metadata_reports_the_thresholds(served):
    client, _ = served
    meta = client.get("/metadata").get_json()
    assert meta["is_pair"] is True and meta["head_kind"] == "multilabel"
    assert meta["thresholds"] == pytest.approx([0.25, 0.4, 0.45])
    assert meta["inputs"] == ["text", "text_b"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", {"texts": ["a"]}, "texts"),
        ("/predict", {"pairs": ["a"]}, "pairs[0]"),
        ("/predict", {"pairs": [["a"]]}, "pairs[0]"),
        ("/predict", {"pairs": [["a", "b", "c"]]}, "pairs[0]"),
        ("/predict", {"pairs": [["a", 3]]}, "pairs[0][1]"),
        ("/predict", {"pairs": [["a", "b"], ["", "b"]]}, "pairs[1][0]"),
        ("/predict", {"pairs": [["a", "b"]] * 5}, "pairs"),
        (f"/v1/models/{MODEL}:predict", {"instances": ["a"]}, "instances[0]"),
        (f"/v1/models/{MODEL}:predict", {"instances": [{"text": "a"}]}, "instances[0].text_b"),
        (f"/v1/models/{MODEL}:predict", {"inputs": {"text": ["a"]}}, "inputs.text_b"),
        (
            f"/v1/models/{MODEL}:predict",
            {"inputs": {"text": ["a", "b"], "text_b": ["c"]}},
            "inputs.text_b",
        ),
    ],
)
def test_malformed_pair_requests(served, path, body, field):
    client, _ = served
    reply = client.post(path, json=body)
    assert reply.status_code == 400, reply.data
    assert reply.get_json()["field"] == field
