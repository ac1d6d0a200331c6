"""The presets table: accurate sizes, docs/model_zoo.md in sync, and every layout loadable."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from classifier.presets import CHINESE_VOCAB, PRESETS, get_preset, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_docs_are_generated_from_the_table():
    assert (ROOT / "docs" / "model_zoo.md").read_text(encoding="utf-8") == render_markdown(), (
        "run: python -m classifier.presets > docs/model_zoo.md"
    )


def test_the_issue_lists_every_known_checkpoint():
    names = {p.name for p in PRESETS}
    for name in (
        "google_bert_base_chinese",
        "hfl_chinese_bert_wwm",
        "hfl_chinese_bert_wwm_ext",
        "hfl_chinese_roberta_wwm_ext",
        "hfl_chinese_roberta_wwm_ext_large",
        "hfl_rbt3",
        "hfl_rbtl3",
        "hfl_chinese_macbert_base",
        "hfl_chinese_macbert_large",
        "google_albert_base_zh",
        "google_albert_large_zh",
        "brightmart_albert_tiny_zh",
        "brightmart_albert_base_zh",
    ):
        assert name in names


@pytest.mark.parametrize(
    "name, sizes",
    [
        ("google_bert_base_chinese", (12, 768, 12, 3072, None)),
        ("hfl_chinese_roberta_wwm_ext_large", (24, 1024, 16, 4096, None)),
        ("hfl_rbt3", (3, 768, 12, 3072, None)),
        ("hfl_rbtl3", (3, 1024, 16, 4096, None)),
        ("google_albert_base_zh", (12, 768, 12, 3072, 128)),
        ("brightmart_albert_tiny_zh", (4, 312, 12, 1248, 128)),
    ],
)
def test_config_values(name, sizes):
    p = get_preset(name)
    got = (p.num_hidden_layers, p.hidden_size, p.num_attention_heads, p.intermediate_size)
    assert got + (p.embedding_size,) == sizes
    assert p.vocab_size == CHINESE_VOCAB


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_sizes_are_consistent(preset):
    assert preset.hidden_size % preset.num_attention_heads == 0
    assert (preset.embedding_size is not None) == (preset.family == "albert")
    assert preset.family == ("albert" if "albert" in preset.scheme else "bert")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_train_line_parses(preset):
    from scripts.train import build_parser

    for line in (preset.train_line(), preset.train_line("/m", pytorch_pickle=True)):
        words = shlex.split(line.replace("$MODELS", "/models").replace("$DATA_DIR", "/data"))
        assert words[0] == "scripts/train.sh"
        args = build_parser().parse_args(words[1:])
        assert args.do_train and args.model_dir
        assert args.allow_pytorch_pickle == ("--allow_pytorch_pickle" in words)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_a_folder_laid_out_like_the_release_loads(preset, tmp_path):
    """Tiny sizes, but exactly the release's file names: found, detected, loaded."""
    from classifier.checkpoints import load_pretrained
    from classifier.checkpoints.tiny import tiny_albert_config, tiny_bert_config, write_tiny_folder
    from classifier.checkpoints.writer import layout_of_files
    from tests.support.samples import zoo_vocab

    vocab = zoo_vocab()
    if preset.family == "bert":
        config = tiny_bert_config(len(vocab), num_layers=1, hidden_size=32)
    else:
        config = tiny_albert_config(len(vocab), num_layers=2, hidden_size=32, embedding_size=16)
    folder = tmp_path / preset.folder
    write_tiny_folder(
        folder, vocab, config, preset.scheme, layout=layout_of_files(preset.files), seed=1
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted(preset.files)
    pretrained = load_pretrained(tmp_path)  # the parent: archives unpack into one folder
    assert pretrained.config.family == preset.family
    assert pretrained.scheme.name == preset.scheme
