"""export.sh --format=onnx (issue 25, item 1): model.onnx, built from the trained weights with
onnxruntime's transformer fusions applied, gives the Keras model's logits for the same token
ids; the version folder holds the vocabulary, labels, decision settings and model card."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from classifier.adapters import make_adapter_config
from classifier.checkpoints.tiny import randomize_weights, tiny_albert_config, tiny_bert_config
from classifier.classifier_spec import ClassifierSpec
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
from classifier.trained_model import build_classifier, load_trained_model, save_trained_model
from export import export_metadata, export_trained_model
from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS
from tests.support.serving import write_serving_output_dir

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

LABELS = ("体育", "财经", "科技", "娱乐")
TOLERANCE = 1e-4


def write_run(root: Path, config, *, adapter=None, head_kind="multiclass", is_pair=False):
    """A training output folder holding a random tiny classifier of ``config`` (and adapter)."""
    root.mkdir(parents=True)
    vocab = build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES + SERVING_TEXTS)
    write_vocab(root / "source_vocab.txt", vocab)
    spec = ClassifierSpec(
        model=config(len(vocab)),
        labels=LABELS,
        head_kind=head_kind,
        is_pair=is_pair,
        max_seq_length=48,
        adapter=None
        if adapter is None
        else make_adapter_config(adapter[0], **adapter[1]).to_dict(),
    )
    model = build_classifier(spec)
    randomize_weights(model, seed=7, scale=0.3)  # adapters far from identity, LN not 1/0
    save_trained_model(root, model, spec, root / "source_vocab.txt")
    return root


def bert(hidden_act="gelu_tanh"):
    def config(vocab_size):
        from dataclasses import replace

        return replace(tiny_bert_config(vocab_size, 2, 32), hidden_act=hidden_act)

    return config


def albert(**options):
    return lambda vocab_size: tiny_albert_config(vocab_size, **options)


def padded(token_ids, segment_ids, left=False):
    """One batch padded to its longest row (at the end, or at the start with ``left``)."""
    length = max(len(t) for t in token_ids)
    shape = (len(token_ids), length)
    ids, segments, mask = (np.zeros(shape, np.int32) for _ in range(3))
    for row, (t, s) in enumerate(zip(token_ids, segment_ids, strict=True)):
        where = slice(length - len(t), length) if left else slice(0, len(t))
        ids[row, where], segments[row, where], mask[row, where] = t, s, 1
    return ids, segments, mask


def compare(run: Path, version: Path, pair: bool = False, left: bool = False) -> float:
    """Largest |ONNX - Keras| logit over a batch of texts of different lengths; the Keras
    model is the trained one as it was (adapters unmerged)."""
    model, spec = load_trained_model(run)
    encoder = spec.text_encoder(run / "vocab.txt")
    texts_b = list(reversed(SERVING_TEXTS)) if pair else None
    ids, segments, mask = padded(*encoder.encode_many(SERVING_TEXTS, texts_b), left=left)
    assert len(set(mask.sum(axis=1))) > 2  # lengths differ: padding is exercised
    expected = np.asarray(model({"token_ids": ids, "segment_ids": segments, "padding_mask": mask}))
    session = ort.InferenceSession(str(version / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": segments}
    (logits,) = session.run(["logits"], feeds)
    assert logits.shape == (len(SERVING_TEXTS), len(spec.labels))
    return float(np.abs(logits - expected).max())


def fused(result) -> dict[str, int]:
    return result.metadata["onnx"]["fused_operators"]


def export(run: Path, tmp_path: Path, **options):
    return export_trained_model(run, tmp_path / "export", export_format="onnx", **options)


def test_bert_multiclass_matches_keras_with_every_fusion(tmp_path):
    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS, seed=3,
        temperatures=(1.5,),
    )  # fmt: skip
    result = export(run, tmp_path)
    assert compare(run, result.path) < TOLERANCE
    assert compare(run, result.path, left=True) < TOLERANCE  # a raw mask: padding anywhere
    assert fused(result) == {
        "EmbedLayerNormalization": 1,
        "Attention": 2,
        "SkipLayerNormalization": 4,
        "FastGelu": 2,  # gelu_tanh (google-research/bert's "gelu"), its bias folded in
    }
    graph = onnx.load(result.path / "model.onnx").graph
    assert not {n.op_type for n in graph.node} & {"Softmax", "LayerNormalization", "Erf", "Pow"}


def test_bert_multilabel_pair_matches_keras_and_keeps_its_decision_settings(tmp_path):
    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multilabel", is_pair=True, labels=LABELS, seed=4,
        thresholds=(0.3, 0.4, 0.5, 0.6), temperatures=(1.0, 1.2, 0.8, 2.0),
        label_bounds={"min_labels": 1, "max_labels": None}, max_seq_length=96,
    )  # fmt: skip
    result = export(run, tmp_path, abstain_threshold=0.2, abstain_label="其他", max_labels=2)
    assert compare(run, result.path, pair=True) < TOLERANCE
    assert fused(result)["Attention"] == 2
    meta = json.loads((result.path / "metadata.json").read_text(encoding="utf-8"))
    _, spec = load_trained_model(run)
    reference = export_metadata(spec, run, abstain_threshold=0.2, abstain_label="其他")
    assert set(reference) <= set(meta)
    assert meta["format"] == "zh-textclf-onnx"
    assert meta["thresholds"] == [0.3, 0.4, 0.5, 0.6]
    assert meta["temperatures"] == [1.0, 1.2, 0.8, 2.0]
    assert meta["label_bounds"] == {"min_labels": 1, "max_labels": 2}
    assert (meta["abstain_threshold"], meta["abstain_label"]) == (0.2, "其他")
    assert meta["is_pair"] and meta["head_kind"] == "multilabel"
    assert list(meta["onnx"]["inputs"]) == ["input_ids", "attention_mask", "token_type_ids"]
    assert (result.path / "labels.txt").read_text(encoding="utf-8").split() == list(LABELS)
    assert (result.path / "vocab.txt").read_bytes() == (run / "vocab.txt").read_bytes()
    card = (result.path / "README.md").read_text(encoding="utf-8")
    assert "ONNX" in card and "sigmoid(logits / T)" in card and "SavedModel that takes" not in card


@pytest.mark.parametrize(
    ("name", "config", "adapter", "layers"),
    [
        ("bert gelu_exact", bert("gelu_exact"), None, 2),
        ("albert", albert(num_layers=3, hidden_size=32, embedding_size=16), None, 3),
        ("albert groups", albert(num_layers=4, hidden_size=32, embedding_size=16,
                                 num_hidden_groups=2, inner_group_num=2), None, 8),
        ("lora", bert(), ("lora", {"rank": 4}), 2),
        ("houlsby", bert(), ("houlsby", {"size": 8}), 2),
        ("pfeiffer", bert(), ("pfeiffer", {"size": 8}), 2),
        ("adapter_drop", bert(), ("adapter_drop", {"size": 8, "drop_layers": 1}), 2),
        ("compacter", bert(), ("compacter", {"size": 8}), 2),
        ("albert houlsby", albert(num_layers=2, hidden_size=32, embedding_size=16),
         ("houlsby", {"size": 8}), 2),
        ("albert lora", albert(num_layers=2, hidden_size=32, embedding_size=16),
         ("lora", {"rank": 4}), 2),
    ],
)  # fmt: skip
def test_backbones_and_adapters_match_keras_fused(tmp_path, name, config, adapter, layers):
    kind, options = adapter or (None, None)
    run = write_run(tmp_path / "run", config, adapter=None if kind is None else (kind, options))
    result = export(run, tmp_path)
    assert compare(run, result.path) < TOLERANCE, name
    counts = fused(result)
    assert counts["Attention"] == layers, counts  # every block call, adapters or not
    assert counts["SkipLayerNormalization"] == 2 * layers, counts
    assert counts["EmbedLayerNormalization"] == 1, counts
    gelu = "Gelu" if name == "bert gelu_exact" else "FastGelu"
    assert counts.get(gelu, 0) + counts.get("BiasGelu", 0) >= layers, counts


def test_a_distilled_student_exports(tmp_path):
    """distill.sh's student: the teacher's top block alone, saved as a plain run."""
    from classifier.distillation.student import build_student, student_spec

    teacher_run = write_run(tmp_path / "teacher", bert())
    teacher, teacher_spec = load_trained_model(teacher_run)
    spec = student_spec(teacher_spec, [1], {"teacher": str(teacher_run)})
    student_run = tmp_path / "student"
    student = build_student(teacher, spec, [1])
    save_trained_model(student_run, student, spec, teacher_run / "vocab.txt")
    result = export(student_run, tmp_path)
    assert compare(student_run, result.path) < TOLERANCE
    assert fused(result)["Attention"] == 1 and result.metadata["num_layers"] == 1


def test_albert_shared_layers_are_stored_once(tmp_path):
    """The attention fusion packs Q/K/V per layer; identical packs are stored once, so a
    12-layer ALBERT stays the size of its one block."""
    config = albert(num_layers=6, hidden_size=32, embedding_size=16)
    shallow = albert(num_layers=1, hidden_size=32, embedding_size=16)
    deep = export(write_run(tmp_path / "deep", config), tmp_path / "a")
    one = export(write_run(tmp_path / "one", shallow), tmp_path / "b")
    assert fused(deep)["Attention"] == 6
    size = (deep.path / "model.onnx").stat().st_size
    assert size < 1.1 * (one.path / "model.onnx").stat().st_size


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
def test_brightmart_albert_matches_keras(tmp_path, ln_type):
    """brightmart's layout (projection before the position vectors) and pre-LayerNorm blocks
    are exact too; what fused is recorded, whatever it is."""

    def config(vocab_size):
        from dataclasses import replace

        base = tiny_albert_config(vocab_size, 2, 32, 16, ln_type=ln_type)
        return replace(base, embedding_layout="brightmart")

    run = write_run(tmp_path / "run", config)
    result = export(run, tmp_path)
    assert compare(run, result.path) < TOLERANCE
    assert isinstance(fused(result), dict)


def test_a_hierarchical_export_carries_its_label_tree(tmp_path):
    nodes = ("体育", "体育##篮球", "体育##足球", "财经", "财经##股市")
    run = write_serving_output_dir(
        tmp_path / "run", head_kind="hierarchical", is_pair=False, labels=nodes, seed=5
    )
    result = export(run, tmp_path)
    assert compare(run, result.path) < TOLERANCE
    _, spec = load_trained_model(run)
    meta = json.loads((result.path / "metadata.json").read_text(encoding="utf-8"))
    for key, value in spec.head.export_metadata().items():
        assert meta[key] == json.loads(json.dumps(value)), key


def test_versions_are_numbered_and_written_atomically(tmp_path):
    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS
    )
    first = export(run, tmp_path)
    second = export(run, tmp_path)
    assert (first.version, second.version) == (1, 2)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["1", "2"]
    assert sorted(p.name for p in second.path.iterdir()) == [
        "README.md", "labels.txt", "metadata.json", "model.onnx", "vocab.txt",
    ]  # fmt: skip
    with pytest.raises(FileExistsError):
        export(run, tmp_path, version=2)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--freeze_weights"], "--freeze_weights"),
        (["--dtype=bfloat16"], "--dtype=bfloat16"),
        (["--dtype=bfloat16", "--quantize=int8"], "--dtype=bfloat16"),
    ],
)
def test_savedmodel_only_flags_are_refused_with_onnx_by_name(tmp_path, caplog, flags, named):
    from scripts.export import main

    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS
    )
    argv = [f"--output_dir={run}", f"--export_dir={tmp_path / 'export'}", "--format=onnx"]
    with caplog.at_level(logging.ERROR):
        assert main([*argv, *flags]) == 2
    assert named in caplog.text and "--format=saved_model" in caplog.text
    assert not (tmp_path / "export").exists()


def test_cli_exports_onnx_and_says_what_fused(tmp_path, capsys):
    from scripts.export import main

    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS
    )
    argv = [f"--output_dir={run}", f"--export_dir={tmp_path / 'export'}", "--format", "onnx"]
    assert main([*argv, "--long_text=head_tail", "--head_tokens=10"]) == 0
    printed = capsys.readouterr().out
    assert "model.onnx: input_ids, attention_mask, token_type_ids" in printed
    assert "fused: EmbedLayerNormalization 1, Attention 2" in printed
    meta = json.loads((tmp_path / "export" / "1" / "metadata.json").read_text(encoding="utf-8"))
    assert (meta["long_text"], meta["head_tokens"]) == ("head_tail", 10)


def onnx_logits(version: Path, run: Path) -> np.ndarray:
    """model.onnx's logits for SERVING_TEXTS, padded at the end."""
    _, spec = load_trained_model(run)
    ids, segments, mask = padded(*spec.text_encoder(run / "vocab.txt").encode_many(SERVING_TEXTS))
    session = ort.InferenceSession(str(version / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": segments}
    return session.run(["logits"], feeds)[0]


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_int8_quantizes_every_dense_layer_and_stays_close_to_float32(tmp_path):
    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS, seed=3
    )
    float32 = export(run, tmp_path)
    int8 = export(run, tmp_path, quantize="int8")
    assert (int8.metadata["quantize"], float32.metadata["quantize"]) == ("int8", None)
    quantization = int8.metadata["onnx"]["quantization"]
    assert quantization["weights"] == "int8, per output channel"
    # 2 layers: Q/K/V packed in each fused Attention; attention output, FFN in and out per
    # layer, pooler and head as MatMuls (onnxruntime fuses each with its DynamicQuantizeLinear)
    assert quantization["quantized_operators"] == {"QAttention": 2, "MatMulInteger": 8}
    ops = {n.op_type for n in onnx.load(int8.path / "model.onnx").graph.node}
    assert not ops & {"MatMul", "Attention"}  # no float32 dense layer left
    expected, logits = onnx_logits(float32.path, run), onnx_logits(int8.path, run)
    # within 3% of the logits' spread (random weights at 0.3 amplify rounding), probabilities
    # within 0.05, and (almost) the same decisions
    assert np.abs(logits - expected).max() < 0.03 * np.ptp(expected)
    assert np.abs(softmax(logits) - softmax(expected)).max() < 0.05
    assert np.mean(logits.argmax(1) == expected.argmax(1)) >= 0.75
    saved = json.loads((int8.path / "metadata.json").read_text(encoding="utf-8"))
    assert saved["onnx"]["quantization"] == quantization


def test_cli_exports_int8_and_says_what_it_quantized(tmp_path, capsys):
    from scripts.export import main

    run = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=LABELS
    )
    argv = [f"--output_dir={run}", f"--export_dir={tmp_path / 'export'}", "--format=onnx"]
    assert main([*argv, "--quantize=int8"]) == 0
    printed = capsys.readouterr().out
    assert "int8 (dynamic; weights int8, per output channel): QAttention 2" in printed


def test_the_graph_and_fusion_modules_need_no_tensorflow():
    import subprocess
    import sys

    probe = (
        "import sys, export.onnx.encoder_graph, export.onnx.fusion; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_an_adapter_kind_that_cannot_export_is_named(tmp_path):
    run = write_run(
        tmp_path / "run", bert(), adapter=("k_adapter", {"size": 16, "num_transformer_layers": 1})
    )
    with pytest.raises(ValueError, match="not k_adapter"):
        export(run, tmp_path)
    assert not any((tmp_path / "export").glob("*"))
