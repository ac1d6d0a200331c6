"""Loading a pretrained backbone from a downloaded checkpoint folder, whatever its format."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import keras

from classifier.backbones import build_backbone
from classifier.checkpoints import google_bert  # noqa: F401  (registers its scheme)
from classifier.checkpoints.model_files import TF1, ModelFiles, ModelFilesError, find_model_files
from classifier.checkpoints.schemes import CheckpointScheme, detect_scheme
from classifier.checkpoints.tf1_checkpoint import TF1Checkpoint
from classifier.checkpoints.weight_mapping import LoadReport, load_mapped_weights
from classifier.config import ConfigError, ModelConfig

logger = logging.getLogger(__name__)


@dataclass
class Pretrained:
    """A loaded backbone with everything that came with it."""

    backbone: keras.Model
    config: ModelConfig
    files: ModelFiles
    scheme: CheckpointScheme
    report: LoadReport


def read_model_config(config_file: str | Path) -> ModelConfig:
    """Reads a Google (bert_config / albert_config) or Hugging Face (config.json) config."""
    path = Path(config_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if "model_type" in data or path.name == "config.json":
        return ModelConfig.from_hf_json(path)
    family = "albert" if ("albert" in path.name or "embedding_size" in data) else "bert"
    return ModelConfig.from_google_json(path, family=family)


def open_checkpoint(files: ModelFiles):
    """A name -> array mapping over the checkpoint's tensors."""
    if files.weights_format == TF1:
        return TF1Checkpoint(files.checkpoint)
    raise ModelFilesError(
        f"{files.checkpoint}: {files.weights_format} weights are not supported by this loader"
    )


def load_pretrained(
    model_dir: str | Path | None = None,
    *,
    config_file: str | Path | None = None,
    vocab_file: str | Path | None = None,
    init_checkpoint: str | Path | None = None,
    dtype=None,
) -> Pretrained:
    """Finds the files, reads the config, builds the backbone and loads every weight."""
    files = find_model_files(
        model_dir, config_file=config_file, vocab_file=vocab_file, init_checkpoint=init_checkpoint
    )
    config = read_model_config(files.config_file)
    tensors = open_checkpoint(files)
    file_format = "tf1" if files.weights_format == TF1 else "hf"
    scheme = detect_scheme(tensors.keys(), file_format, str(files.checkpoint))
    if scheme.family != config.family:
        raise ConfigError(
            f"{files.config_file} describes a {config.family} model but the checkpoint "
            f"{files.checkpoint} is in {scheme.name} naming ({scheme.family})"
        )
    backbone = build_backbone(config, dtype=dtype)
    report = load_mapped_weights(scheme.mapping(backbone), tensors, str(files.checkpoint))
    logger.info("%s (%s): %s", files.checkpoint, scheme.name, report.summary())
    return Pretrained(backbone, config, files, scheme, report)


def load_backbone(model_dir: str | Path, **kwargs) -> keras.Model:
    """The pretrained backbone in ``model_dir`` (a Google TF1 folder, HF folder, ...)."""
    return load_pretrained(model_dir, **kwargs).backbone
