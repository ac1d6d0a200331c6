"""Multilabel bounds (issue 21, item 4): --min_labels / --max_labels per text.

After the thresholds, the most probable missing labels are added up to min_labels and the least
probable chosen ones dropped down to max_labels (ties: label order). The rule is the multilabel
head's, in numpy and in the exported graph; train.sh's reports, export.sh, predict.sh and HTTP
take it; a multiclass model refuses it by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.heads import make_head
from classifier.label_bounds import LabelBounds, bound_decisions, bound_decisions_graph

LABELS = ("物流", "质量", "服务", "价格")


def bounded(decisions, probs, lo=0, hi=None):
    return bound_decisions(np.array(decisions), np.array(probs), LabelBounds(lo, hi)).tolist()


# === The rule ===
def test_min_labels_adds_the_most_probable_missing_labels():
    probs = [[0.1, 0.3, 0.2, 0.05], [0.9, 0.3, 0.2, 0.05]]
    decisions = [[0, 0, 0, 0], [1, 0, 0, 0]]
    assert bounded(decisions, probs, 1) == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert bounded(decisions, probs, 2) == [[0, 1, 1, 0], [1, 1, 0, 0]]


def test_max_labels_keeps_the_most_probable_chosen_labels():
    probs = [[0.6, 0.9, 0.7, 0.8]]
    assert bounded([[1, 1, 1, 1]], probs, 0, 2) == [[0, 1, 0, 1]]
    # Only chosen labels are kept: a more probable unchosen one is not brought in.
    assert bounded([[1, 0, 1, 0]], probs, 0, 1) == [[0, 0, 1, 0]]
    assert bounded([[1, 1, 0, 0]], probs, 0, 0) == [[0, 0, 0, 0]]


def test_ties_go_to_the_earlier_label():
    probs = [[0.4, 0.4, 0.4, 0.4]]
    assert bounded([[0, 0, 0, 0]], probs, 2) == [[1, 1, 0, 0]]
    assert bounded([[1, 1, 1, 1]], probs, 0, 3) == [[1, 1, 1, 0]]
    assert bounded([[0, 1, 0, 1]], probs, 0, 1) == [[0, 1, 0, 0]]


def test_min_equal_max_gives_exactly_k_labels():
    rng = np.random.default_rng(0)
    probs = rng.random((200, 4))
    decisions = (probs >= rng.random(4)).astype(np.int32)
    for k in range(5):
        result = bound_decisions(decisions, probs, LabelBounds(k, k))
        assert (result.sum(axis=1) == k).all()


def test_no_bounds_change_nothing():
    rng = np.random.default_rng(1)
    probs = rng.random((50, 4))
    decisions = (probs >= 0.5).astype(np.int32)
    assert (bound_decisions(decisions, probs, LabelBounds()) == decisions).all()
    head = make_head("multilabel", LABELS, (0.5, 0.5, 0.5, 0.5))
    assert (head.decisions(probs) == decisions).all()
    assert "label_bounds" not in head.to_dict()


def test_the_head_applies_its_bounds():
    head = make_head("multilabel", LABELS, None, None, LabelBounds(1, 2))
    probs = np.array([[0.1, 0.3, 0.2, 0.05], [0.9, 0.8, 0.7, 0.6]])
    assert head.decisions(probs).tolist() == [[0, 1, 0, 0], [1, 1, 0, 0]]
    assert head.prediction_fields(probs[0]) == ("质量", "0.300000")
    assert head.with_thresholds([0.2] * 4).label_bounds == LabelBounds(1, 2)
    assert head.with_temperatures([2.0]).label_bounds == LabelBounds(1, 2)
    assert head.to_dict()["label_bounds"] == {"min_labels": 1, "max_labels": 2}


@pytest.mark.parametrize("bounds", [LabelBounds(0, 0), LabelBounds(1, 3), LabelBounds(2, 2), LabelBounds(3), LabelBounds(0, 1), LabelBounds(4, 4)])  # fmt: skip
def test_the_graph_rule_is_the_numpy_rule(bounds):
    import tensorflow as tf

    rng = np.random.default_rng(7)
    probs = rng.random((300, 4)).astype(np.float32)
    probs[::7, 1] = probs[::7, 2]  # ties
    probs[::11] = 0.5
    decisions = (probs >= rng.random(4).astype(np.float32)).astype(np.int32)
    graph = bound_decisions_graph(tf.constant(decisions), tf.constant(probs), bounds).numpy()
    assert graph.tolist() == bound_decisions(decisions, probs, bounds).tolist()
    head = make_head("multilabel", LABELS, (0.3, 0.5, 0.7, 0.9), None, bounds)
    logits = np.log(probs / (1 - probs + 1e-7) + 1e-7).astype(np.float32)
    served, predicted = head.graph_outputs(tf.constant(logits))
    assert predicted.numpy().tolist() == head.decisions(served.numpy()).tolist()


# === Bad bounds: one clear line naming the flag ===
def test_a_multiclass_head_refuses_bounds_by_name():
    with pytest.raises(ValueError, match="--min_labels apply to multilabel tasks, not multiclass"):
        make_head("multiclass", ("a", "b"), None, None, LabelBounds(1))
    with pytest.raises(ValueError, match="^--max_labels apply"):
        make_head("multiclass", ("a", "b")).with_label_bounds(LabelBounds(0, 2))
    make_head("multiclass", ("a", "b"), None, None, LabelBounds())  # defaults: fine


def test_impossible_bounds_are_refused_by_name():
    with pytest.raises(ValueError, match=r"--min_labels \(3\) must not exceed --max_labels"):
        make_head("multilabel", LABELS, None, None, LabelBounds(3, 2))
    with pytest.raises(ValueError, match=r"--min_labels \(5\) must not exceed the number of labels"):  # fmt: skip
        make_head("multilabel", LABELS, None, None, LabelBounds(5))
    with pytest.raises(ValueError, match="--max_labels must be a non-negative integer"):
        LabelBounds(0, -1).check()


def test_training_config_takes_the_flags():
    from classifier.training.training_config import TrainingConfig

    config = TrainingConfig(min_labels=1, max_labels=3)
    assert config.label_bounds == LabelBounds(1, 3)
    assert "min_labels" not in config.result_settings()  # a resumed run may change them
    with pytest.raises(ValueError, match="--min_labels"):
        TrainingConfig(min_labels=4, max_labels=3)


# === Training's reports ===
def dev_rows(n: int = 120):
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    logits = rng.normal(-1.5, 2, size=(n, len(LABELS)))
    targets = ((logits + rng.normal(0, 1.5, logits.shape)) > 0.5).astype(np.float32)
    examples = [
        SimpleNamespace(
            guid=f"dev-{i}",
            text_a=f"t{i}",
            text_b=None,
            label=None,
            labels=tuple(LABELS[j] for j in np.flatnonzero(row)),
        )  # fmt: skip
        for i, row in enumerate(targets)
    ]
    return logits, targets, examples


def test_reports_record_the_bounds_and_the_figures_without_them(tmp_path):
    import csv

    from classifier.split_reports import write_predictions, write_split_reports
    from classifier.thresholds import ThresholdPolicy

    logits, targets, examples = dev_rows()
    head = make_head("multilabel", LABELS).finalize(logits, targets, ThresholdPolicy())
    plain = write_split_reports(tmp_path / "plain", head, examples, logits, targets, "eval", ThresholdPolicy())  # fmt: skip
    assert "label_bounds" not in plain and "micro_f1_without_bounds" not in plain
    bounded_head = head.with_label_bounds(LabelBounds(1, 2))
    results = write_split_reports(tmp_path, bounded_head, examples, logits, targets, "eval", ThresholdPolicy())  # fmt: skip
    saved = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert saved["label_bounds"] == {"min_labels": 1, "max_labels": 2} == results["label_bounds"]
    for name in ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy"):
        assert saved[f"{name}_without_bounds"] == plain[name]
    assert saved["micro_f1"] != plain["micro_f1"]  # the bounds changed decisions here
    write_predictions(tmp_path / "dev_predictions.tsv", bounded_head, examples, bounded_head.probabilities(logits), False)  # fmt: skip
    with open(tmp_path / "dev_predictions.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    counts = [len(row["predicted_labels"].split("|")) for row in rows]
    assert all(row["predicted_labels"] for row in rows) and max(counts) <= 2


# === The export, predict.sh and HTTP over a real (tiny) multilabel pair model ===
def pairs() -> tuple[list[str], list[str]]:
    from tests.support.samples import SERVING_TEXTS

    texts = list(SERVING_TEXTS)
    return texts, texts[1:] + texts[:1]


@pytest.fixture(scope="module")
def bounded_export(serving_models, tmp_path_factory):
    """The multilabel pair run exported with --min_labels=2 --max_labels=2, and the plain
    export's Predictor."""
    from types import SimpleNamespace

    from export import export_trained_model
    from serving import Predictor

    model = serving_models["multilabel_pair"]
    export_dir = tmp_path_factory.mktemp("bounds") / "export"
    export_trained_model(model.output_dir, export_dir, min_labels=2, max_labels=2)
    return SimpleNamespace(
        output_dir=model.output_dir,
        plain=Predictor.from_export_dir(model.export_dir),
        predictor=Predictor.from_export_dir(export_dir),
        export_dir=export_dir,
    )


def names(predictions) -> list[list[str]]:
    return [sorted(item.label for item in p.labels) for p in predictions]


@pytest.mark.slow
def test_the_export_bounds_in_its_graph_as_a_request_does(bounded_export):
    from serving.label_bounds import Bounds, bound_rows

    texts, texts_b = pairs()
    plain = bounded_export.plain.run(texts, texts_b)
    outputs = bounded_export.predictor.run(texts, texts_b)
    assert (outputs["predicted"].sum(axis=1) == 2).all()
    expected = bound_rows(plain["predicted"], plain["probabilities"], Bounds(2, 2))
    assert outputs["predicted"].tolist() == expected.tolist()
    info = bounded_export.predictor.info
    assert info.metadata["label_bounds"] == {"min_labels": 2, "max_labels": 2}
    assert bounded_export.plain.info.metadata["label_bounds"] == {"min_labels": 0, "max_labels": None}  # fmt: skip
    # The plain export answered at the request's bounds decides as the bounded graph.
    overridden = bounded_export.plain.predict(texts, texts_b, label_bounds=Bounds(2, 2))
    assert names(overridden) == names(bounded_export.predictor.predict(texts, texts_b))
    # And a request back to no bounds gives the plain export's decisions.
    back = bounded_export.predictor.predict(texts, texts_b, label_bounds=Bounds(0, None))
    assert names(back) == names(bounded_export.plain.predict(texts, texts_b))


def run_predict_sh(args: list[str], target) -> list[dict]:
    from scripts import predict

    assert predict.main([*args, f"--output_file={target}", "--verbosity=warning"]) == 0
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_predict_sh_export_and_run_folder_agree_with_bounds(bounded_export, tmp_path, caplog):
    from scripts import predict

    texts, texts_b = pairs()
    flags = [f for a, b in zip(texts, texts_b, strict=True) for f in (f"--text={a}", f"--text_b={b}")]  # fmt: skip
    served = run_predict_sh([f"--export_dir={bounded_export.export_dir}", *flags], tmp_path / "a.jsonl")  # fmt: skip
    run_dir = f"--run_dir={bounded_export.output_dir}"
    in_memory = run_predict_sh([run_dir, *flags, "--min_labels=2", "--max_labels=2"], tmp_path / "b.jsonl")  # fmt: skip
    plain_export = f"--export_dir={bounded_export.plain.path.parent}"
    overridden = run_predict_sh([plain_export, *flags, "--min_labels=2", "--max_labels=2"], tmp_path / "c.jsonl")  # fmt: skip
    labels = [sorted(row["predicted_labels"]) for row in served]
    assert all(len(row) == 2 for row in labels)
    assert labels == [sorted(r["predicted_labels"]) for r in in_memory]
    assert labels == [sorted(r["predicted_labels"]) for r in overridden]
    one = run_predict_sh([f"--export_dir={bounded_export.export_dir}", *flags, "--max_labels=1", "--min_labels=1"], tmp_path / "d.jsonl")  # fmt: skip
    assert all(len(r["predicted_labels"]) == 1 for r in one)
    code = predict.main([run_dir, "--text=a", "--text_b=b", "--min_labels=3", "--max_labels=1"])
    assert code == 2 and "min_labels (3) must not exceed max_labels (1)" in caplog.text


@pytest.mark.slow
def test_a_multiclass_model_refuses_bounds_by_name(serving_models, tmp_path, caplog):
    from export import export_trained_model
    from scripts import predict

    model = serving_models["multiclass"]
    with pytest.raises(ValueError, match="--max_labels apply to multilabel tasks, not multiclass"):
        export_trained_model(model.output_dir, tmp_path / "x", max_labels=2)
    code = predict.main([f"--export_dir={model.export_dir}", "--text=a", "--min_labels=1"])
    assert code == 2 and "--min_labels: min_labels applies to multilabel models" in caplog.text


@pytest.fixture(scope="module")
def client(bounded_export):
    from serving.app import create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder
    from serving.validation import Limits

    predictor = bounded_export.plain
    holder = ModelHolder(predictor.path.parent, lambda found: predictor, poll_seconds=0)
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    yield create_app(holder, batcher, Limits(), "reviews").test_client()
    batcher.stop()


@pytest.mark.slow
def test_http_routes_take_request_bounds(client, bounded_export):
    texts, texts_b = pairs()
    body = {"pairs": [[a, b] for a, b in zip(texts, texts_b, strict=True)]}
    plain = client.post("/predict", json=body)
    again = client.post("/predict", json={**body, "min_labels": 0})
    assert plain.data == again.data  # the export's own bounds: byte for byte
    reply = client.post("/predict", json={**body, "min_labels": 2, "max_labels": 2})
    assert reply.status_code == 200, reply.data
    got = [sorted(item["label"] for item in p["labels"]) for p in reply.get_json()["predictions"]]
    assert got == names(bounded_export.predictor.predict(texts, texts_b))
    rows = [{"text": a, "text_b": b} for a, b in zip(texts, texts_b, strict=True)]
    tf_reply = client.post("/v1/models/reviews:predict", json={"instances": rows, "max_labels": 1})
    assert tf_reply.status_code == 200, tf_reply.data
    assert all(sum(p["predicted"]) <= 1 for p in tf_reply.get_json()["predictions"])


@pytest.mark.slow
@pytest.mark.parametrize("field,value", [("min_labels", v) for v in (-1, 1.5, "1", True, None, 4)] + [("max_labels", v) for v in (-2, 2.0, "x", False, None)])  # fmt: skip
@pytest.mark.parametrize("route", ["/predict", "/v1/models/reviews:predict"])
def test_http_bad_bounds_are_a_400_naming_them(client, route, field, value):
    body = {"pairs": [["a", "b"]]} if route == "/predict" else {"instances": [{"text": "a", "text_b": "b"}]}  # fmt: skip
    reply = client.post(route, json={**body, field: value})
    assert reply.status_code == 400, reply.data
    assert reply.get_json()["field"] == field and "Traceback" not in reply.data.decode()
    conflict = client.post(route, json={**body, "min_labels": 2, "max_labels": 1})
    assert conflict.status_code == 400 and conflict.get_json()["field"] in (
        "min_labels",
        "max_labels",
    )
