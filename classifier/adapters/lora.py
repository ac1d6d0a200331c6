"""LoRA (Hu et al. 2021): a rank-r update B·A on the query and value projections.

h = W x + (alpha / r) · B(A(dropout(x))), with A Kaiming-uniform and B zero (so the model is
unchanged at initialisation), as in PEFT. Mergeable: W + (alpha / r) · A·B folds into the
projection kernel for inference (see classifier.adapters.inference) wherever a block runs at a
single position (all of BERT; not ALBERT's shared blocks, which stay unmerged).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras
import numpy as np

from classifier.adapter_config.base import register_adapter_module
from classifier.adapter_config.lora import TARGETS, LoraConfig
from classifier.adapters.module import AdapterModule
from classifier.adapters.sites import BackboneSites


@keras.saving.register_keras_serializable(package="classifier")
class LoraUpdate(keras.layers.Layer):
    """scaling · B(A(dropout(x))): the low-rank update of one projection."""

    def __init__(
        self, in_size: int, out_size: int, rank: int, scaling: float, dropout: float = 0.0, **kw
    ):
        super().__init__(**kw)
        self.in_size, self.out_size, self.rank = in_size, out_size, rank
        self.scaling, self.dropout_rate = scaling, dropout
        kaiming = keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")
        self.lora_a = keras.layers.Dense(
            rank, use_bias=False, kernel_initializer=kaiming, name="lora_a", dtype=self.dtype_policy
        )
        self.lora_b = keras.layers.Dense(
            out_size,
            use_bias=False,
            kernel_initializer="zeros",
            name="lora_b",
            dtype=self.dtype_policy,
        )
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape=None):
        self.lora_a.build((None, None, self.in_size))
        self.lora_b.build((None, None, self.rank))

    def call(self, x, training=None):
        return self.lora_b(self.lora_a(self.dropout(x, training=training))) * self.scaling

    def merged_delta(self) -> np.ndarray:
        """The dense [in, out] update this layer is equivalent to (float64 for exactness)."""
        a = np.asarray(self.lora_a.kernel, np.float64)
        b = np.asarray(self.lora_b.kernel, np.float64)
        return self.scaling * (a @ b)

    def get_config(self):
        config = super().get_config()
        config.update(
            in_size=self.in_size,
            out_size=self.out_size,
            rank=self.rank,
            scaling=self.scaling,
            dropout=self.dropout_rate,
        )
        return config


@register_adapter_module("lora")
class LoraModule(AdapterModule):
    def __init__(self, config: LoraConfig, sites: BackboneSites, **kwargs: Any):
        super().__init__(
            config, sites, name="lora_adapters", dtype=sites.backbone.dtype_policy, **kwargs
        )
        self.hook_points = tuple(TARGETS[t][0] for t in config.targets)
        hidden = sites.hidden_size
        updates = {}
        by_site: dict[tuple[int, str], LoraUpdate] = {}
        for site in sites.at_layers(config.layers):
            for target in config.targets:
                key = f"p{site.position:02d}_{target}"
                layer = LoraUpdate(
                    hidden,
                    hidden,
                    config.rank,
                    config.scaling,
                    config.dropout,
                    name=key,
                    dtype=self.dtype_policy,
                )
                layer.build()
                updates[key] = layer
                by_site[(site.position, TARGETS[target][0])] = layer
        self.updates = updates
        self._index = SimpleNamespace(by_site=by_site)  # tuple keys: off TF's tracking

    def named_layers(self) -> dict[str, keras.layers.Layer]:
        return dict(self.updates)

    def site_updates(self) -> dict[tuple[int, str], LoraUpdate]:
        """(position, hook point) -> its update: what an exporter merges per block call
        (ALBERT's shared blocks included, where one kernel cannot hold every position's)."""
        return dict(self._index.by_site)

    def adapt(self, point, position, inputs, outputs, training):
        layer = self._index.by_site.get((position, point))
        if layer is None:
            return outputs
        return outputs + layer(inputs, training=training)

    def mergeable(self) -> bool:
        """Whether every adapted block runs at one position only (so one kernel can hold it)."""
        positions = {position for position, _ in self._index.by_site}
        for site in self.sites.sites:
            if site.position in positions and len(self.sites.positions_of_block(site.block)) > 1:
                return False
        return True

    def kernel_deltas(self) -> dict[str, np.ndarray]:
        """Backbone variable path -> the update to add to it when merging."""
        deltas: dict[str, np.ndarray] = {}
        for (position, point), layer in self._index.by_site.items():
            block = self.sites.sites[position].block
            attr = next(attr for p, attr in TARGETS.values() if p == point)
            kernel = getattr(block, attr).kernel
            deltas[kernel.path] = deltas.get(kernel.path, 0.0) + layer.merged_delta()
        return deltas
