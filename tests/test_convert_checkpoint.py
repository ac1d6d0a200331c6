"""scripts/convert_checkpoint.py: TF1 <-> Hugging Face safetensors, exact both ways."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from classifier.checkpoints import TF1Checkpoint, load_pretrained
from classifier.checkpoints.safetensors_checkpoint import SafetensorsCheckpoint
from classifier.config import ConfigError
from scripts.convert_checkpoint import main as convert_main

ROOT = Path(__file__).resolve().parent.parent


def backbone_names(names):
    """The backbone's tensors: no heads, optimizer slots or step counter."""
    return sorted(
        n for n in names if n.startswith("bert/") and not n.endswith(("/adam_m", "/adam_v"))
    )


def assert_byte_equal(a, b, names):
    for name in names:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name


@pytest.mark.parametrize(
    "variant, prefix",
    [
        ("google_bert_tf1", "bert_model.ckpt"),
        ("google_albert_tf1_grouped", "model.ckpt-best"),
        ("google_albert_tf1_sparse_groups", "model.ckpt-best"),
    ],
)
def test_tf1_to_hf_to_tf1_is_byte_exact(zoo_dirs, tmp_path, variant, prefix):
    hf, back = tmp_path / "hf", tmp_path / "tf1"
    assert convert_main(["--input_dir", str(zoo_dirs[variant]), "--output_dir", str(hf)]) == 0
    assert sorted(p.name for p in hf.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    assert convert_main(["--input_dir", str(hf), "--output_dir", str(back)]) == 0
    original = TF1Checkpoint(zoo_dirs[variant] / prefix)
    config_name = "bert_config.json" if "bert_model" in prefix else "albert_config.json"
    ckpt_name = "bert_model.ckpt" if "bert_model" in prefix else "albert_model.ckpt"
    converted = TF1Checkpoint(back / ckpt_name)
    names = backbone_names(original)
    assert names == backbone_names(converted)
    assert_byte_equal(original, converted, names)
    # The activation's meaning survives: Google "gelu" -> HF "gelu_new" -> Google "gelu".
    assert json.loads((hf / "config.json").read_text())["hidden_act"] == "gelu_new"
    restored = json.loads((back / config_name).read_text())
    source = json.loads((zoo_dirs[variant] / config_name).read_text())
    for key in ("hidden_act", "hidden_size", "num_hidden_layers", "vocab_size"):
        assert restored[key] == source[key], key
    assert (back / "vocab.txt").read_bytes() == (
        zoo_dirs[variant] / ("vocab_chinese.txt" if "albert" in variant else "vocab.txt")
    ).read_bytes()


@pytest.mark.parametrize("variant", ["hf_bert", "hf_albert_prefixed"])
def test_hf_to_tf1_to_hf_is_byte_exact(zoo_dirs, tmp_path, variant):
    tf1, back = tmp_path / "tf1", tmp_path / "hf"
    assert convert_main(["--input_dir", str(zoo_dirs[variant]), "--output_dir", str(tf1)]) == 0
    assert convert_main(["--input_dir", str(tf1), "--output_dir", str(back), "--to", "hf"]) == 0
    source = load_pretrained(zoo_dirs[variant])
    original = SafetensorsCheckpoint(zoo_dirs[variant] / "model.safetensors")
    converted = SafetensorsCheckpoint(back / "model.safetensors")
    prefix = "albert." if variant.endswith("prefixed") else ""
    names = sorted(source.report.loaded)
    assert names == sorted(converted)
    for name in names:
        x, y = original[prefix + name], converted[name]
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name


def test_brightmart_is_refused_with_the_reason(zoo_dirs, tmp_path):
    from classifier.checkpoints.convert import convert_checkpoint

    with pytest.raises(ConfigError, match="no google-research or transformers AlbertModel"):
        convert_checkpoint(zoo_dirs["brightmart_albert_tf1"], tmp_path / "out")


@pytest.mark.slow
def test_script_runs_from_the_shell(zoo_dirs, tmp_path):
    out = tmp_path / "out"
    cmd = [str(ROOT / "scripts" / "convert_checkpoint.sh")]
    cmd += ["--input_dir", str(zoo_dirs["google_bert_tf1"]), "--output_dir", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hf_bert" in done.stdout
    assert (out / "model.safetensors").is_file()


def test_non_empty_output_needs_overwrite(zoo_dirs, tmp_path, caplog):
    (tmp_path / "keep.txt").write_text("x")
    args = ["--input_dir", str(zoo_dirs["google_bert_tf1"]), "--output_dir", str(tmp_path)]
    assert convert_main(args) == 2
    assert "--overwrite" in caplog.text
    assert convert_main([*args, "--overwrite"]) == 0
