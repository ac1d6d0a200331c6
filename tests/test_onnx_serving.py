"""Serving an ONNX export (issue 25, item 2): serving.Predictor, predict.sh, the REPL and
serve.sh run export.sh --format=onnx's version folder with ONNX Runtime, told from its files.

The runtime (serving.onnx_predictor) tokenizes with the project's Python tokenizer and
packer (classifier.text.row_encoder), whose ids equal the SavedModel's ``tokenize`` signature
here on real and awkward texts, pools sliding windows as the graph does and decides with the
export's head (thresholds, temperatures, bounds, abstention): probabilities equal the
SavedModel's within 1e-4 for every head, adapter and long-text mode (slow: each case exports
both formats), and a multilabel export decides as the run folder in memory. No TensorFlow is
imported on its way."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from classifier.adapters import make_adapter_config  # noqa: E402
from classifier.checkpoints.tiny import (  # noqa: E402
    randomize_weights,
    tiny_albert_config,
    tiny_bert_config,
)
from classifier.classifier_spec import ClassifierSpec  # noqa: E402
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab  # noqa: E402
from classifier.trained_model import build_classifier, save_trained_model  # noqa: E402
from export import export_trained_model  # noqa: E402
from serving.abstention import Abstention  # noqa: E402
from serving.label_bounds import Bounds  # noqa: E402
from serving.loader import RuntimeMissing, load_predictor, load_version  # noqa: E402
from serving.onnx_predictor import OnnxExportError, OnnxPredictor  # noqa: E402
from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("体育", "财经", "科技", "娱乐")
NODES = ("体育", "体育##篮球", "体育##足球", "财经", "财经##股市")
TOLERANCE = 1e-4

DEMO = [
    line.split("\t", 1)[1]
    for line in (ROOT / "data/demo/dev.tsv").read_text(encoding="utf-8").splitlines()[:40]
]
EDGE_TEXTS = [
    "“你好”，（测试）！？：；、《书名》【注】……——「引号」",  # full-width punctuation
    "Hello World! It's 2024, iPhone15 Pro 降价500元",  # Latin, digits
    "ＡＢＣ全角字母１２３和数字％＠",  # full-width letters and digits
    "表情😀👍🏻好评🎉🎉",  # emoji (not in the vocab: [UNK])
    "Café naïve Ωmega ÀÉÎÕÜ résumé ΣΊΣΥΦΟΣ",  # accents, Greek (final sigma)
    "こんにちは世界 안녕하세요",  # kana, hangul
    "零宽\u200b空格\ufeff和\x00控制字符",  # zero-width space, BOM, NUL
    "tabs\tand\nnewlines\u3000全角空格",
    "supercalifragilisticexpialidocious词",  # a word over max_chars_per_word in one case
    "",
    " \t\u3000\n",
]
LONG_TEXTS = ["".join(SERVING_TEXTS) * k for k in (1, 2, 3)] + ["".join(DEMO)]
TEXTS = SERVING_TEXTS + CHINESE_SAMPLES + DEMO + EDGE_TEXTS + LONG_TEXTS
TEXTS_B = list(reversed(TEXTS))


# === Run folders, exported both ways ===
def bert(vocab_size):
    return tiny_bert_config(vocab_size, num_layers=2, hidden_size=32)


def albert(vocab_size):
    return tiny_albert_config(vocab_size, num_layers=2, hidden_size=32, embedding_size=16)


def write_run(
    root: Path,
    *,
    config=bert,
    head_kind: str = "multiclass",
    labels=LABELS,
    is_pair: bool = False,
    adapter=None,
    max_seq_length: int = 32,
    seed: int = 0,
    **spec_fields,
) -> Path:
    """A training output folder holding a random tiny classifier (what train.sh writes)."""
    root.mkdir(parents=True)
    vocab = build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES + SERVING_TEXTS + DEMO)
    write_vocab(root / "source_vocab.txt", vocab)
    spec = ClassifierSpec(
        model=config(len(vocab)),
        labels=labels,
        head_kind=head_kind,
        is_pair=is_pair,
        max_seq_length=max_seq_length,
        adapter=None
        if adapter is None
        else make_adapter_config(adapter[0], **adapter[1]).to_dict(),
        **spec_fields,
    )
    model = build_classifier(spec)
    randomize_weights(model, seed=seed, scale=0.3)
    save_trained_model(root, model, spec, root / "source_vocab.txt")
    return root


WINDOWS = {"long_text": "sliding_window", "doc_stride": 7}
# name -> (run folder settings, export settings); the long-text cases share one run folder.
CASES = {
    "multiclass calibrated abstaining": (
        {"temperatures": (1.7,), "seed": 1},
        {"abstain_threshold": 0.3, "abstain_label": "其他"},
    ),
    "multilabel pair": (
        {
            "head_kind": "multilabel",
            "is_pair": True,
            "thresholds": (0.3, 0.4, 0.5, 0.6),
            "temperatures": (1.0, 1.2, 0.8, 2.0),
            "label_bounds": {"min_labels": 1, "max_labels": None},
            "max_seq_length": 40,
            "seed": 2,
        },
        {"max_labels": 2},
    ),
    "hierarchical": ({"head_kind": "hierarchical", "labels": NODES, "seed": 3}, {}),
    "lora": ({"adapter": ("lora", {"rank": 4}), "seed": 4}, {}),
    "houlsby adapter": ({"adapter": ("houlsby", {"size": 8}), "seed": 5}, {}),
    "albert cased": ({"config": albert, "do_lower_case": False, "max_chars_per_word": 8}, {}),
    "truncate": ({"max_seq_length": 24, "seed": 6}, {}),
    "head_tail": ({"max_seq_length": 24, "seed": 6}, {"long_text": {"long_text": "head_tail"}}),
    "sliding_window mean": (
        {"max_seq_length": 24, "seed": 6},
        {"long_text": {**WINDOWS, "window_pooling": "mean"}},
    ),
    "sliding_window max": (
        {"max_seq_length": 24, "seed": 6},
        {"long_text": {**WINDOWS, "window_pooling": "max"}},
    ),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """case name -> (SavedModel Predictor, OnnxPredictor), exported from one run on demand."""
    from serving.predictor import Predictor

    root = tmp_path_factory.mktemp("onnx_serving")
    runs: dict[str, Path] = {}
    loaded: dict[str, tuple] = {}

    def get(name: str):
        if name not in loaded:
            run_settings, export_settings = CASES[name]
            key = json.dumps(run_settings, sort_keys=True, default=str)
            if key not in runs:
                runs[key] = write_run(root / f"run{len(runs)}", **run_settings)
            run = runs[key]
            folder = root / name.replace(" ", "_")
            saved = export_trained_model(run, folder / "saved_model", **export_settings)
            onnx = export_trained_model(
                run, folder / "onnx", export_format="onnx", **export_settings
            )
            loaded[name] = (
                Predictor(saved.path, batch_size=16),
                load_predictor(onnx.path, batch_size=16),
            )
        return loaded[name]

    return get


def texts_for(predictor):
    return (TEXTS, TEXTS_B) if predictor.info.is_pair else (TEXTS, None)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_probabilities_and_decisions_equal_the_saved_models(exports, name):
    saved, onnx = exports(name)
    assert isinstance(onnx, OnnxPredictor)
    texts, texts_b = texts_for(saved)
    expected, got = saved.run(texts, texts_b), onnx.run(texts, texts_b)
    assert sorted(got) == sorted(expected), name  # the same keys (abstained where it abstains)
    for key, value in expected.items():
        assert got[key].shape == value.shape and got[key].dtype == value.dtype, key
    worst = float(np.abs(got["probabilities"] - expected["probabilities"]).max())
    print(f"{name}: max |p_onnx - p_savedmodel| = {worst:.2e} over {len(texts)} texts")
    assert worst < TOLERANCE, name
    assert np.abs(got["score"] - expected["score"]).max() < TOLERANCE
    for key in ("label", "labels", "predicted", "abstained"):
        if key in expected:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{name}: {key}")
    assert onnx.predict(texts[:8], None if texts_b is None else texts_b[:8]) is not None


@pytest.mark.slow
def test_the_long_text_modes_read_long_texts_differently(exports):
    """The long-text parity above is not vacuous: each mode gives the long texts their own
    probabilities (short texts: the same), and a window pooling differs from the other."""
    modes = ["truncate", "head_tail", "sliding_window mean", "sliding_window max"]
    runs = {mode: exports(mode)[1].run(TEXTS)["probabilities"] for mode in modes}
    short = [i for i, text in enumerate(TEXTS) if len(text) < 15]
    long = [TEXTS.index(text) for text in LONG_TEXTS]
    for mode in modes[1:]:
        np.testing.assert_allclose(runs[mode][short], runs["truncate"][short], atol=1e-6)
    for i, a in enumerate(modes):
        for b in modes[i + 1 :]:
            assert np.abs(runs[a][long] - runs[b][long]).max() > 1e-3, (a, b)
    windows = exports("sliding_window mean")[1].tokenize(LONG_TEXTS)["document_index"]
    assert np.bincount(windows).min() > 3  # several windows per long text


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_the_fed_ids_equal_the_saved_models_tokenize_signature(exports, name):
    """The proof of the tokenizer: rows (windows included), ids, mask and segments."""
    saved, onnx = exports(name)
    texts, texts_b = texts_for(saved)
    expected, got = saved.tokenize(texts, texts_b), onnx.tokenize(texts, texts_b)
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=f"{name}: {key}")
        assert got[key].dtype == value.dtype, key
    # Invalid UTF-8 is dropped alike, as convert_to_unicode(errors="ignore").
    raw = [b"\xff\xe4\xb8\xad\xe8\xb6\x85 abc\xed\xa0\x80"]
    raw_b = raw if texts_b is not None else None
    for key, value in saved.tokenize(raw, raw_b).items():
        np.testing.assert_array_equal(onnx.tokenize(raw, raw_b)[key], value)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["multiclass calibrated abstaining", "multilabel pair"])
def test_requests_own_abstention_bounds_and_ids_equal_the_saved_models(exports, name):
    saved, onnx = exports(name)
    texts, texts_b = texts_for(saved)
    expected, got = saved.run(texts, texts_b), onnx.run(texts, texts_b)
    for abstention in (Abstention(0.6, "不确定"), Abstention(0.0, "")):
        a, b = saved.abstain(expected, abstention), onnx.abstain(got, abstention)
        for key in ("label", "labels", "predicted", "abstained"):
            np.testing.assert_array_equal(b[key], a[key], err_msg=key)
    if saved.info.is_multilabel:
        for bounds in (Bounds(2, 3), Bounds(0, 1)):
            a, b = saved.info.bound(expected, bounds), onnx.info.bound(got, bounds)
            np.testing.assert_array_equal(b["predicted"], a["predicted"])
    ids = saved.tokenize(texts[:12], None if texts_b is None else texts_b[:12])
    a = saved.run_ids(ids["input_ids"], ids["input_mask"], ids["segment_ids"])
    b = onnx.run_ids(ids["input_ids"], ids["input_mask"], ids["segment_ids"])
    assert np.abs(a["probabilities"] - b["probabilities"]).max() < TOLERANCE
    np.testing.assert_array_equal(b["predicted"], a["predicted"])


# === ONNX only: decisions of the run folder in memory ===
@pytest.fixture(scope="module")
def multilabel(tmp_path_factory):
    """A multilabel run (thresholds, per-label temperatures, bounds) and its ONNX export,
    which abstains below 0.1."""
    root = tmp_path_factory.mktemp("onnx_multilabel")
    run = write_run(
        root / "run",
        head_kind="multilabel",
        thresholds=(0.35, 0.45, 0.5, 0.6),
        temperatures=(1.3, 0.9, 1.1, 2.0),
        label_bounds={"min_labels": 1, "max_labels": 2},
        long_text="sliding_window",
        doc_stride=9,
        seed=8,
    )
    result = export_trained_model(
        run, root / "export", export_format="onnx", abstain_threshold=0.1, abstain_label="其他"
    )
    return run, result.path.parent, load_predictor(result.path.parent, batch_size=8)


def in_memory(run: Path):
    from scripts.predict import ModelSource
    from scripts.predict import load_predictor as load_source

    return load_source(ModelSource(run_dir=run), 8)


def test_multilabel_decisions_equal_the_in_memory_models(multilabel):
    run, _, onnx = multilabel
    memory = in_memory(run)
    got = onnx.run(TEXTS)
    expected = memory.run(TEXTS, None, onnx.info.abstention)
    assert np.abs(got["probabilities"] - expected["probabilities"]).max() < TOLERANCE
    for key in ("label", "labels", "predicted", "abstained"):
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert got["predicted"].sum() > 0 and got["predicted"].sum(axis=1).max() <= 2  # bounds
    asked = Abstention(0.7, "?")
    ours = onnx.predict(TEXTS, abstention=asked, label_bounds=Bounds(0, 1))
    theirs = memory.predict(TEXTS, abstention=asked, label_bounds=Bounds(0, 1))
    assert [(p.label, p.abstained, [x.label for x in p.labels]) for p in ours] == [
        (p.label, p.abstained, [x.label for x in p.labels]) for p in theirs
    ]


def test_a_hierarchical_export_decides_paths_as_the_run_folder(tmp_path):
    run = write_run(tmp_path / "run", head_kind="hierarchical", labels=NODES, seed=9)
    result = export_trained_model(run, tmp_path / "export", export_format="onnx")
    onnx = load_predictor(tmp_path / "export")
    ours, theirs = onnx.predict(TEXTS), in_memory(run).predict(TEXTS)
    assert [[x.label for x in p.paths] for p in ours] == [
        [x.label for x in p.paths] for p in theirs
    ]
    assert any(p.paths for p in ours)
    assert onnx.info.label_tree is not None and result.version == 1


# === Predictor, REPL, predict.sh ===
def test_predictor_and_its_classmethods_take_an_onnx_folder(multilabel):
    from serving import Predictor

    _, export_dir, onnx = multilabel
    for predictor in (
        Predictor(export_dir / "1"),
        Predictor.from_export_dir(export_dir),
        load_predictor(export_dir / "1"),
    ):
        assert isinstance(predictor, OnnxPredictor) and predictor.version in (0, 1)
        assert predictor.labels == LABELS and predictor.info.metadata["format"] == "zh-textclf-onnx"
    assert onnx.run([])["probabilities"].shape == (0, 4)
    assert onnx.predict_one(TEXTS[0]).label == onnx.predict([TEXTS[0]])[0].label


def test_bad_inputs_are_input_errors(multilabel):
    from serving import InputError

    _, _, onnx = multilabel
    with pytest.raises(InputError, match="text_b is not an input"):
        onnx.run(["a"], ["b"])
    with pytest.raises(InputError, match="expected a string"):
        onnx.run([3])
    with pytest.raises(InputError, match="not valid Unicode"):
        onnx.run(["\ud800"])


def test_the_repl_answers_from_an_onnx_export(multilabel):
    from serving.repl import run_repl

    _, _, onnx = multilabel
    stdout = io.StringIO()
    assert run_repl(onnx, io.StringIO(f"{TEXTS[0]}\n{TEXTS[3]}\nq\n"), stdout) == 0
    out = stdout.getvalue()
    assert "labels: 体育 财经 科技 娱乐" in out and "version 1" in out
    for prediction in onnx.predict([TEXTS[0], TEXTS[3]]):
        shown = "|".join(x.label for x in prediction.labels) or prediction.label
        assert shown in out


def test_predict_sh_writes_an_onnx_exports_predictions(multilabel, tmp_path):
    from scripts.predict import main
    from serving.text_io import TextRow, json_object

    _, export_dir, onnx = multilabel
    target = tmp_path / "out.jsonl"
    argv = [f"--export_dir={export_dir}", f"--output_file={target}", "--verbosity=warning"]
    assert main([*argv, *(f"--text={t}" for t in TEXTS[:5]), "--top_k=2"]) == 0
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    expected = [
        json_object(onnx.info, TextRow(i, text, None), prediction, None, 2)
        for i, (text, prediction) in enumerate(
            zip(TEXTS[:5], onnx.predict(TEXTS[:5]), strict=True), 1
        )
    ]
    assert rows == json.loads(json.dumps(expected, ensure_ascii=False))
    assert "predicted_labels" in rows[0] and "abstained" in rows[0]


# === HTTP ===
@pytest.fixture(scope="module")
def client(multilabel):
    from serving.app import create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder
    from serving.validation import Limits

    _, export_dir, _ = multilabel
    holder = ModelHolder(export_dir, lambda found: load_version(found, batch_size=8), 0)
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    yield create_app(holder, batcher, Limits(), "reviews").test_client()
    batcher.stop()


def test_every_route_answers_from_an_onnx_export(client, multilabel):
    _, _, onnx = multilabel
    texts = [t for t in TEXTS[:10] if t.strip()]
    reply = client.post("/predict", json={"texts": texts, "top_k": 2})
    assert reply.status_code == 200, reply.get_json()
    expected = [p.to_dict(2) for p in onnx.predict(texts)]
    got = reply.get_json()["predictions"]
    assert [p["label"] for p in got] == [p["label"] for p in expected]
    assert [p["labels"] for p in got] == json.loads(json.dumps([p["labels"] for p in expected]))
    assert reply.get_json()["model_version"] == 1

    asked = {"texts": texts, "abstain_threshold": 0.99, "abstain_label": "?", "min_labels": 2}
    got = client.post("/predict", json=asked).get_json()["predictions"]
    assert all(p["label"] == "?" and p["abstained"] for p in got)
    got = client.post("/predict", json={"texts": texts, "max_labels": 1}).get_json()
    assert all(len(p["labels"]) <= 1 for p in got["predictions"])

    reply = client.post("/v1/models/reviews:predict", json={"instances": texts})
    rows = reply.get_json()["predictions"]
    outputs = onnx.run(texts)
    assert (
        np.abs(np.array([r["probabilities"] for r in rows]) - outputs["probabilities"]).max() < 1e-6
    )
    assert [r["predicted"] for r in rows] == outputs["predicted"].tolist()
    assert "abstained" in rows[0]

    ids = onnx.tokenize(texts[:3])
    instances = [
        {
            "input_ids": ids["input_ids"][row][ids["input_mask"][row] > 0].tolist(),
            "input_mask": [1] * int(ids["input_mask"][row].sum()),
            "segment_ids": ids["segment_ids"][row][ids["input_mask"][row] > 0].tolist(),
        }
        for row in range(3)
        if "document_index" not in ids or list(ids["document_index"]).count(row) == 1
    ]
    body = {"signature_name": "predict_ids", "instances": instances}
    by_ids = client.post("/v1/models/reviews:predict", json=body).get_json()["predictions"]
    assert [r["predicted"] for r in by_ids] == [r["predicted"] for r in rows[: len(by_ids)]]

    meta = client.get("/metadata").get_json()
    assert meta["labels"] == list(LABELS) and meta["model"]["format"] == "zh-textclf-onnx"
    assert client.get("/v1/models/reviews/metadata").status_code == 200
    assert client.get("/v1/models/reviews").get_json()["model_version_status"][0]["version"] == "1"
    assert client.get("/health").get_json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200 and b"<html" in page.data.lower()

    upload = "\n".join(texts).encode("utf-8")
    reply = client.post(
        "/predict_file",
        data={"file": (io.BytesIO(upload), "texts.txt")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200 and reply.headers["X-Predicted-Rows"] == str(len(texts))
    assert reply.headers["X-Model-Version"] == "1"

    metrics = client.get("/metrics").data.decode()
    assert 'route="/predict"' in metrics and 'route="/predict_file"' in metrics


# === No TensorFlow on the ONNX path ===
def test_the_onnx_path_imports_no_tensorflow(multilabel, tmp_path):
    """Loading and predicting (Python, predict.sh, the HTTP app) never imports TensorFlow or
    Keras: an ONNX server starts without them."""
    _, export_dir, _ = multilabel
    out = tmp_path / "out.tsv"
    probe = f"""
import sys
from serving import load_predictor
predictor = load_predictor({str(export_dir)!r})
predictor.predict(["中超第6轮，浙江队5比0逆转武汉三镇"] * 3)
from scripts.predict import main
assert main(["--export_dir={export_dir}", "--text=股市大涨", "--output_file={out}"]) == 0
from serving.app import create_app
from serving.batcher import MicroBatcher
from serving.loader import load_version
from serving.model_holder import ModelHolder
from serving.validation import Limits
holder = ModelHolder({str(export_dir)!r}, load_version, 0)
batcher = MicroBatcher(holder, 4, 1)
batcher.start()
reply = create_app(holder, batcher, Limits(), "x").test_client().post(
    "/predict", json={{"texts": ["股市大涨"]}})
assert reply.status_code == 200
batcher.stop()
print(sorted(m for m in ("tensorflow", "keras", "tensorflow_text") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert out.read_text(encoding="utf-8").count("\n") == 2  # header + one row


# === Folders: mixed formats, hot reload, broken exports ===
@pytest.mark.slow
def test_a_mixed_export_dir_serves_its_latest_version_and_reloads_across_formats(tmp_path):
    from serving.model_holder import ModelHolder
    from serving.predictor import Predictor

    run = write_run(tmp_path / "run", seed=10)
    export_dir = tmp_path / "export"
    export_trained_model(run, export_dir)  # 1: SavedModel
    holder = ModelHolder(export_dir, lambda found: load_version(found, batch_size=8), 0)
    assert isinstance(holder.current.predictor, Predictor) and holder.current.version == 1
    first = holder.current.predictor.run(TEXTS)

    export_trained_model(run, export_dir, export_format="onnx")  # 2: ONNX
    assert isinstance(load_predictor(export_dir), OnnxPredictor)
    assert isinstance(load_predictor(export_dir, version=1), Predictor)
    assert holder.refresh() and holder.current.version == 2
    assert isinstance(holder.current.predictor, OnnxPredictor)
    second = holder.current.predictor.run(TEXTS)
    assert np.abs(second["probabilities"] - first["probabilities"]).max() < TOLERANCE

    export_trained_model(run, export_dir)  # 3: a SavedModel again
    assert holder.refresh() and isinstance(holder.current.predictor, Predictor)
    assert holder.current.version == 3


def copy_version(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def test_a_broken_onnx_export_is_one_clear_error_naming_it(multilabel, tmp_path, caplog):
    from scripts.predict import main as predict_main
    from scripts.serve import main as serve_main
    from serving.versions import NoModelError

    _, export_dir, _ = multilabel
    corrupt = copy_version(export_dir / "1", tmp_path / "corrupt" / "1")
    (corrupt / "model.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(OnnxExportError, match=r"corrupt/1/model.onnx: ONNX Runtime cannot load"):
        load_predictor(corrupt.parent)
    for argv, main in (
        ([f"--export_dir={corrupt.parent}", "--text=好"], predict_main),
        ([f"--export_dir={corrupt.parent}", "--port=0"], serve_main),
    ):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert main(argv) == 2
        assert "model.onnx: ONNX Runtime cannot load it" in caplog.text
        assert "Traceback" not in caplog.text

    no_vocab = copy_version(export_dir / "1", tmp_path / "no_vocab" / "1")
    (no_vocab / "vocab.txt").unlink()
    with pytest.raises(OnnxExportError, match=r"no_vocab/1 is not a complete ONNX export: vocab"):
        load_predictor(no_vocab)

    other = copy_version(export_dir / "1", tmp_path / "other" / "1")
    meta = json.loads((other / "metadata.json").read_text(encoding="utf-8"))
    (other / "metadata.json").write_text(json.dumps({**meta, "format": "x"}), encoding="utf-8")
    with pytest.raises(OnnxExportError, match="format 'x', expected 'zh-textclf-onnx'"):
        load_predictor(other)

    no_model = copy_version(export_dir / "1", tmp_path / "no_model" / "1")
    (no_model / "model.onnx").unlink()
    with pytest.raises(NoModelError, match="no_model holds no SavedModel version nor ONNX"):
        load_predictor(no_model.parent)
    with pytest.raises(OnnxExportError, match="model.onnx is missing"):
        OnnxPredictor(no_model)


def test_a_missing_onnxruntime_names_the_extra_to_install(multilabel, monkeypatch, caplog):
    from scripts.predict import main

    _, export_dir, _ = multilabel
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    with pytest.raises(RuntimeMissing, match=r"pip install 'zh-textclf\[onnx\]'"):
        load_predictor(export_dir)
    with caplog.at_level(logging.ERROR):
        assert main([f"--export_dir={export_dir}", "--text=好"]) == 2
    assert "pip install 'zh-textclf[onnx]'" in caplog.text and "Traceback" not in caplog.text


def test_batches_are_padded_to_their_own_longest_row(multilabel):
    """Rows sorted by length, batch_size at a time: results do not depend on the batching."""
    _, export_dir, onnx = multilabel
    small = load_predictor(export_dir, batch_size=3)
    shapes = []
    session = small._session

    class Spy:
        def run(self, names, feeds):
            shapes.append(feeds["input_ids"].shape)
            return session.run(names, feeds)

    small._session = Spy()
    got = small.run(TEXTS)
    assert max(rows for rows, _ in shapes) == 3
    assert min(width for _, width in shapes) < max(width for _, width in shapes)
    assert np.abs(got["probabilities"] - onnx.run(TEXTS)["probabilities"]).max() < 1e-5


def test_serve_sh_serves_an_onnx_export(multilabel, tmp_path):
    from tests.support.serving import ServerProcess, http_call

    _, export_dir, onnx = multilabel
    server = ServerProcess(export_dir, tmp_path / "serve.log", "--poll_seconds", "0")
    try:
        reply = http_call(server, "POST", "/predict", {"texts": [TEXTS[0]]})
        assert reply.status == 200
        (got,) = reply.json()["predictions"]
        assert got["label"] == onnx.predict_one(TEXTS[0]).label
    finally:
        assert server.stop() == 0, (tmp_path / "serve.log").read_text()[-3000:]
