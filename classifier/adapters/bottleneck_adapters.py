"""Bottleneck adapters at the blocks' output hook points: the base of Houlsby, Pfeiffer,
AdapterDrop and Compacter (which differ in placement, size, LayerNorm training and layers)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import keras

from classifier.adapters.bottleneck import BottleneckAdapter
from classifier.adapters.config import AdapterConfig, AdapterConfigError, check_layers
from classifier.adapters.module import AdapterModule
from classifier.adapters.sites import BackboneSites
from classifier.backbones.transformer_block import TransformerBlock
from classifier.config import ACTIVATIONS

BOTTLENECK_POINTS = ("attention_output", "ffn_output")


def site_key(position: int, point: str) -> str:
    return f"p{position:02d}_{point}"


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

    def make_adapter(
        self, hidden_size: int, size: int, name: str, shared: keras.layers.Layer | None, dtype
    ) -> keras.layers.Layer:
        return BottleneckAdapter(
            hidden_size,
            size,
            activation=self.activation,
            dropout=self.dropout,
            init_scale=self.init_scale,
            name=name,
            dtype=dtype,
        )

    def make_shared(self, sites: BackboneSites, dtype) -> keras.layers.Layer | None:
        """A layer whose weights every adapter shares (Compacter's PHM rules); None here."""
        return None

    def build(self, sites: BackboneSites) -> BottleneckModule:
        check_layers(self.layers, sites.num_layers)
        return BottleneckModule(self, sites)


class BottleneckModule(AdapterModule):
    """One bottleneck adapter per (site, point) of the configured layers and placement."""

    def __init__(self, config: BottleneckConfig, sites: BackboneSites, **kwargs: Any):
        dtype = sites.backbone.dtype_policy
        super().__init__(config, sites, name=f"{config.kind}_adapters", dtype=dtype, **kwargs)
        self.hook_points = tuple(config.placement)
        size = config.bottleneck_size(sites.hidden_size)
        self.bottleneck_size = size
        shared = config.make_shared(sites, dtype)
        if shared is not None:
            self.shared = shared
        adapters = {}
        for site in sites.at_layers(config.adapted_layers(sites)):
            for point in config.placement:
                key = site_key(site.position, point)
                layer = config.make_adapter(sites.hidden_size, size, key, shared, dtype)
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
