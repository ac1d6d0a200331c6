"""Shared fixtures: tiny checkpoints in the real release formats, written once per session,
and exported serving models. Helpers live in tests/support/."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402

from tests.support.samples import DEMO_DATA_DIRS, tiny_vocab, zoo_vocab  # noqa: E402
from tests.support.serving import ServerProcess, write_serving_output_dir  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def example_cache(tmp_path_factory):
    """Encoded training examples go to a session folder (subprocesses inherit it), not ~/.cache."""
    os.environ["ZH_TEXTCLF_CACHE"] = str(tmp_path_factory.mktemp("example_cache"))


@pytest.fixture(scope="session")
def google_bert_dir(tmp_path_factory):
    """A Google-format BERT folder with random weights everywhere (biases and LayerNorm too)."""
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder

    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=64)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("google_bert"), vocab, config, seed=7, randomize=True
    )


@pytest.fixture(scope="session")
def zoo_dirs(tmp_path_factory):
    """name -> folder, one per scheme variant, in the exact file layout of a real release."""
    import dataclasses

    from classifier.checkpoints.tiny import tiny_albert_config, tiny_bert_config, write_tiny_folder
    from classifier.checkpoints.writer import FolderLayout
    from classifier.config import GELU_EXACT

    vocab = zoo_vocab()
    size = len(vocab)
    bert = tiny_bert_config(size, num_layers=2, hidden_size=64)
    hf_bert = dataclasses.replace(bert, hidden_act=GELU_EXACT)  # HF "gelu" is the erf form
    albert = tiny_albert_config(size, num_layers=3, hidden_size=64, embedding_size=32)
    brightmart_layout = FolderLayout("albert_config_tiny.json", "albert_model.ckpt")
    variants = {
        "google_bert_tf1": (bert, "google_bert_tf1", {"optimizer_slots": True}),
        "google_albert_tf1": (albert, "google_albert_tf1", {}),
        "google_albert_tf1_grouped": (
            tiny_albert_config(size, 4, 32, 16, num_hidden_groups=2, inner_group_num=2),
            "google_albert_tf1",
            {"optimizer_slots": True},
        ),
        "google_albert_tf1_sparse_groups": (
            tiny_albert_config(size, 2, 32, 16, num_hidden_groups=4),
            "google_albert_tf1",
            {},
        ),
        "brightmart_albert_tf1": (albert, "brightmart_albert_tf1", {"layout": brightmart_layout}),
        "brightmart_albert_tf1_preln": (
            dataclasses.replace(albert, ln_type="preln"),
            "brightmart_albert_tf1",
            {"layout": brightmart_layout},
        ),
        "hf_bert": (hf_bert, "hf_bert", {}),
        "hf_bert_prefixed_legacy": (
            hf_bert,
            "hf_bert",
            {"hf_prefix": "bert.", "legacy_layer_norm": True},
        ),
        "hf_bert_sharded": (hf_bert, "hf_bert", {"num_shards": 3}),
        "hf_albert": (albert, "hf_albert", {}),
        "hf_albert_prefixed": (albert, "hf_albert", {"hf_prefix": "albert."}),
    }
    root = tmp_path_factory.mktemp("zoo")
    return {
        name: write_tiny_folder(root / name, vocab, config, scheme, seed=seed, **kwargs)
        for seed, (name, (config, scheme, kwargs)) in enumerate(variants.items())
    }


@pytest.fixture(scope="session")
def serving_models(tmp_path_factory):
    """name -> SimpleNamespace(output_dir, export_dir, version_dir, export_stdout).

    "multiclass": single texts, 4 labels, exported by scripts/export.sh (its stdout kept);
    "multilabel_pair": text pairs, 3 labels with tuned-style thresholds, exported in-process.
    """
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    from export import export_trained_model

    root = tmp_path_factory.mktemp("serving_models")
    repo = Path(__file__).resolve().parent.parent
    models = {}

    out = write_serving_output_dir(
        root / "multiclass_output",
        head_kind="multiclass",
        is_pair=False,
        labels=("体育", "财经", "科技", "娱乐"),
        seed=1,
    )
    export_dir = root / "multiclass_export"
    # scripts/export.sh runs in its own process while the second model exports here.
    cli_log = open(root / "export_sh.log", "w+", encoding="utf-8")  # noqa: SIM115
    cli = subprocess.Popen(
        [
            str(repo / "scripts/export.sh"),
            "--output_dir",
            str(out),
            "--export_dir",
            str(export_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=cli_log,
        text=True,
    )
    models["multiclass"] = SimpleNamespace(
        output_dir=out, export_dir=export_dir, version_dir=export_dir / "1", export_stdout=None
    )

    out = write_serving_output_dir(
        root / "multilabel_pair_output",
        head_kind="multilabel",
        is_pair=True,
        labels=("物流", "质量", "服务"),
        thresholds=(0.25, 0.4, 0.45),
        max_seq_length=24,
        seed=2,
    )
    export_dir = root / "multilabel_pair_export"
    result = export_trained_model(out, export_dir)
    models["multilabel_pair"] = SimpleNamespace(
        output_dir=out, export_dir=export_dir, version_dir=result.path, export_stdout=None
    )
    stdout, _ = cli.communicate(timeout=300)
    cli_log.close()
    assert cli.returncode == 0, (root / "export_sh.log").read_text()[-3000:]
    models["multiclass"].export_stdout = stdout
    return models


@pytest.fixture(scope="session")
def http_server(serving_models, tmp_path_factory):
    """One server over the multiclass export for the HTTP and browser tests."""
    log = tmp_path_factory.mktemp("http_server") / "serve.log"
    server = ServerProcess(serving_models["multiclass"].export_dir, log, "--poll_seconds", "0")
    yield server
    code = server.stop()
    assert code == 0, log.read_text()[-3000:]


@pytest.fixture(scope="session")
def demo_bert_dir(tmp_path_factory):
    """Google-format BERT (2 layers, hidden 32), random everywhere, for training on demo data."""
    from pathlib import Path

    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    root = Path(__file__).resolve().parent.parent
    texts = [
        (root / folder / f"{split}.tsv").read_text(encoding="utf-8")
        for folder in DEMO_DATA_DIRS
        for split in ("train", "dev", "test")
    ]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("demo_bert"), vocab, config, seed=11, randomize=True
    )


@pytest.fixture
def fake_cpu(tmp_path, monkeypatch):
    """fake_cpu("amx_bf16", ...): the CPU flags classifier.cpu_features reads in this test
    (the rules of --dtype=auto), the real ones again afterwards."""
    from classifier import cpu_features

    info = tmp_path / "fake_cpuinfo"
    monkeypatch.setattr(cpu_features, "CPUINFO", info)

    def set_flags(*flags: str) -> None:
        info.write_text(f"flags\t: fpu avx2 {' '.join(flags)}\n", encoding="utf-8")
        cpu_features.cpu_flags.cache_clear()

    yield set_flags
    cpu_features.cpu_flags.cache_clear()
