"""scripts/make_tiny_checkpoint.py writes every family and format as the releases do."""

from __future__ import annotations

import pytest

from classifier.checkpoints import load_pretrained
from scripts.make_tiny_checkpoint import main

CASES = [
    (["--family", "bert", "--format", "tf1"], "google_bert_tf1", "bert_config.json"),
    (["--family", "albert", "--format", "tf1"], "google_albert_tf1", "albert_config.json"),
    (
        ["--family", "albert_brightmart", "--format", "tf1", "--ln_type", "preln"],
        "brightmart_albert_tf1",
        "albert_config_tiny.json",
    ),
    (["--family", "bert", "--format", "hf", "--hf_task_model"], "hf_bert", "config.json"),
    (["--family", "albert", "--format", "hf"], "hf_albert", "config.json"),
    (["--preset", "hfl_chinese_macbert_base"], "google_bert_tf1", "macbert_base_config.json"),
]


@pytest.mark.parametrize("flags, scheme, config_name", CASES, ids=[c[1] for c in CASES])
def test_each_family_and_format(tmp_path, capsys, flags, scheme, config_name):
    out = tmp_path / "m"
    assert main(["--output_dir", str(out), "--num_layers", "1", "--hidden_size", "32", *flags]) == 0
    assert scheme in capsys.readouterr().out
    assert (out / config_name).is_file()
    pretrained = load_pretrained(out)
    assert pretrained.scheme.name == scheme
    if "preln" in flags:
        assert pretrained.config.ln_type == "preln"


def test_brightmart_has_no_hf_format(tmp_path):
    args = ["--output_dir", str(tmp_path / "m"), "--family", "albert_brightmart", "--format", "hf"]
    assert main(args) == 2
