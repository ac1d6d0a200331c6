"""Shared fixtures: tiny checkpoints in the real release formats, written once per session."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402

CHINESE_SAMPLES = [
    "今天天气很好，我们去公园散步吧！",
    "这家餐厅的菜太难吃了，服务也很差。",
    "苹果发布了新款iPhone手机",
    "中國的繁體字也應該被正確處理。",
    "2019年NBA总决赛",
    "好",
]


def tiny_vocab() -> list[str]:
    from classifier.text.vocab import build_tiny_chinese_vocab

    return build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES)


@pytest.fixture(scope="session")
def google_bert_dir(tmp_path_factory):
    """A Google-format BERT folder with random weights everywhere (biases and LayerNorm too)."""
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder

    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=64)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("google_bert"), vocab, config, seed=7, randomize=True
    )
