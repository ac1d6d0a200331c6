"""Pfeiffer et al. (2021): one bottleneck adapter per layer, after the FFN; LayerNorms frozen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from classifier.adapters.bottleneck_adapters import BottleneckConfig
from classifier.adapters.config import register_adapter_kind


@register_adapter_kind("pfeiffer")
@dataclass(frozen=True)
class PfeifferConfig(BottleneckConfig):
    """Reduction factor 16 and ReLU, as adapter-hub's SeqBnConfig. adapter-hub also re-applies
    the block's LayerNorm around the adapter; here the adapter sits at the FFN output hook
    (before the block's own residual + LayerNorm), the one placement every block exposes."""

    placement: tuple[str, ...] = ("ffn_output",)
    activation: str = "relu"

    default_size: ClassVar[int | None] = None
    default_reduction_factor: ClassVar[float | None] = 16.0
