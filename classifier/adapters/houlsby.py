"""Houlsby et al. (ICML 2019): two bottleneck adapters per layer, LayerNorms trained too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from classifier.adapters.bottleneck_adapters import BOTTLENECK_POINTS, BottleneckConfig
from classifier.adapters.config import register_adapter_kind


@register_adapter_kind("houlsby")
@dataclass(frozen=True)
class HoulsbyConfig(BottleneckConfig):
    """After the attention output projection and after the FFN output projection (before each
    residual add + LayerNorm), as google-research/adapter-bert; size 64 and GELU as there.
    The backbone's LayerNorms (embedding LayerNorm included) train with the adapters."""

    placement: tuple[str, ...] = BOTTLENECK_POINTS
    train_layer_norms: bool = True

    default_size: ClassVar[int | None] = 64
    default_reduction_factor: ClassVar[float | None] = None
