"""AdapterModule: the adapter layers of one kind and how they plug into a backbone's hooks.

The module is a Keras layer owned by the AdaptedBackbone (so its weights are tracked, trained
and saved there); the backbone only ever sees plain callables in its HookTables, and only while
the AdaptedBackbone runs (see ``attached``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

from classifier.adapter_config.base import AdapterConfig
from classifier.adapters.sites import BackboneSites
from classifier.backbones.transformer_block import TransformerBlock


class AdapterModule(keras.layers.Layer):
    """Base of every kind's module. Subclasses create and build their layers in __init__.

    Hooks call ``adapt(point, position, inputs, outputs, training)``; ``run`` computes the
    backbone's outputs (K-Adapter changes them), ``begin_call`` sets per-forward state
    (AdapterDrop's sampled n).
    """

    hook_points: tuple[str, ...] = ()

    def __init__(self, config: AdapterConfig, sites: BackboneSites, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.sites = sites

    def build(self, input_shape=None):  # layers are built in __init__, at known sizes
        self.built = True

    # --- what is trained and saved ---
    def named_layers(self) -> dict[str, keras.layers.Layer]:
        """Every layer whose weights make up the adapter, under stable names (the file keys)."""
        raise NotImplementedError

    def backbone_trainable(self) -> list[keras.Variable]:
        """Backbone variables this kind trains too (Houlsby's LayerNorms); saved with it."""
        return []

    def initialize(self, adapted: keras.Model) -> None:
        """Kind-specific setup at training start (AdapterFusion loads its trained members)."""

    # --- forward ---
    def begin_call(self, training: Any) -> None:
        """Called once per forward pass before the backbone runs."""

    def adapt(self, point: str, position: int, inputs: Any, outputs: Any, training: Any) -> Any:
        return outputs

    def run(self, backbone: keras.Model, inputs: dict, training: Any) -> dict:
        return backbone(inputs, training=training)

    def run_packed(self, backbone: keras.Model, token_ids, segment_ids, training: Any) -> dict:
        """The padding-free path (ragged ids; hooks then see [tokens, hidden] activations)."""
        return backbone.packed_outputs(token_ids, segment_ids, training=training)

    def feature_size(self) -> int:
        """Width of the pooled_output the head sees."""
        return self.sites.hidden_size

    def make_hook(self, point: str, block: TransformerBlock):
        sites = self.sites

        def hook(inputs, outputs, training=None, layer_index=None):
            position = sites.position(block, layer_index)
            return self.adapt(point, position, inputs, outputs, training)

        return hook


@contextmanager
def attached(module: AdapterModule) -> Iterator[None]:
    """Registers ``module``'s hooks on every block for the duration of one forward pass.

    Hooks already in the tables are left alone; ours are removed afterwards even on error,
    so the bare backbone (or another task's adapters) never sees them.
    """
    added = []
    for block in module.sites.blocks:
        for point in module.hook_points:
            hook = module.make_hook(point, block)
            block.hooks.add(point, hook)
            added.append((block, point, hook))
    try:
        yield
    finally:
        for block, point, hook in added:
            block.hooks.remove(point, hook)
