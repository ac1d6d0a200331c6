"""AdapterDrop (Rücklé et al. 2021): no adapters in the lowest n layers.

Fixed n: adapters exist only from layer n up. Nothing below is trainable, so TensorFlow's
gradient never walks the lower layers: training and inference get faster, not only smaller.
Sampled n (``sampled=True``): adapters in every layer; each training batch draws n uniformly
from [0, max_drop] and switches off the adapters below it, so one adapter works for any n;
inference uses the fixed ``drop_layers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import keras
from keras import ops

from classifier.adapters.bottleneck_adapters import BottleneckConfig, BottleneckModule
from classifier.adapters.config import AdapterConfigError, check_layers, register_adapter_kind
from classifier.adapters.sites import BackboneSites


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

    def build(self, sites: BackboneSites) -> BottleneckModule:
        check_layers(self.layers, sites.num_layers)
        if self.drop_layers >= sites.num_layers:
            raise AdapterConfigError(
                f"adapter_drop: dropping {self.drop_layers} layers leaves no adapter in a "
                f"{sites.num_layers}-layer backbone"
            )
        if self.sampled and not 0 <= self.max_dropped(sites.num_layers) < sites.num_layers:
            raise AdapterConfigError(f"adapter_drop: max_drop must be in [0, {sites.num_layers})")
        if not self.sampled and not self.adapted_layers(sites):
            raise AdapterConfigError("adapter_drop: no adapted layer is left above drop_layers")
        return AdapterDropModule(self, sites)


class AdapterDropModule(BottleneckModule):
    def __init__(self, config: AdapterDropConfig, sites: BackboneSites, **kwargs: Any):
        super().__init__(config, sites, **kwargs)
        # untracked: the layer of each position, and this forward pass's n
        self._call = SimpleNamespace(
            layer_of={s.position: s.layer_index for s in sites.sites},
            dropped=config.drop_layers,
        )
        if config.sampled:
            self.seed_generator = keras.random.SeedGenerator(config.seed)

    def begin_call(self, training: Any) -> None:
        """Draws this batch's n (sampled mode, training only); else the fixed n."""
        self._call.dropped = self.config.drop_layers
        if self.config.sampled and training:
            top = self.config.max_dropped(self.sites.num_layers)
            self._call.dropped = keras.random.randint((), 0, top + 1, seed=self.seed_generator)

    def gate(self, position: int, outputs) -> Any:
        dropped = self._call.dropped
        if isinstance(dropped, int):  # fixed n (dropped layers of fixed mode have no adapter)
            return 1.0 if self._call.layer_of[position] >= dropped else 0.0
        keep = ops.greater_equal(self._call.layer_of[position], dropped)
        return ops.cast(keep, outputs.dtype)
