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


# === Model zoo: every checkpoint naming scheme, tiny and random everywhere ===
# (classifier.checkpoints parity, detection, conversion and preset tests share these.)

ZOO_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def zoo_vocab() -> list[str]:
    """Special tokens, ASCII letters and digits, and every character of CHINESE_SAMPLES."""
    chars = sorted({c for text in CHINESE_SAMPLES for c in text.lower()} - {" "})
    ascii_ = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    return ZOO_SPECIAL_TOKENS + sorted(set(chars) | set(ascii_))


def padded_batch(vocab_size: int, seed: int = 0):
    """token_ids, segment_ids, padding_mask [4, 12]: three rows padded, two with a second segment."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = [12, 9, 5, 3]
    token_ids = np.zeros((4, 12), np.int32)
    segment_ids = np.zeros_like(token_ids)
    mask = np.zeros_like(token_ids)
    for row, length in enumerate(lengths):
        token_ids[row, :length] = rng.integers(5, vocab_size, length)
        token_ids[row, 0], token_ids[row, length - 1] = 2, 3  # [CLS] ... [SEP]
        mask[row, :length] = 1
        if row < 2:
            segment_ids[row, length // 2 : length] = 1
    return token_ids, segment_ids, mask


def our_outputs(model_dir, batch, **kwargs):
    """sequence_output and pooled_output of our backbone loaded from ``model_dir``."""
    import numpy as np

    import classifier

    token_ids, segment_ids, mask = batch
    backbone = classifier.load_backbone(model_dir, **kwargs)
    out = backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, training=False
    )
    return np.asarray(out["sequence_output"]), np.asarray(out["pooled_output"])


def report_diffs(label: str, ours, reference) -> tuple[float, float]:
    """Max abs differences of (sequence, pooled), printed for the record (pytest -s)."""
    import numpy as np

    seq = float(np.abs(ours[0] - reference[0]).max())
    pooled = float(np.abs(ours[1] - reference[1]).max())
    scale = float(np.abs(reference[0]).max())
    print(
        f"\n[parity] {label}: max abs diff sequence_output {seq:.2e}, pooled_output {pooled:.2e}"
        f" (max |sequence_output| {scale:.1f})"
    )
    # Random weights everywhere make activations O(1); a wrong mapping gives O(1) errors.
    assert np.abs(reference[0]).mean() > 0.1
    return seq, pooled


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
