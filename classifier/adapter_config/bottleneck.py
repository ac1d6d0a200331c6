"""The bottleneck adapter kinds' settings: Houlsby, Pfeiffer, AdapterDrop and Compacter share
BottleneckConfig and differ in placement, size, LayerNorm training and layers. Their Keras
modules are classifier.adapters.bottleneck_adapters, adapter_drop and compacter.

Houlsby et al. (ICML 2019): two bottleneck adapters per layer, LayerNorms trained too.
Pfeiffer et al. (2021): one bottleneck adapter per layer, after the FFN; LayerNorms frozen.
AdapterDrop (Rücklé et al. 2021): no adapters in the lowest n layers (fixed n, or n drawn per
training batch). Compacter (Karimi Mahabadi et al. 2021): PHM (Kronecker-sum) projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from classifier.adapter_config.base import AdapterConfig, AdapterConfigError, register_adapter_kind
from classifier.config import ACTIVATIONS

if TYPE_CHECKING:
    from classifier.adapters.sites import BackboneSites

BOTTLENECK_POINTS = ("attention_output", "ffn_output")


@dataclass(frozen=True)
class BottleneckConfig(AdapterConfig):
    """Options shared by bottleneck kinds.

    size: bottleneck width; or reduction_factor: width = hidden_size / factor (give one; with
    neither, the kind's default applies). placement: which hook points get an adapter.
    layers: which backbone layers (None = all). init_scale: None = Kaiming-uniform
    down-projection, a float = truncated normal of that std (adapter-bert uses 1e-3); the
    up-projection always starts at zero. train_layer_norms: also train the backbone's
    LayerNorms of adapted layers (Houlsby), saved with the adapter.
    """

    size: int | None = None
    reduction_factor: float | None = None
    placement: tuple[str, ...] = BOTTLENECK_POINTS
    layers: tuple[int, ...] | None = None
    activation: str = "gelu_tanh"
    dropout: float = 0.0
    init_scale: float | None = None
    train_layer_norms: bool = False

    default_size: ClassVar[int | None] = None
    default_reduction_factor: ClassVar[float | None] = 16.0

    def __post_init__(self) -> None:
        if self.size is not None and self.reduction_factor is not None:
            raise AdapterConfigError("give the adapter size or its reduction factor, not both")
        if self.size is None and self.reduction_factor is None:
            object.__setattr__(self, "size", self.default_size)
            object.__setattr__(self, "reduction_factor", self.default_reduction_factor)
        if self.size is not None and self.size < 1:
            raise AdapterConfigError(f"adapter size must be at least 1, got {self.size}")
        if self.reduction_factor is not None and self.reduction_factor <= 0:
            raise AdapterConfigError("adapter reduction factor must be positive")
        if not self.placement or not set(self.placement) <= set(BOTTLENECK_POINTS):
            raise AdapterConfigError(
                f"adapter placement must be a non-empty subset of {BOTTLENECK_POINTS}, "
                f"got {self.placement}"
            )
        if len(set(self.placement)) != len(self.placement):
            raise AdapterConfigError(f"adapter placement {self.placement} repeats a point")
        if self.activation not in ACTIVATIONS:
            raise AdapterConfigError(f"adapter activation must be one of {ACTIVATIONS}")
        if not 0.0 <= self.dropout < 1.0:
            raise AdapterConfigError("adapter dropout must be in [0, 1)")

    def bottleneck_size(self, hidden_size: int) -> int:
        if self.size is not None:
            return self.size
        return max(1, int(round(hidden_size / self.reduction_factor)))

    def adapted_layers(self, sites: BackboneSites) -> tuple[int, ...] | None:
        """The layers that get adapters (None = all)."""
        return self.layers


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


@register_adapter_kind("adapter_drop")
@dataclass(frozen=True)
class AdapterDropConfig(BottleneckConfig):
    """A bottleneck adapter (Pfeiffer placement by default) with the lowest layers dropped."""

    placement: tuple[str, ...] = ("ffn_output",)
    activation: str = "relu"
    drop_layers: int = 0
    sampled: bool = False
    max_drop: int | None = None
    seed: int | None = None

    default_size: ClassVar[int | None] = None
    default_reduction_factor: ClassVar[float | None] = 16.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.drop_layers < 0:
            raise AdapterConfigError("adapter_drop: drop_layers must be non-negative")
        if self.max_drop is not None and not self.sampled:
            raise AdapterConfigError("adapter_drop: max_drop applies to sampled mode only")

    def max_dropped(self, num_layers: int) -> int:
        return num_layers - 1 if self.max_drop is None else self.max_drop

    def adapted_layers(self, sites: BackboneSites) -> tuple[int, ...] | None:
        if self.sampled:
            return self.layers
        wanted = range(sites.num_layers) if self.layers is None else self.layers
        return tuple(i for i in wanted if i >= self.drop_layers)

    def check(self, sites: BackboneSites) -> None:
        super().check(sites)
        if self.drop_layers >= sites.num_layers:
            raise AdapterConfigError(
                f"adapter_drop: dropping {self.drop_layers} layers leaves no adapter in a "
                f"{sites.num_layers}-layer backbone"
            )
        if self.sampled and not 0 <= self.max_dropped(sites.num_layers) < sites.num_layers:
            raise AdapterConfigError(f"adapter_drop: max_drop must be in [0, {sites.num_layers})")
        if not self.sampled and not self.adapted_layers(sites):
            raise AdapterConfigError("adapter_drop: no adapted layer is left above drop_layers")


@register_adapter_kind("compacter")
@dataclass(frozen=True)
class CompacterConfig(BottleneckConfig):
    placement: tuple[str, ...] = ("ffn_output",)
    phm_dim: int = 4
    phm_rank: int = 1

    default_size: ClassVar[int | None] = None
    default_reduction_factor: ClassVar[float | None] = 32.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.phm_dim < 1 or self.phm_rank < 1:
            raise AdapterConfigError("compacter phm_dim and phm_rank must be at least 1")

    def check(self, sites: BackboneSites) -> None:
        super().check(sites)
        size = self.bottleneck_size(sites.hidden_size)
        for name, width in (("hidden size", sites.hidden_size), ("adapter size", size)):
            if width % self.phm_dim:
                raise AdapterConfigError(
                    f"compacter: the {name} {width} is not a multiple of phm_dim {self.phm_dim}"
                )
