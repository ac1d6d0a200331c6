"""Backbones by family, from a registry; build one from a ModelConfig.

build_backbone(config) -> the registered family's Backbone (random weights)
family_of(config) -> its class: what knows the family's checkpoint schemes, transformers
    classes and masked-LM head width (classifier.backbones.backbone)
"""

from __future__ import annotations

from classifier.backbones.albert_backbone import AlbertBackbone
from classifier.backbones.backbone import (
    BACKBONES,
    Backbone,
    backbone_class,
    family_of,
    register_backbone,
)
from classifier.backbones.bert_backbone import BertBackbone
from classifier.backbones.hooks import HOOK_POINTS, HookTable
from classifier.backbones.transformer_block import TransformerBlock
from classifier.config import ModelConfig


def build_backbone(config: ModelConfig, dtype=None, **kwargs) -> Backbone:
    """A randomly initialised backbone of ``config.family`` (weights are loaded separately)."""
    return backbone_class(config.family).from_model_config(config, dtype=dtype, **kwargs)


__all__ = [
    "BACKBONES",
    "AlbertBackbone",
    "Backbone",
    "BertBackbone",
    "HOOK_POINTS",
    "HookTable",
    "TransformerBlock",
    "backbone_class",
    "build_backbone",
    "family_of",
    "register_backbone",
]
