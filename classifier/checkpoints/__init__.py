"""Checkpoint formats and naming schemes, and loading a pretrained backbone from them."""

from classifier.checkpoints.convert import convert_checkpoint
from classifier.checkpoints.hf_names import HFStateDict
from classifier.checkpoints.loader import (
    Pretrained,
    load_backbone,
    load_pretrained,
    open_checkpoint,
    read_model_config,
)
from classifier.checkpoints.model_files import ModelFiles, ModelFilesError, find_model_files
from classifier.checkpoints.pytorch_checkpoint import PickleNotAllowedError
from classifier.checkpoints.safetensors_checkpoint import SafetensorsCheckpoint, write_safetensors
from classifier.checkpoints.schemes import UnknownSchemeError, detect_scheme, list_schemes
from classifier.checkpoints.tf1_checkpoint import TF1Checkpoint, write_tf1_checkpoint
from classifier.checkpoints.weight_mapping import (
    CheckpointMismatchError,
    LoadReport,
    export_mapped_weights,
    load_mapped_weights,
)
from classifier.checkpoints.writer import FolderLayout, save_pretrained_folder

__all__ = [
    "CheckpointMismatchError",
    "FolderLayout",
    "HFStateDict",
    "LoadReport",
    "ModelFiles",
    "ModelFilesError",
    "PickleNotAllowedError",
    "Pretrained",
    "SafetensorsCheckpoint",
    "TF1Checkpoint",
    "UnknownSchemeError",
    "convert_checkpoint",
    "detect_scheme",
    "export_mapped_weights",
    "find_model_files",
    "list_schemes",
    "load_backbone",
    "load_mapped_weights",
    "load_pretrained",
    "open_checkpoint",
    "read_model_config",
    "save_pretrained_folder",
    "write_safetensors",
    "write_tf1_checkpoint",
]
