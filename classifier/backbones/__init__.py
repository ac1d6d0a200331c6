"""Backbones by family; build one from a ModelConfig."""

from __future__ import annotations

from classifier.backbones.albert_backbone import AlbertBackbone
from classifier.backbones.bert_backbone import BertBackbone
from classifier.backbones.hooks import HOOK_POINTS, HookTable
from classifier.backbones.transformer_block import TransformerBlock
from classifier.config import ModelConfig

BACKBONES = {"bert": BertBackbone, "albert": AlbertBackbone}


def build_backbone(config: ModelConfig, dtype=None, **kwargs):
    """A randomly initialised backbone of ``config.family`` (weights are loaded separately)."""
    try:
        cls = BACKBONES[config.family]
    except KeyError:
        raise ValueError(
            f"no backbone for family {config.family!r}; known: {sorted(BACKBONES)}"
        ) from None
    return cls.from_model_config(config, dtype=dtype, **kwargs)


__all__ = [
    "BACKBONES",
    "AlbertBackbone",
    "HOOK_POINTS",
    "BertBackbone",
    "HookTable",
    "TransformerBlock",
    "build_backbone",
]
