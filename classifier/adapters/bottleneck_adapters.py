"""Bottleneck adapters at the blocks' output hook points: the base of Houlsby, Pfeiffer,
AdapterDrop and Compacter (which differ in placement, size, LayerNorm training and layers)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras

from classifier.adapter_config.base import register_adapter_module
from classifier.adapter_config.bottleneck import BOTTLENECK_POINTS, BottleneckConfig
from classifier.adapters.bottleneck import BottleneckAdapter
from classifier.adapters.module import AdapterModule
from classifier.adapters.sites import BackboneSites
from classifier.backbones.transformer_block import TransformerBlock

__all__ = ["BOTTLENECK_POINTS", "BottleneckModule", "layer_norm_variables", "site_key"]


def site_key(position: int, point: str) -> str:
    return f"p{position:02d}_{point}"


@register_adapter_module("houlsby", "pfeiffer")
class BottleneckModule(AdapterModule):
    """One bottleneck adapter per (site, point) of the configured layers and placement."""

    def __init__(self, config: BottleneckConfig, sites: BackboneSites, **kwargs: Any):
        dtype = sites.backbone.dtype_policy
        super().__init__(config, sites, name=f"{config.kind}_adapters", dtype=dtype, **kwargs)
        self.hook_points = tuple(config.placement)
        size = config.bottleneck_size(sites.hidden_size)
        self.bottleneck_size = size
        shared = self.make_shared(sites, dtype)
        if shared is not None:
            self.shared = shared
        adapters = {}
        for site in sites.at_layers(config.adapted_layers(sites)):
            for point in config.placement:
                key = site_key(site.position, point)
                layer = self.make_adapter(sites.hidden_size, size, key, shared, dtype)
                layer.build()
                adapters[key] = layer
        self.adapters = adapters
        # (position, point) -> layer; off TF's tracking (tuple keys cannot be checkpointed)
        self._index = SimpleNamespace()
        self._index.by_site = {
            (site.position, point): adapters[site_key(site.position, point)]
            for site in sites.sites
            for point in config.placement
            if site_key(site.position, point) in adapters
        }

    def make_adapter(
        self, hidden_size: int, size: int, name: str, shared: keras.layers.Layer | None, dtype
    ) -> keras.layers.Layer:
        return BottleneckAdapter(
            hidden_size,
            size,
            activation=self.config.activation,
            dropout=self.config.dropout,
            init_scale=self.config.init_scale,
            name=name,
            dtype=dtype,
        )

    def make_shared(self, sites: BackboneSites, dtype) -> keras.layers.Layer | None:
        """A layer whose weights every adapter shares (Compacter's PHM rules); None here."""
        return None

    def site_adapters(self) -> dict[tuple[int, str], keras.layers.Layer]:
        """(position, point) -> adapter layer: what AdapterFusion combines."""
        return dict(self._index.by_site)

    def named_layers(self) -> dict[str, keras.layers.Layer]:
        layers = dict(self.adapters)
        if hasattr(self, "shared"):
            layers["shared"] = self.shared
        return layers

    def adapted_blocks(self) -> list:
        positions = {position for position, _ in self._index.by_site}
        return [s.block for s in self.sites.sites if s.position in positions]

    def backbone_trainable(self) -> list[keras.Variable]:
        if not self.config.train_layer_norms:
            return []
        positions = {position for position, _ in self._index.by_site}
        first_layer = min(s.layer_index for s in self.sites.sites if s.position in positions)
        return layer_norm_variables(
            self.sites.backbone, self.adapted_blocks(), include_embeddings=first_layer == 0
        )

    def adapt(self, point, position, inputs, outputs, training):
        layer = self._index.by_site.get((position, point))
        gate = 0.0 if layer is None else self.gate(position, outputs)
        if isinstance(gate, float):
            return outputs if gate == 0.0 else outputs + layer.delta(outputs, training)
        return outputs + gate * layer.delta(outputs, training)

    def gate(self, position: int, outputs) -> Any:
        """Scales an adapter's contribution: 1.0, 0.0 (skipped) or a tensor (AdapterDrop's
        per-batch mask)."""
        return 1.0


def layer_norm_variables(
    backbone: keras.Model, blocks: list, include_embeddings: bool
) -> list[keras.Variable]:
    """The LayerNorm weights of ``blocks`` and, optionally, those outside any block."""
    chosen: dict[int, keras.Variable] = {}
    for block in blocks:
        for layer in block._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.LayerNormalization):
                for v in layer.weights:
                    chosen[id(v)] = v
    if include_embeddings:
        in_blocks = {
            id(v)
            for layer in backbone._flatten_layers()
            if isinstance(layer, TransformerBlock)
            for v in layer.weights
        }
        for layer in backbone._flatten_layers():
            if isinstance(layer, keras.layers.LayerNormalization):
                for v in layer.weights:
                    if id(v) not in in_blocks:
                        chosen[id(v)] = v
    order = {id(v): i for i, v in enumerate(backbone.weights)}
    return sorted(chosen.values(), key=lambda v: order[id(v)])
