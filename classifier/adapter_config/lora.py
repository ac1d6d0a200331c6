"""LoRA's settings (Hu et al. 2021): rank, scaling and the projections it updates; its Keras
module is classifier.adapters.lora."""

from __future__ import annotations

from dataclasses import dataclass

from classifier.adapter_config.base import AdapterConfig, AdapterConfigError, register_adapter_kind

# LoRA target -> (hook point, the block's projection layer attribute)
TARGETS = {"query": ("attention_query", "query"), "value": ("attention_value", "value")}


@register_adapter_kind("lora")
@dataclass(frozen=True)
class LoraConfig(AdapterConfig):
    """rank r, scaling alpha / r, which projections (query, value) and layers (None = all)."""

    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("query", "value")
    dropout: float = 0.0
    layers: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise AdapterConfigError(f"LoRA rank must be at least 1, got {self.rank}")
        if self.alpha <= 0:
            raise AdapterConfigError("LoRA alpha must be positive")
        if not self.targets or not set(self.targets) <= set(TARGETS):
            raise AdapterConfigError(
                f"LoRA targets must be a non-empty subset of {tuple(TARGETS)}, got {self.targets}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise AdapterConfigError("LoRA dropout must be in [0, 1)")

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank
