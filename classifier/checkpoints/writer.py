"""Writing a backbone as a checkpoint folder in any supported naming scheme.

Used by scripts/convert_checkpoint.py (TF1 <-> Hugging Face safetensors) and by the tiny test
checkpoints. The folder looks like the real releases: TF1 schemes get a Google-format config
(bert_config.json / albert_config*.json) and a Saver checkpoint; HF schemes a config.json and
model.safetensors (optionally sharded, with the "bert."/"albert." prefix of task models, or with
pytorch-pretrained-bert's LayerNorm.gamma/beta names).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import classifier.checkpoints.all_schemes  # noqa: F401  (registers every scheme)
from classifier.checkpoints.safetensors_checkpoint import (
    write_safetensors,
    write_sharded_safetensors,
)
from classifier.checkpoints.schemes import get_scheme
from classifier.checkpoints.tf1_checkpoint import write_tf1_checkpoint
from classifier.checkpoints.weight_mapping import export_mapped_weights
from classifier.config import ModelConfig
from classifier.text.vocab import load_vocab


@dataclass(frozen=True)
class FolderLayout:
    """File names inside a release folder."""

    config_name: str
    checkpoint_name: str  # TF1 prefix, or the safetensors file name
    vocab_name: str = "vocab.txt"


# What each scheme's best-known release calls its files.
DEFAULT_LAYOUTS = {
    "google_bert_tf1": FolderLayout("bert_config.json", "bert_model.ckpt"),
    "google_albert_tf1": FolderLayout("albert_config.json", "model.ckpt-best", "vocab_chinese.txt"),
    "brightmart_albert_tf1": FolderLayout("albert_config_tiny.json", "albert_model.ckpt"),
    "hf_bert": FolderLayout("config.json", "model.safetensors"),
    "hf_albert": FolderLayout("config.json", "model.safetensors"),
}


def layout_of_files(files: list[str] | tuple[str, ...]) -> FolderLayout:
    """The FolderLayout of a release's file list (one *.json, one *.txt, the weights)."""
    configs = [f for f in files if f.endswith(".json") and "index" not in f]
    vocabs = [f for f in files if f.endswith(".txt")]
    weights = [f[: -len(".index")] for f in files if f.endswith(".index")]
    weights += [f for f in files if f.endswith(".safetensors")]
    if len(configs) != 1 or len(vocabs) != 1 or len(weights) != 1:
        raise ValueError(f"cannot tell config, vocab and weights apart in {list(files)}")
    return FolderLayout(configs[0], weights[0], vocabs[0])


def backbone_tensors(backbone, scheme_name: str) -> dict[str, np.ndarray]:
    """The backbone's weights under the names of ``scheme_name``."""
    return export_mapped_weights(get_scheme(scheme_name).mapping(backbone))


def config_json(config: ModelConfig, file_format: str) -> dict:
    return config.to_hf_dict() if file_format == "hf" else config.to_google_dict()


def save_pretrained_folder(
    output_dir: str | Path,
    backbone,
    config: ModelConfig,
    vocab: str | Path | list[str],
    scheme_name: str,
    *,
    layout: FolderLayout | None = None,
    extra_tensors: Mapping[str, np.ndarray] | None = None,
    hf_prefix: str = "",
    legacy_layer_norm: bool = False,
    num_shards: int = 1,
) -> Path:
    """Writes config, vocab and weights of ``backbone`` under ``scheme_name``'s names.

    ``extra_tensors`` (pretraining heads, optimizer slots) are written as named, beside the
    backbone's. ``hf_prefix`` ("bert." / "albert.") and ``legacy_layer_norm`` only apply to HF
    schemes. Returns the folder.
    """
    scheme = get_scheme(scheme_name)
    layout = layout or DEFAULT_LAYOUTS[scheme_name]
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = backbone_tensors(backbone, scheme_name)
    if scheme.file_format == "hf":
        tensors = {hf_prefix + name: value for name, value in tensors.items()}
    tensors.update(extra_tensors or {})
    if scheme.file_format == "hf" and legacy_layer_norm:
        tensors = {_legacy_name(name): value for name, value in tensors.items()}
    if scheme.file_format == "tf1":
        write_tf1_checkpoint(out / layout.checkpoint_name, tensors)
    elif num_shards > 1:
        write_sharded_safetensors(out, tensors, num_shards)
    else:
        write_safetensors(out / layout.checkpoint_name, tensors)
    data = config_json(config, scheme.file_format)
    (out / layout.config_name).write_text(
        json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    vocab_path = out / layout.vocab_name
    if not isinstance(vocab, list) and str(vocab).endswith(".json"):  # a tokenizer.json
        vocab = load_vocab(vocab)
    if isinstance(vocab, list):
        vocab_path.write_text("".join(f"{token}\n" for token in vocab), encoding="utf-8")
    elif Path(vocab).resolve() != vocab_path.resolve():
        shutil.copyfile(vocab, vocab_path)
    return out


def _legacy_name(name: str) -> str:
    if name.endswith("LayerNorm.weight"):
        return name[: -len("weight")] + "gamma"
    if name.endswith("LayerNorm.bias"):
        return name[: -len("bias")] + "beta"
    return name
