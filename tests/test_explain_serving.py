"""Explanations wherever a prediction is made: predict.sh --explain (JSON lines), the REPL's
:explain, /predict with "explain": true and /v1/models/<name>:explain over HTTP; each equal
to the Predictor's own explanation, and bad requests refused naming the field."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from scripts import predict
from serving import Predictor
from serving.explaining import ExplainSettings
from serving.repl import run_repl
from tests.support.serving import http_call

pytestmark = pytest.mark.slow  # a server process

MODEL = "multiclass_export"
TEXTS = ["这家餐厅的菜太难吃了，服务也很差。", "苹果发布了新款iPhone手机"]


@pytest.fixture(scope="module")
def predictor(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def assert_explains(answer: dict, attributions) -> None:
    first = attributions[0]
    assert answer["explained_label"] == first.label
    assert [w["word"] for w in answer["words"]] == [w.word for w in first.words]
    np.testing.assert_allclose(
        [w["score"] for w in answer["words"]], [w.score for w in first.words], atol=1e-5
    )
    assert [t["token"] for t in answer["tokens"]] == [t.token for t in first.tokens]
    assert {"start", "end"} <= set(answer["tokens"][0])


def test_predict_sh_explain_writes_one_json_object_per_text(serving_models, predictor, capsys):
    export = str(serving_models["multiclass"].export_dir)
    argv = ["--export_dir", export, "--explain", "--ig_steps", "30"]
    assert predict.main([*argv, "--text", TEXTS[0], "--text", TEXTS[1]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    expected = predictor.explain(TEXTS, settings=ExplainSettings(steps=30))
    for line, text, attributions in zip(lines, TEXTS, expected, strict=True):
        answer = json.loads(line)
        assert answer["text"] == text
        assert answer["label"] == predictor.predict([text])[0].label
        assert_explains(answer, attributions)
        # words in text order, covering the text
        starts = [w["start"] for w in answer["words"]]
        assert starts == sorted(starts)
        assert "".join(w["word"] for w in answer["words"]) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ig_steps", "10"], "go with --explain"),
        (["--explain", "--output_format", "tsv"], "JSON lines"),
        (["--explain", "--output_file", "{tmp}/out.tsv"], "names a tsv file"),
        (["--explain", "--explain_label", "足球"], "--explain_label '足球': not a label"),
    ],
)
def test_predict_sh_explain_flags_are_checked(serving_models, tmp_path, caplog, flags, message):
    export = str(serving_models["multiclass"].export_dir)
    flags = [flag.replace("{tmp}", str(tmp_path)) for flag in flags]
    assert predict.main(["--export_dir", export, *flags, "--text", "好"]) == 2
    assert message in caplog.text, caplog.text
    assert not (tmp_path / "out.tsv").exists()


def test_repl_explain_toggles_a_coloured_line(predictor, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = io.StringIO()
    run_repl(
        predictor, io.StringIO(f"{TEXTS[0]}\n:explain\n{TEXTS[0]}\n:explain\n{TEXTS[0]}\n"), out
    )
    text = out.getvalue()
    assert text.count("explanations on") == 1 and text.count("explanations off") == 1
    assert text.count("  why ") == 1  # only the answer given while on
    assert "\x1b[48;5;" in text  # background colours
    label = predictor.predict([TEXTS[0]])[0].label
    assert f"  why {label}: " in text
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    run_repl(predictor, io.StringIO(f"{TEXTS[0]}\n"), plain, explain=ExplainSettings())
    assert "\x1b[" not in plain.getvalue() and "  why " in plain.getvalue()


def test_predict_route_explains_on_request(http_server, predictor):
    reply = http_call(http_server, "POST", "/predict", {"texts": TEXTS, "explain": True})
    assert reply.status == 200, reply.body
    answers = reply.json()["predictions"]
    for answer, attributions in zip(answers, predictor.explain(TEXTS), strict=True):
        assert_explains(answer, attributions)
    plain = http_call(http_server, "POST", "/predict", {"texts": TEXTS}).json()["predictions"]
    assert "words" not in plain[0]


def test_metadata_says_the_export_explains(http_server):
    assert http_call(http_server, "GET", "/metadata").json()["explain"] is True


def test_tf_serving_explain_route(http_server, predictor):
    body = {"instances": TEXTS, "ig_steps": 20, "ig_baseline": "mask", "explain_label": "财经"}
    reply = http_call(http_server, "POST", f"/v1/models/{MODEL}:explain", body)
    assert reply.status == 200, reply.body
    explanations = reply.json()["explanations"]
    settings = ExplainSettings(20, "mask", "财经")
    for answer, attributions in zip(
        explanations, predictor.explain(TEXTS, settings=settings), strict=True
    ):
        assert answer["explained_label"] == "财经"
        assert_explains(answer, attributions)
    columnar = http_call(
        http_server, "POST", f"/v1/models/{MODEL}/versions/1:explain", {"inputs": TEXTS[:1]}
    )
    assert columnar.status == 200 and len(columnar.json()["explanations"]) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", {"texts": ["好"], "explain": "yes"}, "explain"),
        ("/predict", {"texts": ["好"], "ig_steps": 5}, "ig_steps"),
        ("/predict", {"texts": ["好"], "explain": True, "ig_steps": 0}, "ig_steps"),
        ("/predict", {"texts": ["好"], "explain": True, "ig_steps": 2.5}, "ig_steps"),
        ("/predict", {"texts": ["好"], "explain": True, "ig_baseline": "zero"}, "ig_baseline"),
        ("/predict", {"texts": ["好"], "explain": True, "explain_label": "足球"}, "explain_label"),
        ("/predict", {"texts": ["好"] * 9, "explain": True}, "texts"),
        (f"/v1/models/{MODEL}:explain", {"instances": ["好"], "explain_label": 3}, "explain_label"),
        (f"/v1/models/{MODEL}:explain", {"instances": ["好"] * 9}, "instances"),
        (
            f"/v1/models/{MODEL}:explain",
            {
                "signature_name": "predict_ids",
                "instances": [{"input_ids": [1], "input_mask": [1], "segment_ids": [0]}],
            },
            "signature_name",
        ),
        (f"/v1/models/{MODEL}:explain", {"instances": ["好"], "nope": 1}, "nope"),
    ],
)
def test_bad_explain_requests_name_the_field(http_server, path, body, field):
    reply = http_call(http_server, "POST", path, body)
    assert 400 <= reply.status < 500, reply.body
    assert reply.json()["field"] == field, reply.json()


def test_pairs_explain_both_texts(serving_models, capsys):
    export = str(serving_models["multilabel_pair"].export_dir)
    flags = ["--export_dir", export, "--explain", "--text", "物流很快", "--text_b", "质量不错"]
    assert predict.main(flags) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["text"], answer["text_a"], answer["text_b"]) == (
        "物流很快",
        "物流很快",
        "质量不错",
    )
    assert "".join(w["word"] for w in answer["words"]) == "物流很快"
    assert "".join(w["word"] for w in answer["words_b"]) == "质量不错"
    assert {t["segment"] for t in answer["tokens"]} == {0, 1}
    total = sum(t["score"] for t in answer["tokens"])
    assert total == pytest.approx(answer["logit"] - answer["baseline_logit"], rel=0.05, abs=1e-3)
