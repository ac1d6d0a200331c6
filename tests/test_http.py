"""The HTTP server as a real process on 127.0.0.1 (scripts/serve.sh): results equal the
Predictor's, malformed requests get a 4xx JSON error naming the field, concurrent clients."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from serving import Predictor
from tests.support.samples import SERVING_TEXTS
from tests.support.serving import http_call

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

MODEL = "multiclass_export"  # the export folder's name is the model name
TEXTS = [*SERVING_TEXTS, "好开心😀👍🏻", "央行宣布降准。" * 500]
EMPTY = ["", " \t "]  # refused by /predict, predicted by TF Serving's route as the export defines


@pytest.fixture(scope="module")
def predictor(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def assert_same(predictions: list[dict], expected, atol: float = 1e-5) -> None:
    assert len(predictions) == len(expected)
    for got, want in zip(predictions, expected, strict=True):
        assert got["label"] == want.label
        assert got["score"] == pytest.approx(want.score, abs=atol)
        assert [item["label"] for item in got["labels"]] == [item.label for item in want.labels]
        assert list(got["probabilities"]) == list(want.probabilities)
        np.testing.assert_allclose(
            list(got["probabilities"].values()), list(want.probabilities.values()), atol=atol
        )


# === Status ===
def test_health(http_server):
    reply = http_call(http_server, "GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "model_name": MODEL, "model_version": 1}


def test_metadata(http_server):
    meta = http_call(http_server, "GET", "/metadata").json()
    assert meta["labels"] == ["体育", "财经", "科技", "娱乐"]
    assert (meta["model_family"], meta["max_seq_length"], meta["model_version"]) == ("bert", 32, 1)
    assert (meta["head_kind"], meta["is_pair"], meta["inputs"]) == ("multiclass", False, ["text"])
    assert meta["limits"] == {
        "max_texts": 64,
        "max_text_chars": 10000,
        "max_body_bytes": 1 << 20,
        "max_file_rows": 10000,
        "max_explain_texts": 8,
    }
    assert meta["batching"]["max_batch_size"] == 32


# === Prediction ===
def test_predict_equals_the_predictor(http_server, predictor):
    reply = http_call(http_server, "POST", "/predict", {"texts": TEXTS})
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert (body["model_name"], body["model_version"]) == (MODEL, 1)
    assert_same(body["predictions"], predictor.predict(TEXTS), atol=1e-6)
    assert "体育" in reply.body.decode("utf-8")  # labels are UTF-8, not \\u escapes


def test_tf_serving_row_format(http_server, predictor):
    instances = [TEXTS[0], {"text": TEXTS[1]}, TEXTS[4], *EMPTY]
    reply = http_call(http_server, "POST", f"/v1/models/{MODEL}:predict", {"instances": instances})
    assert reply.status == 200, reply.body
    predictions = reply.json()["predictions"]
    outputs = predictor.run([TEXTS[0], TEXTS[1], TEXTS[4], *EMPTY])
    for row, got in enumerate(predictions):
        assert set(got) == {"label", "score", "labels", "predicted", "probabilities", "logits"}
        assert got["label"] == outputs["label"][row]
        assert got["labels"] == outputs["labels"][row].tolist()
        assert got["predicted"] == outputs["predicted"][row].tolist()
        np.testing.assert_allclose(got["probabilities"], outputs["probabilities"][row], atol=1e-6)
        np.testing.assert_allclose(got["logits"], outputs["logits"][row], atol=1e-5)


def test_top_k_is_the_predictors_probabilities_sorted(http_server, predictor):
    for path, key in (("/predict", "texts"), (f"/v1/models/{MODEL}:predict", "instances")):
        reply = http_call(http_server, "POST", path, {key: TEXTS[:3], "top_k": 2})
        assert reply.status == 200, reply.body
        for got, row in zip(reply.json()["predictions"], predictor.run(TEXTS[:3])["probabilities"], strict=True):  # fmt: skip
            want = sorted(zip(predictor.labels, row.tolist(), strict=True), key=lambda x: -x[1])
            assert [item["label"] for item in got["top_k"]] == [label for label, _ in want[:2]]
            np.testing.assert_allclose(
                [item["probability"] for item in got["top_k"]], [p for _, p in want[:2]], atol=1e-6
            )


def test_tf_serving_columnar_format_and_versioned_path(http_server, predictor):
    path = f"/v1/models/{MODEL}/versions/1:predict"
    reply = http_call(http_server, "POST", path, {"inputs": {"text": TEXTS[:3]}})
    assert reply.status == 200, reply.body
    outputs = reply.json()["outputs"]
    assert outputs["label"] == predictor.run(TEXTS[:3])["label"].tolist()
    # Like TF Serving, the body is read as JSON whatever curl -d says the type is.
    plain = http_call(
        http_server,
        "POST",
        f"/v1/models/{MODEL}:predict",
        raw=json.dumps({"inputs": TEXTS[:3]}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert plain.status == 200 and plain.json()["outputs"]["label"] == outputs["label"]


def test_tf_serving_predict_ids_signature(http_server, predictor):
    ids = predictor.tokenize(TEXTS[:3])
    instances = [
        {
            "input_ids": ids["input_ids"][row][ids["input_mask"][row] > 0].tolist(),
            "input_mask": ids["input_mask"][row][ids["input_mask"][row] > 0].tolist(),
            "segment_ids": ids["segment_ids"][row][ids["input_mask"][row] > 0].tolist(),
        }
        for row in range(3)
    ]
    body = {"signature_name": "predict_ids", "instances": instances}
    reply = http_call(http_server, "POST", f"/v1/models/{MODEL}:predict", body)
    assert reply.status == 200, reply.body
    got = [p["probabilities"] for p in reply.json()["predictions"]]
    np.testing.assert_allclose(got, predictor.run(TEXTS[:3])["probabilities"], atol=1e-5)


def test_tf_serving_model_status(http_server):
    reply = http_call(http_server, "GET", f"/v1/models/{MODEL}")
    assert reply.json() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def test_web_page_and_assets(http_server):
    page = http_call(http_server, "GET", "/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode("utf-8")
    assert '<meta charset="utf-8">' in html and "文本分类" in html
    for asset in ("/static/app.js", "/static/style.css"):
        assert http_call(http_server, "GET", asset).status == 200


# === Malformed requests: 4xx, JSON, the field named; never a 5xx, never a dead server ===
P = f"/v1/models/{MODEL}:predict"
JSON = {"Content-Type": "application/json"}
IDS = {"input_ids": [101, 2, 102], "input_mask": [1, 1, 1], "segment_ids": [0, 0, 0]}
MALFORMED = [
    # (id, method, path, raw body, headers, status, field)
    ("get_predict", "GET", "/predict", None, {}, 405, "method"),
    ("put_predict", "PUT", "/predict", b"{}", JSON, 405, "method"),
    ("post_health", "POST", "/health", b"{}", JSON, 405, "method"),
    ("unknown_route", "GET", "/nope", None, {}, 404, "path"),
    ("no_content_type", "POST", "/predict", b'{"texts": ["a"]}', {}, 415, "Content-Type"),
    ("text_plain", "POST", "/predict", b'{"texts": ["a"]}', {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ("form", "POST", "/predict", b"texts=a", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
    ("invalid_json", "POST", "/predict", b'{"texts": ["a"', JSON, 400, "body"),
    ("empty_body", "POST", "/predict", b"", JSON, 400, "body"),
    ("not_utf8", "POST", "/predict", b'{"texts": ["\xff\xfe"]}', JSON, 400, "body"),
    ("deep_nesting", "POST", "/predict", b"[" * 100_000 + b"]" * 100_000, JSON, 400, "body"),
    ("top_level_array", "POST", "/predict", b'["a"]', JSON, 400, "body"),
    ("top_level_string", "POST", "/predict", b'"a"', JSON, 400, "body"),
    ("top_level_null", "POST", "/predict", b"null", JSON, 400, "body"),
    ("missing_texts", "POST", "/predict", b"{}", JSON, 400, "texts"),
    ("texts_string", "POST", "/predict", b'{"texts": "abc"}', JSON, 400, "texts"),
    ("texts_number", "POST", "/predict", b'{"texts": 5}', JSON, 400, "texts"),
    ("texts_object", "POST", "/predict", b'{"texts": {"a": 1}}', JSON, 400, "texts"),
    ("texts_empty", "POST", "/predict", b'{"texts": []}', JSON, 400, "texts"),
    ("text_number", "POST", "/predict", b'{"texts": [1]}', JSON, 400, "texts[0]"),
    ("text_null", "POST", "/predict", b'{"texts": ["ok", null]}', JSON, 400, "texts[1]"),
    ("text_nested", "POST", "/predict", b'{"texts": ["ok", ["x"]]}', JSON, 400, "texts[1]"),
    ("text_bool", "POST", "/predict", b'{"texts": [true]}', JSON, 400, "texts[0]"),
    ("text_nan", "POST", "/predict", b'{"texts": ["a", NaN]}', JSON, 400, "texts[1]"),
    ("text_empty", "POST", "/predict", b'{"texts": ["a", ""]}', JSON, 400, "texts[1]"),
    ("text_whitespace", "POST", "/predict", b'{"texts": [" \\t\\u3000"]}', JSON, 400, "texts[0]"),
    ("too_many_texts", "POST", "/predict", json.dumps({"texts": ["x"] * 65}).encode(), JSON, 400, "texts"),
    ("text_too_long", "POST", "/predict", json.dumps({"texts": ["x" * 10_001]}).encode(), JSON, 400, "texts[0]"),
    ("lone_surrogate", "POST", "/predict", b'{"texts": ["ok", "a\\ud800b"]}', JSON, 400, "texts[1]"),
    ("unknown_field", "POST", "/predict", b'{"texts": ["a"], "text": "b"}', JSON, 400, "text"),
    ("pairs_on_single_model", "POST", "/predict", b'{"pairs": [["a", "b"]]}', JSON, 400, "pairs"),
    ("body_too_large", "POST", "/predict", b'{"texts": ["' + b"a" * (1 << 20) + b'"]}', JSON, 413, "body"),
    ("wrong_model", "POST", "/v1/models/other:predict", b'{"instances": ["a"]}', JSON, 404, "model_name"),
    ("wrong_version", "POST", f"/v1/models/{MODEL}/versions/9:predict", b'{"instances": ["a"]}', JSON, 404, "version"),
    ("classify_verb", "POST", f"/v1/models/{MODEL}:classify", b'{"instances": ["a"]}', JSON, 404, "path"),
    ("get_on_predict", "GET", P, None, {}, 405, "method"),
    ("v1_text_plain", "POST", P, b'{"instances": ["a"]}', {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ("no_instances", "POST", P, b"{}", JSON, 400, "instances"),
    ("instances_string", "POST", P, b'{"instances": "abc"}', JSON, 400, "instances"),
    ("instances_empty", "POST", P, b'{"instances": []}', JSON, 400, "instances"),
    ("instance_number", "POST", P, b'{"instances": [1]}', JSON, 400, "instances[0]"),
    ("instance_unknown_key", "POST", P, b'{"instances": [{"txt": "a"}]}', JSON, 400, "instances[0].txt"),
    ("instance_text_number", "POST", P, b'{"instances": [{"text": 5}]}', JSON, 400, "instances[0].text"),
    ("instances_and_inputs", "POST", P, b'{"instances": ["a"], "inputs": ["b"]}', JSON, 400, "inputs"),
    ("inputs_number", "POST", P, b'{"inputs": 5}', JSON, 400, "inputs"),
    ("inputs_text_string", "POST", P, b'{"inputs": {"text": "a"}}', JSON, 400, "inputs.text"),
    ("bad_signature", "POST", P, b'{"signature_name": "nope", "instances": ["a"]}', JSON, 400, "signature_name"),
    ("id_out_of_range", "POST", P, json.dumps({"signature_name": "predict_ids", "instances": [{**IDS, "input_ids": [101, 10**6, 102]}]}).encode(), JSON, 400, "instances[0].input_ids[1]"),
    ("id_lengths_differ", "POST", P, json.dumps({"signature_name": "predict_ids", "instances": [{**IDS, "input_mask": [1, 1]}]}).encode(), JSON, 400, "instances[0].input_ids"),
    ("ids_too_long", "POST", P, json.dumps({"signature_name": "predict_ids", "instances": [{k: v * 11 for k, v in IDS.items()}]}).encode(), JSON, 400, "instances[0].input_ids"),
    ("mask_not_binary", "POST", P, json.dumps({"signature_name": "predict_ids", "instances": [{**IDS, "input_mask": [1, 2, 1]}]}).encode(), JSON, 400, "instances[0].input_mask[1]"),
    ("top_k_zero", "POST", "/predict", b'{"texts": ["a"], "top_k": 0}', JSON, 400, "top_k"),
    ("top_k_string", "POST", "/predict", b'{"texts": ["a"], "top_k": "3"}', JSON, 400, "top_k"),
    ("top_k_bool", "POST", P, b'{"instances": ["a"], "top_k": true}', JSON, 400, "top_k"),
    ("top_k_float", "POST", P, b'{"instances": ["a"], "top_k": 1.5}', JSON, 400, "top_k"),
    ("ids_missing_input", "POST", P, json.dumps({"signature_name": "predict_ids", "instances": [{"input_ids": [101]}]}).encode(), JSON, 400, "instances[0].input_mask"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "raw", "headers", "status", "field"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_request_gets_a_4xx_json_error(
    http_server, method, path, raw, headers, status, field
):
    reply = http_call(http_server, method, path, raw=raw, headers=headers)
    assert reply.status == status, reply.body[:500]
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()
    assert error["field"] == field
    assert error["error"].startswith(f"{field}: ")


def test_at_least_30_malformed_cases_and_the_server_lives_on(http_server):
    assert len(MALFORMED) >= 30
    assert http_call(http_server, "GET", "/health").status == 200


# === Concurrency ===
def test_concurrent_clients_are_served_without_errors(http_server, predictor):
    expected = {text: predictor.predict_one(text) for text in TEXTS}
    before = http_call(http_server, "GET", "/metadata").json()["batching"]
    failures: list[str] = []

    def client(worker: int) -> None:
        for step in range(5):
            texts = [
                TEXTS[(worker + step + k) % len(TEXTS)] for k in range(1 + (worker + step) % 3)
            ]
            reply = http_call(http_server, "POST", "/predict", {"texts": texts})
            if reply.status != 200:
                failures.append(f"{reply.status} {reply.body[:200]!r}")
                continue
            try:
                assert_same(reply.json()["predictions"], [expected[t] for t in texts])
            except AssertionError as err:
                failures.append(str(err))

    threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    after = http_call(http_server, "GET", "/metadata").json()["batching"]
    requests = after["requests_run"] - before["requests_run"]
    assert requests == 16 * 5
    assert after["batches_run"] - before["batches_run"] < requests  # grouped into micro-batches
