"""AdapterDrop (Rücklé et al. 2021): no adapters in the lowest n layers.

Fixed n: adapters exist only from layer n up. Nothing below is trainable, so TensorFlow's
gradient never walks the lower layers: training and inference get faster, not only smaller.
Sampled n (``sampled=True``): adapters in every layer; each training batch draws n uniformly
from [0, max_drop] and switches off the adapters below it, so one adapter works for any n;
inference uses the fixed ``drop_layers``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras
from keras import ops

from classifier.adapter_config.base import register_adapter_module
from classifier.adapter_config.bottleneck import AdapterDropConfig
from classifier.adapters.bottleneck_adapters import BottleneckModule
from classifier.adapters.sites import BackboneSites


@register_adapter_module("adapter_drop")
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
