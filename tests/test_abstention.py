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


# === The export, predict.sh and HTTP over real (tiny) models ===
def texts() -> list[str]:
    from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS

    return list(SERVING_TEXTS) + [t if isinstance(t, str) else t[0] for t in CHINESE_SAMPLES][:12]


@pytest.fixture(scope="module")
def abstaining(serving_models, tmp_path_factory):
    """The multiclass run exported with an abstain threshold between its texts' top
    probabilities (so some abstain, some not), and the plain export's Predictor."""
    from types import SimpleNamespace

    from export import export_trained_model
    from serving import Predictor

    model = serving_models["multiclass"]
    plain = Predictor.from_export_dir(model.export_dir)
    top = np.sort(plain.run(texts())["probabilities"].max(axis=1))
    middle = len(top) // 2
    threshold = float((top[middle - 1] + top[middle]) / 2)  # away from every text's top
    export_dir = tmp_path_factory.mktemp("abstain") / "export"
    export_trained_model(model.output_dir, export_dir, abstain_threshold=threshold, abstain_label="其他")  # fmt: skip
    return SimpleNamespace(
        output_dir=model.output_dir,
        export_dir=export_dir,
        threshold=threshold,
        plain=plain,
        predictor=Predictor.from_export_dir(export_dir),
    )


@pytest.mark.slow
def test_the_export_abstains_in_its_graph(abstaining):
    outputs = abstaining.predictor.run(texts())
    plain = abstaining.plain.run(texts())
    expected = plain["probabilities"].max(axis=1) < abstaining.threshold
    assert outputs["abstained"].tolist() == expected.tolist() and 0 < expected.sum() < len(expected)
    assert outputs["label"].tolist() == np.where(expected, "其他", plain["label"]).tolist()
    assert (outputs["predicted"][expected] == 0).all() and (outputs["labels"][expected] == "").all()
    assert (outputs["predicted"][~expected] == plain["predicted"][~expected]).all()
    np.testing.assert_allclose(outputs["probabilities"], plain["probabilities"], atol=1e-6)
    info = abstaining.predictor.info
    assert info.metadata["abstain_threshold"] == abstaining.threshold
    assert info.metadata["abstain_label"] == "其他" and "abstained" in info.metadata["outputs"]
    assert "abstain_threshold" not in abstaining.plain.info.metadata  # unset: unchanged
    assert "abstained" not in plain


@pytest.mark.slow
def test_the_predictor_overrides_the_exports_threshold(abstaining):
    from serving.abstention import Abstention

    predictor, plain = abstaining.predictor, abstaining.plain.run(texts())
    top = plain["probabilities"].max(axis=1)
    for p in (0.0, 0.3, abstaining.threshold, 0.99):
        got = predictor.predict(texts(), abstention=Abstention(p, "?"))
        assert [g.abstained for g in got] == (top < p).tolist()
        assert [g.label for g in got] == np.where(top < p, "?", plain["label"]).tolist()
        # An export without abstention applies the same rule to its outputs.
        same = abstaining.plain.predict(texts(), abstention=Abstention(p, "?"))
        assert [(s.label, s.abstained) for s in same] == [(g.label, g.abstained) for g in got]


def run_predict_sh(args: list[str], target) -> list[dict]:
    from scripts import predict

    assert predict.main([*args, f"--output_file={target}", "--verbosity=warning"]) == 0
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_served_and_in_memory_decisions_agree(abstaining, tmp_path):
    source = tmp_path / "texts.txt"
    source.write_text("".join(f"{t}\n" for t in texts()), encoding="utf-8")
    flags = [f"--input_file={source}", f"--abstain_threshold={abstaining.threshold!r}", "--abstain_label=其他"]  # fmt: skip
    in_memory = run_predict_sh([f"--run_dir={abstaining.output_dir}", *flags], tmp_path / "b.jsonl")
    overridden = run_predict_sh([f"--export_dir={abstaining.export_dir}", *flags], tmp_path / "c.jsonl")  # fmt: skip

    def decisions(rows):
        return [(row["predicted_label"], row["abstained"]) for row in rows]

    served = run_predict_sh([f"--export_dir={abstaining.export_dir}", f"--input_file={source}"], tmp_path / "d.jsonl")  # fmt: skip
    assert decisions(in_memory) == decisions(served) == decisions(overridden)
    assert {row["abstained"] for row in served} == {True, False}
    assert all(row["predicted_label"] == "其他" for row in served if row["abstained"])
    off = run_predict_sh([f"--export_dir={abstaining.export_dir}", f"--input_file={source}", "--abstain_threshold=0"], tmp_path / "e.jsonl")  # fmt: skip
    assert not any(row["abstained"] for row in off)
    plain = run_predict_sh([f"--run_dir={abstaining.output_dir}", f"--input_file={source}"], tmp_path / "f.jsonl")  # fmt: skip
    assert "abstained" not in plain[0]
    assert [r["predicted_label"] for r in off] == [r["predicted_label"] for r in plain]


@pytest.mark.slow
def test_predict_sh_tables_and_the_repl_show_abstention(abstaining, capsys, caplog, monkeypatch):
    import csv
    import io
    import sys

    from scripts import predict

    export = f"--export_dir={abstaining.export_dir}"
    assert predict.main([export, *(f"--text={t}" for t in texts()[:6]), "--verbosity=warning"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out), delimiter="\t"))
    assert rows[0][-1] == "abstained" and {r[-1] for r in rows[1:]} <= {"true", "false"}
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{texts()[0]}\nq\n"))
    assert predict.main([export, "--interactive=true", "--abstain_threshold=1", "--abstain_label=不知道", "--verbosity=warning"]) == 0  # fmt: skip
    answer = capsys.readouterr().out.split("> ")[1].splitlines()[0]
    assert answer.startswith("不知道\t") and answer.endswith("\t(abstained)")
    code = predict.main([f"--run_dir={abstaining.output_dir}", "--text=a", "--abstain_label=x"])
    assert code == 2 and "--abstain_label needs --abstain_threshold" in caplog.text


@pytest.fixture(scope="module")
def client(abstaining):
    from serving.app import create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder
    from serving.validation import Limits

    holder = ModelHolder(abstaining.export_dir, lambda found: abstaining.predictor, poll_seconds=0)
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    yield create_app(holder, batcher, Limits(), "news").test_client()
    batcher.stop()


@pytest.mark.slow
def test_http_routes_abstain_and_take_a_request_threshold(client, abstaining):
    batch = texts()[:8]
    top = abstaining.plain.run(batch)["probabilities"].max(axis=1)
    for body, want in (({}, top < abstaining.threshold), ({"abstain_threshold": 0.99}, top < 0.99), ({"abstain_threshold": 0}, top < 0)):  # fmt: skip
        simple = client.post("/predict", json={"texts": batch, **body})
        assert simple.status_code == 200, simple.data
        predictions = simple.get_json()["predictions"]
        assert [p["abstained"] for p in predictions] == want.tolist()
        assert all(
            p["label"] == "其他" and p["labels"] == [] for p in predictions if p["abstained"]
        )
        rows = client.post("/v1/models/news:predict", json={"instances": batch, **body}).get_json()
        assert [p["abstained"] for p in rows["predictions"]] == want.tolist()
    named = client.post("/predict", json={"texts": batch, "abstain_threshold": 1, "abstain_label": "?"})  # fmt: skip
    assert {p["label"] for p in named.get_json()["predictions"]} == {"?"}
    meta = client.get("/metadata").get_json()
    assert meta["model"]["abstain_threshold"] == abstaining.threshold
    assert meta["model"]["abstain_label"] == "其他"


@pytest.mark.slow
@pytest.mark.parametrize("field,value", [("abstain_threshold", v) for v in (-0.1, 1.5, "0.5", True, None, [0.5])] + [("abstain_label", v) for v in (3, None, "x" * 201)])  # fmt: skip
@pytest.mark.parametrize("route", ["/predict", "/v1/models/news:predict"])
def test_http_bad_abstain_fields_are_a_400_naming_them(client, route, field, value):
    key = "texts" if route == "/predict" else "instances"
    reply = client.post(route, json={key: ["a"], field: value})
    assert reply.status_code == 400, reply.data
    assert reply.get_json()["field"] == field and "Traceback" not in reply.data.decode()


def test_request_settings_resolve_over_the_exports():
    from serving.abstention import Abstention, resolve

    exported = Abstention(0.5, "其他")
    assert resolve(None, None, None) is None and resolve(exported, None, None) == exported
    assert resolve(None, 0.0, None) is None  # 0 switches it off
    assert resolve(exported, 0.0, None) == Abstention(0.0, "其他")  # still says abstained: false
    assert resolve(exported, None, "?") == Abstention(0.5, "?")
    assert resolve(None, 0.7, None) == Abstention(0.7, "")
    with pytest.raises(ValueError, match="needs an abstain threshold"):
        resolve(None, None, "?")


def test_export_refuses_a_threshold_outside_0_1():
    from export.exporter import check_abstention

    for bad in (0.0, -0.5, 1.01):
        with pytest.raises(ValueError, match="--abstain_threshold"):
            check_abstention(bad, "")
    with pytest.raises(ValueError, match="--abstain_label needs --abstain_threshold"):
        check_abstention(None, "其他")
    check_abstention(1.0, "其他")
