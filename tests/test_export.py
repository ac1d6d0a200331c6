"""Export: a SavedModel that takes raw text, reloaded in a fresh process (tensorflow and
tensorflow_text only) and compared with the in-memory Keras model on edge-case inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.support.serving import in_memory_probabilities

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

LONG = "央行宣布降准0.5个百分点，A股三大指数集体高开。" * 400  # ~9,600 characters
# name -> text; each has a defined behaviour (docs/serving.md, "Edge inputs").
SINGLE_TEXTS = {
    "chinese": "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",
    "empty": "",  # no tokens: [CLS] [SEP]
    "whitespace": " \t\u3000\n  ",  # no tokens either: the same prediction as ""
    "very_long": LONG,  # truncated to max_seq_length - 2 tokens, the head kept
    "mixed_script": "Hello世界 naïve Ωmega ΣΑΣ 123 ＡＢＣ１２３ 안녕 こんにちは",
    "emoji": "好开心😀👍🏻🎉 surprise🎁",  # emoji have no vocab entry: [UNK]
    "controls": "a\x00b\u200bc\ufeff d\r\n",  # NUL, zero-width and BOM dropped
    "invalid_utf8": b"\xff\xfe\xe4\xb8\xad abc \xed\xa0\x80",  # undecodable bytes dropped
}
PAIRS = {
    "pair": ("物流很快，隔天就到", "售后态度很差"),
    "empty_b": ("物流很快，隔天就到", ""),  # packed as a single sequence
    "empty_a": ("", "售后态度很差"),
    "both_empty": ("", ""),
    "long_pair": (LONG, LONG[::-1]),  # longest-first truncation, as _truncate_seq_pair
    "long_a_short_b": (LONG, "很好"),
    "emoji_mixed": ("好开心😀 naïve", "Ωmega ＡＢＣ １２３"),
}

RELOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the only import a SavedModel user needs)

    jobs = json.load(open(sys.argv[1]))
    results = {}

    def plain(outputs):
        return {
            k: (np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(v.numpy())
                if v.dtype == tf.string else v.numpy()).tolist()
            for k, v in outputs.items()
        }

    for name, job in jobs.items():
        model = tf.saved_model.load(job["path"])
        inputs = {k: tf.constant([bytes.fromhex(t) for t in v]) for k, v in job["inputs"].items()}
        served = model.signatures["serving_default"](**inputs)
        ids = model.signatures["tokenize"](**inputs)
        by_ids = model.signatures["predict_ids"](**ids)
        width = job["max_seq_length"]
        padded = {k: tf.pad(v, [[0, 0], [0, width - tf.shape(v)[1]]]) for k, v in ids.items()}
        by_padded_ids = model.signatures["predict_ids"](**padded)
        metadata = model.signatures["metadata"]()
        results[name] = {
            "serving_default": plain(served),
            "tokenize": plain(ids),
            "predict_ids": plain(by_ids),
            "predict_ids_padded": plain(by_padded_ids),
            "metadata_json": metadata["metadata_json"].numpy().decode("utf-8"),
            "labels": plain({"l": metadata["labels"]})["l"],
            "thresholds": metadata["thresholds"].numpy().tolist(),
            "max_seq_length": int(metadata["max_seq_length"].numpy()),
        }
    results["imported"] = sorted(
        m for m in sys.modules if m.split(".")[0] in ("classifier", "export", "serving", "processors")
    )
    json.dump(results, open(sys.argv[2], "w"))
    """
)


def _utf8(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


@pytest.fixture(scope="module")
def reloaded(serving_models, tmp_path_factory):
    """Every signature's outputs from a fresh ``python -I`` process that imports nothing but
    tensorflow and tensorflow_text (run once for both models)."""
    tmp = tmp_path_factory.mktemp("reload")
    single = list(SINGLE_TEXTS.values())
    pairs = list(PAIRS.values())
    jobs = {
        "multiclass": {
            "path": str(serving_models["multiclass"].version_dir),
            "inputs": {"text": [_utf8(t).hex() for t in single]},
            "max_seq_length": 32,
        },
        "multilabel_pair": {
            "path": str(serving_models["multilabel_pair"].version_dir),
            "inputs": {
                "text": [_utf8(a).hex() for a, _ in pairs],
                "text_b": [_utf8(b).hex() for _, b in pairs],
            },
            "max_seq_length": 24,
        },
    }
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    (tmp / "reload.py").write_text(RELOAD_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            str(tmp / "reload.py"),
            str(tmp / "jobs.json"),
            str(tmp / "out.json"),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((tmp / "out.json").read_text())


def test_export_sh_prints_version_and_signatures(serving_models):
    out = serving_models["multiclass"].export_stdout
    assert "(version 1)" in out
    assert "serving_default(text string[None]) -> label string[None]" in out
    assert "predict_ids(input_ids int32[None, None], input_mask int32[None, None]" in out
    version_dir = serving_models["multiclass"].version_dir
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "assets" / "vocab.txt").read_bytes() == (
        serving_models["multiclass"].output_dir / "vocab.txt"
    ).read_bytes()
    assert (version_dir / "assets" / "labels.txt").read_text(encoding="utf-8").split() == [
        "体育",
        "财经",
        "科技",
        "娱乐",
    ]


def test_reloaded_process_imports_no_project_code(reloaded):
    assert reloaded["imported"] == []


def test_single_text_outputs_equal_in_memory_model(serving_models, reloaded):
    output_dir = serving_models["multiclass"].output_dir
    texts = list(SINGLE_TEXTS.values())
    expected, token_ids, _ = in_memory_probabilities(output_dir, texts)
    served = reloaded["multiclass"]["serving_default"]
    got = np.array(served["probabilities"])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    labels = ["体育", "财经", "科技", "娱乐"]
    assert served["label"] == [labels[i] for i in expected.argmax(-1)]
    np.testing.assert_allclose(served["score"], expected.max(-1), atol=1e-5)
    assert served["predicted"] == np.eye(4, dtype=int)[expected.argmax(-1)].tolist()
    for row, top in zip(served["labels"], expected.argmax(-1), strict=True):
        assert row == [name if i == top else "" for i, name in enumerate(labels)]
    # The graph tokenizer gives exactly the Python tokenizer's ids.
    ids = reloaded["multiclass"]["tokenize"]
    for row, expected_ids in enumerate(token_ids):
        n = len(expected_ids)
        assert ids["input_ids"][row][:n] == expected_ids.tolist()
        assert ids["input_mask"][row] == [1] * n + [0] * (len(ids["input_mask"][row]) - n)


def test_edge_inputs_behave_as_documented(serving_models, reloaded):
    names = list(SINGLE_TEXTS)
    ids = reloaded["multiclass"]["tokenize"]["input_ids"]
    probs = reloaded["multiclass"]["serving_default"]["probabilities"]
    lengths = [sum(1 for t in row if t) for row in ids]
    row = dict(zip(names, range(len(names)), strict=True))
    cls, sep, unk = 101, 102, 100  # as in Google's Chinese vocab.txt (and the tiny one)
    assert ids[row["empty"]][:3] == ids[row["whitespace"]][:3] == [cls, sep, 0]
    assert probs[row["empty"]] == probs[row["whitespace"]]
    assert lengths[row["very_long"]] == 32  # max_seq_length, no more
    assert max(len(r) for r in ids) == 32  # padded to the batch's longest, which is capped
    assert unk in ids[row["emoji"]]
    assert unk not in ids[row["chinese"]]


def test_pair_multilabel_outputs_equal_in_memory_model(serving_models, reloaded):
    output_dir = serving_models["multilabel_pair"].output_dir
    texts_a = [a for a, _ in PAIRS.values()]
    texts_b = [b for _, b in PAIRS.values()]
    expected, token_ids, segment_ids = in_memory_probabilities(output_dir, texts_a, texts_b)
    served = reloaded["multilabel_pair"]["serving_default"]
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-5, rtol=0)
    thresholds = np.array([0.25, 0.4, 0.45])
    assert reloaded["multilabel_pair"]["thresholds"] == pytest.approx(thresholds.tolist())
    assert served["predicted"] == (expected >= thresholds).astype(int).tolist()
    labels = ["物流", "质量", "服务"]
    for row, mask in zip(served["labels"], expected >= thresholds, strict=True):
        assert row == [name if chosen else "" for name, chosen in zip(labels, mask, strict=True)]
    ids = reloaded["multilabel_pair"]["tokenize"]
    for row, (expected_ids, expected_segments) in enumerate(
        zip(token_ids, segment_ids, strict=True)
    ):
        n = len(expected_ids)
        assert ids["input_ids"][row][:n] == expected_ids.tolist()
        assert ids["segment_ids"][row][:n] == expected_segments.tolist()
    names = list(PAIRS)
    single = names.index("empty_b")
    assert 1 not in ids["segment_ids"][single]  # empty text_b: packed as one sequence
    assert sum(ids["input_mask"][names.index("long_pair")]) == 24


@pytest.mark.parametrize("name", ["multiclass", "multilabel_pair"])
def test_predict_ids_equals_serving_default(reloaded, name):
    result = reloaded[name]
    served = result["serving_default"]
    for key in ("predict_ids", "predict_ids_padded"):
        by_ids = result[key]
        np.testing.assert_allclose(by_ids["probabilities"], served["probabilities"], atol=1e-5)
        assert by_ids["label"] == served["label"]
        assert by_ids["predicted"] == served["predicted"]


def test_metadata_travels_inside_the_saved_model(reloaded):
    meta = json.loads(reloaded["multilabel_pair"]["metadata_json"])
    assert meta["labels"] == ["物流", "质量", "服务"] == reloaded["multilabel_pair"]["labels"]
    assert meta["head_kind"] == "multilabel" and meta["is_pair"] is True
    assert meta["thresholds"] == pytest.approx([0.25, 0.4, 0.45])
    assert meta["max_seq_length"] == 24 == reloaded["multilabel_pair"]["max_seq_length"]
    assert meta["model_family"] == "bert"
    assert meta["inputs"] == ["text", "text_b"]
    # One-text shapes the Predictor builds kernels for at load: every bucket up to 24 tokens.
    assert meta["shape_buckets"] == [16, 32]


def test_saved_model_cli_lists_the_signatures(serving_models):
    cli = Path(sys.executable).parent / "saved_model_cli"
    run = subprocess.run(
        [str(cli), "show", "--dir", str(serving_models["multilabel_pair"].version_dir), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for needle in (
        "signature_def['serving_default']",
        "inputs['text']",
        "inputs['text_b']",
        "signature_def['predict_ids']",
        "inputs['input_ids']",
        "inputs['input_mask']",
        "inputs['segment_ids']",
        "signature_def['tokenize']",
        "signature_def['metadata']",
        "outputs['probabilities']",
        "outputs['label']",
        "outputs['score']",
        "outputs['labels']",
    ):
        assert needle in out, needle


def test_every_export_carries_a_model_card(serving_models):
    card = (serving_models["multiclass"].version_dir / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# multiclass_export")
    for expected in ("BERT, 2 layers, hidden 32", "`体育`", "## Limits", "cut to 32 tokens"):
        assert expected in card
    assert "scripts/serve.sh" in card and "Predictor" in card
    assert "zh-textclf-serve --export_dir" in card  # what a pip user has
    assert "from zh_textclf.serving import Predictor" in card  # the installed name
    assert "/tmp" not in card and str(Path.home()) not in card  # no path of the training machine
    pair = serving_models["multilabel_pair"].version_dir / "README.md"
    text = pair.read_text(encoding="utf-8")
    assert "text pairs" in text and "(threshold 0.250)" in text
