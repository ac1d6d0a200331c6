"""Checkpoint formats and naming schemes, and loading a pretrained backbone from them."""

from classifier.checkpoints.loader import (
    Pretrained,
    load_backbone,
    load_pretrained,
    read_model_config,
)
from classifier.checkpoints.model_files import ModelFiles, ModelFilesError, find_model_files
from classifier.checkpoints.schemes import UnknownSchemeError, detect_scheme, list_schemes
from classifier.checkpoints.tf1_checkpoint import TF1Checkpoint, write_tf1_checkpoint
from classifier.checkpoints.weight_mapping import (
    CheckpointMismatchError,
    LoadReport,
    export_mapped_weights,
    load_mapped_weights,
)

__all__ = [
    "CheckpointMismatchError",
    "LoadReport",
    "ModelFiles",
    "ModelFilesError",
    "Pretrained",
    "TF1Checkpoint",
    "UnknownSchemeError",
    "detect_scheme",
    "export_mapped_weights",
    "find_model_files",
    "list_schemes",
    "load_backbone",
    "load_mapped_weights",
    "load_pretrained",
    "read_model_config",
    "write_tf1_checkpoint",
]
