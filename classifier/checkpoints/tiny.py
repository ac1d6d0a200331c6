"""Tiny checkpoints in the real release formats, for the demo and the tests.

No model can be downloaded here, so every loader is proven on files this module writes exactly
as the real releases lay them out (Google's chinese_L-12_H-768_A-12: bert_config.json,
vocab.txt, bert_model.ckpt.{index,data-00000-of-00001,meta}, pretraining heads included; Google's
albert_base_zh: albert_config.json, model.ckpt-best.*, vocab_chinese.txt; brightmart's
albert_tiny_zh: albert_config_tiny.json, albert_model.ckpt.*, vocab.txt; Hugging Face:
config.json, model.safetensors, vocab.txt, with or without the task model's prefix and heads).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

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


def tiny_albert_config(
    vocab_size: int,
    num_layers: int = 3,
    hidden_size: int = 64,
    embedding_size: int = 32,
    num_hidden_groups: int = 1,
    inner_group_num: int = 1,
    ln_type: str = "postln",
) -> ModelConfig:
    """A small ALBERT config; Google's albert_config.json extras included."""
    return ModelConfig(
        family="albert",
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        embedding_size=embedding_size,
        num_hidden_layers=num_layers,
        num_hidden_groups=num_hidden_groups,
        inner_group_num=inner_group_num,
        num_attention_heads=max(1, hidden_size // 16),
        intermediate_size=4 * hidden_size,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        ln_type=ln_type,
        extra={"down_scale_factor": 1, "gap_size": 0, "net_structure_type": 0},
    )


def pretraining_heads(scheme_name: str, config: ModelConfig, seed: int) -> dict[str, np.ndarray]:
    """The MLM and NSP/SOP head tensors each release format carries beside the backbone.

    Google ALBERT's MLM transform projects H -> E; brightmart's keeps H. HF names are those of
    BertForPreTraining / AlbertForPreTraining (decoder weights are tied, so not stored).
    """
    rng = np.random.default_rng(seed + 1)
    hidden, vocab = config.hidden_size, config.vocab_size
    width = config.embedding_size if scheme_name in ("google_albert_tf1", "hf_albert") else hidden

    def normal(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    if scheme_name.endswith("_tf1"):
        return {
            "cls/predictions/output_bias": normal(vocab),
            "cls/predictions/transform/dense/kernel": normal(hidden, width),
            "cls/predictions/transform/dense/bias": normal(width),
            "cls/predictions/transform/LayerNorm/gamma": 1.0 + normal(width),
            "cls/predictions/transform/LayerNorm/beta": normal(width),
            "cls/seq_relationship/output_weights": normal(2, hidden),
            "cls/seq_relationship/output_bias": normal(2),
        }
    if scheme_name == "hf_bert":
        return {
            "cls.predictions.bias": normal(vocab),
            "cls.predictions.transform.dense.weight": normal(hidden, hidden),
            "cls.predictions.transform.dense.bias": normal(hidden),
            "cls.predictions.transform.LayerNorm.weight": 1.0 + normal(hidden),
            "cls.predictions.transform.LayerNorm.bias": normal(hidden),
            "cls.seq_relationship.weight": normal(2, hidden),
            "cls.seq_relationship.bias": normal(2),
        }
    return {
        "predictions.bias": normal(vocab),
        "predictions.dense.weight": normal(width, hidden),
        "predictions.dense.bias": normal(width),
        "predictions.LayerNorm.weight": 1.0 + normal(width),
        "predictions.LayerNorm.bias": normal(width),
        "sop_classifier.classifier.weight": normal(2, hidden),
        "sop_classifier.classifier.bias": normal(2),
    }


def write_tiny_folder(
    output_dir: str | Path,
    vocab: list[str],
    config: ModelConfig,
    scheme_name: str,
    *,
    seed: int = 0,
    randomize: bool = True,
    heads: bool = True,
    layout=None,
    hf_prefix: str = "",
    legacy_layer_norm: bool = False,
    num_shards: int = 1,
    optimizer_slots: bool = False,
) -> Path:
    """Writes a random tiny model in the release format of ``scheme_name``.

    The backbone is built from ``config`` completed by the scheme (brightmart's embedding
    layout), given random values everywhere when ``randomize``, and written with the release's
    heads (``heads``; for HF only with ``hf_prefix``, as task models have both), file names (``layout``, see writer.DEFAULT_LAYOUTS) and, for TF1, Adam
    slots and global_step (``optimizer_slots``) as pretraining checkpoints keep them.
    """
    import keras

    from classifier.checkpoints.schemes import get_scheme
    from classifier.checkpoints.writer import save_pretrained_folder

    if config.vocab_size != len(vocab):
        raise ValueError(f"config vocab_size {config.vocab_size} != {len(vocab)} vocab tokens")
    scheme = get_scheme(scheme_name)
    config = scheme.config_for(config)
    keras.utils.set_random_seed(seed)
    backbone = build_backbone(config)
    if randomize:
        randomize_weights(backbone, seed)
    if scheme_name == "google_albert_tf1" and config.embedding_size == config.hidden_size:
        # Google's ALBERT has no E -> H projection when E == H: the backbone's must be identity.
        backbone.embeddings.projection.kernel.assign(np.eye(config.hidden_size, dtype="float32"))
        backbone.embeddings.projection.bias.assign(np.zeros(config.hidden_size, "float32"))
    # HF task models (BertForPreTraining, ...) carry heads and the prefix; BertModel neither.
    with_heads = heads and (scheme.file_format == "tf1" or bool(hf_prefix))
    extra = pretraining_heads(scheme_name, config, seed) if with_heads else {}
    if optimizer_slots and scheme.file_format == "tf1":
        from classifier.checkpoints.writer import backbone_tensors

        for name, value in {**backbone_tensors(backbone, scheme_name), **extra}.items():
            extra[f"{name}/adam_m"] = np.zeros_like(value)
            extra[f"{name}/adam_v"] = np.zeros_like(value)
        extra["global_step"] = np.array(1000, np.int64)
    return save_pretrained_folder(
        output_dir,
        backbone,
        config,
        vocab,
        scheme_name,
        layout=layout,
        extra_tensors=extra,
        hf_prefix=hf_prefix,
        legacy_layer_norm=legacy_layer_norm,
        num_shards=num_shards,
    )


TINY_CONFIGS = {"bert": tiny_bert_config, "albert": tiny_albert_config}


def tiny_config(
    family: str, vocab_size: int, num_layers: int, hidden_size: int, **family_options: Any
) -> ModelConfig:
    """A small config of ``family``; ``family_options`` (embedding_size, ln_type, ...) that
    the family's builder does not take are ignored (a BERT has no embedding_size)."""
    try:
        build = TINY_CONFIGS[family]
    except KeyError:
        known = sorted(TINY_CONFIGS)
        raise ValueError(f"no tiny config for family {family!r}; known: {known}") from None
    taken = inspect.signature(build).parameters
    options = {name: value for name, value in family_options.items() if name in taken}
    return build(vocab_size, num_layers, hidden_size, **options)
