"""Tiny checkpoints in the real release formats, for the demo and the tests.

No model can be downloaded here, so every loader is proven on files this module writes exactly
as the real releases lay them out (Google's chinese_L-12_H-768_A-12: bert_config.json,
vocab.txt, bert_model.ckpt.{index,data-00000-of-00001,meta}, pretraining heads included).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from classifier.backbones import build_backbone
from classifier.checkpoints.google_bert import google_bert_mapping
from classifier.checkpoints.tf1_checkpoint import write_tf1_checkpoint
from classifier.checkpoints.weight_mapping import export_mapped_weights
from classifier.config import ModelConfig


def tiny_bert_config(vocab_size: int, num_layers: int = 2, hidden_size: int = 64) -> ModelConfig:
    heads = max(1, hidden_size // 16)
    return ModelConfig(
        family="bert",
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=512,
        extra={"directionality": "bidi", "pooler_type": "first_token_transform"},
    )


def randomize_weights(model, seed: int, scale: float = 0.2) -> None:
    """Gives every weight a distinctive random value (biases, LayerNorm included).

    Standard initialisation leaves biases at zero and LayerNorm at identity, which would let
    a loader that swaps or drops those tensors pass a parity test; random values everywhere
    make such mistakes visible.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if variable.path.endswith("gamma"):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif variable.path.endswith(("beta", "bias")):
            value = 0.1 * rng.standard_normal(shape)
        else:
            value = scale * rng.standard_normal(shape)
        variable.assign(value.astype(np.float32))


def google_bert_tensors(backbone, seed: int) -> dict[str, np.ndarray]:
    """The backbone's weights under Google's names, plus MLM/NSP heads as in the release."""
    tensors = export_mapped_weights(google_bert_mapping(backbone))
    rng = np.random.default_rng(seed + 1)
    hidden, vocab = backbone.hidden_size, backbone.vocab_size

    def normal(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    tensors.update(
        {
            "cls/predictions/output_bias": np.zeros(vocab, np.float32),
            "cls/predictions/transform/dense/kernel": normal(hidden, hidden),
            "cls/predictions/transform/dense/bias": np.zeros(hidden, np.float32),
            "cls/predictions/transform/LayerNorm/gamma": np.ones(hidden, np.float32),
            "cls/predictions/transform/LayerNorm/beta": np.zeros(hidden, np.float32),
            "cls/seq_relationship/output_weights": normal(2, hidden),
            "cls/seq_relationship/output_bias": np.zeros(2, np.float32),
        }
    )
    return tensors


def write_google_bert_folder(
    output_dir: str | Path,
    vocab: list[str],
    config: ModelConfig,
    seed: int = 0,
    randomize: bool = False,
    optimizer_slots: bool = False,
) -> Path:
    """Writes a Google-format BERT folder: bert_config.json, vocab.txt, bert_model.ckpt.*."""
    import keras

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.vocab_size != len(vocab):
        raise ValueError(f"config vocab_size {config.vocab_size} != {len(vocab)} vocab tokens")
    keras.utils.set_random_seed(seed)
    backbone = build_backbone(config)
    if randomize:
        randomize_weights(backbone, seed)
    tensors = google_bert_tensors(backbone, seed)
    if optimizer_slots:
        for name in list(tensors):
            tensors[f"{name}/adam_m"] = np.zeros_like(tensors[name])
            tensors[f"{name}/adam_v"] = np.zeros_like(tensors[name])
        tensors["global_step"] = np.array(1000, np.int64)
    write_tf1_checkpoint(out / "bert_model.ckpt", tensors)
    (out / "bert_config.json").write_text(
        json.dumps(config.to_google_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out / "vocab.txt").write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    return out
