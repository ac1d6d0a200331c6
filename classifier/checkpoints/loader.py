"""Loading a pretrained backbone from a downloaded checkpoint folder, whatever its format.

The family (BERT or ALBERT) comes from the config file, the naming scheme from the checkpoint's
tensor names; neither needs a flag.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

import classifier.checkpoints.all_schemes  # noqa: F401  (registers every scheme)
from classifier.backbones import build_backbone, family_of
from classifier.checkpoints.hf_names import HFStateDict
from classifier.checkpoints.model_files import (
    HF_PYTORCH_BIN,
    HF_SAFETENSORS,
    TF1,
    ModelFiles,
    ModelFilesError,
    find_model_files,
)
from classifier.checkpoints.pytorch_checkpoint import read_pytorch_bin
from classifier.checkpoints.safetensors_checkpoint import SafetensorsCheckpoint
from classifier.checkpoints.schemes import CheckpointScheme, detect_scheme
from classifier.checkpoints.tf1_checkpoint import TF1Checkpoint
from classifier.checkpoints.weight_mapping import (
    CheckpointMismatchError,
    LoadReport,
    load_mapped_weights,
)
from classifier.config import ConfigError, ModelConfig, family_hinted

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
    return ModelConfig.from_google_json(path, family=family_hinted(path.name, data))


def open_checkpoint(
    files: ModelFiles, allow_pickle: bool = False
) -> tuple[Mapping[str, np.ndarray], str]:
    """A name -> array mapping over the checkpoint's tensors, and its scheme file format.

    Hugging Face state dicts are seen through canonical names (see hf_names). A PyTorch pickle
    is read only with ``allow_pickle`` (and torch installed); otherwise PickleNotAllowedError.
    """
    source = str(files.checkpoint)
    if files.weights_format == TF1:
        return TF1Checkpoint(files.checkpoint), "tf1"
    if files.weights_format == HF_SAFETENSORS:
        return HFStateDict(SafetensorsCheckpoint(files.checkpoint), source), "hf"
    if files.weights_format == HF_PYTORCH_BIN:
        return HFStateDict(read_pytorch_bin(files.checkpoint, allow_pickle), source), "hf"
    raise ModelFilesError(f"{source}: {files.weights_format} weights are not supported")


def load_pretrained(
    model_dir: str | Path | None = None,
    *,
    config_file: str | Path | None = None,
    vocab_file: str | Path | None = None,
    init_checkpoint: str | Path | None = None,
    allow_pickle: bool = False,
    dtype=None,
    require_vocab: bool = True,
    allow_vocab_mismatch: bool = False,
    model_dir_flag: str = "--model_dir",
) -> Pretrained:
    """Finds the files, reads the config, builds the backbone and loads every weight.

    ``allow_pickle`` lets a pytorch_model.bin be unpickled (with torch's weights_only loader);
    without it such a folder fails with advice on converting it to safetensors. A vocab whose
    size is not the config's vocab_size is refused (check_vocab_size). ``model_dir`` may be a
    folder, a Hugging Face model id (owner/name[@revision]) or a preset name, read from the
    Hugging Face cache (hub_cache); errors call it ``model_dir_flag``.
    """
    files = find_model_files(
        model_dir,
        config_file=config_file,
        vocab_file=vocab_file,
        init_checkpoint=init_checkpoint,
        require_vocab=require_vocab,
        model_dir_flag=model_dir_flag,
    )
    config = read_model_config(files.config_file)
    if files.vocab_file is not None:
        check_vocab_size(files.vocab_file, files.config_file, config, allow_vocab_mismatch)
    tensors, file_format = open_checkpoint(files, allow_pickle)
    scheme = detect_scheme(tensors.keys(), file_format, str(files.checkpoint))
    if scheme.family != config.family:
        raise ConfigError(
            f"{files.config_file} describes a {config.family} model but the checkpoint "
            f"{files.checkpoint} is in {scheme.name} naming ({scheme.family}); pass the "
            "matching config with --bert_config_file"
        )
    try:
        config = scheme.config_for(config)
    except ConfigError as err:
        raise ConfigError(f"{files.config_file} vs {files.checkpoint}: {err}") from None
    backbone = build_backbone(config, dtype=dtype)
    try:
        report = load_mapped_weights(scheme.mapping(backbone), tensors, str(files.checkpoint))
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(
            f"the checkpoint does not fit the model that {files.config_file.name} describes "
            f"({describe(config)}):\n{err}"
        ) from None
    logger.info("%s (%s): %s", files.checkpoint, scheme.name, report.summary())
    return Pretrained(backbone, config, files, scheme, report)


def check_vocab_size(
    vocab_file: Path, config_file: Path, config: ModelConfig, allow_smaller: bool = False
) -> None:
    """A vocab of another size than the embedding table is the wrong vocab (ids past the table
    fail; a shorter one maps characters to ids that meant other tokens, or to [UNK]), unless
    ``allow_smaller`` says the table has unused rows (--allow_vocab_mismatch)."""
    from classifier.text.vocab import load_vocab

    size = len(load_vocab(vocab_file))
    if size == config.vocab_size:
        return
    message = (
        f"{vocab_file} holds {size} tokens but {config_file} says vocab_size "
        f"{config.vocab_size}: the vocab does not belong to this checkpoint"
    )
    if size > config.vocab_size:
        raise ConfigError(message + " (ids past the embedding table cannot be looked up)")
    if not allow_smaller:
        raise ConfigError(
            message + "; pass the checkpoint's own vocab.txt (--vocab_file), or "
            "--allow_vocab_mismatch if its embedding table has unused rows on purpose"
        )
    logger.warning("%s; going on (--allow_vocab_mismatch)", message)


def describe(config: ModelConfig) -> str:
    return family_of(config).describe(config)


def load_backbone(model_dir: str | Path, **kwargs) -> keras.Model:
    """The pretrained backbone in ``model_dir`` (a Google TF1 folder, HF folder, ...); a
    backbone needs no vocab, so a folder without one loads too."""
    kwargs.setdefault("require_vocab", False)
    return load_pretrained(model_dir, **kwargs).backbone
