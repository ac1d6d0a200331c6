"""AdapterFusion (Pfeiffer et al. 2021): attention over several trained bottleneck adapters.

At every hook point where the members have adapters, the layer's output is the query and
each member's contribution (its up-projection, before its residual) is a key and a value:
out = h + sum_n softmax_n(Q(h) . K(up_n) / T) V(up_n), as adapter-hub's BertFusion with
residual_before=False. V starts at the identity (adapter-hub adds 1e-6 off the diagonal;
we keep it exact), so with identical members the fusion equals the single adapter. Members
are loaded from earlier runs' saved adapters on the same base and frozen: only the fusion
layers and the head train. Members must leave the backbone's LayerNorms untouched (Pfeiffer,
AdapterDrop, Compacter, or Houlsby trained with train_layer_norms=False).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keras
from keras import ops

from classifier.adapter_config.base import adapter_config_from_dict, register_adapter_module
from classifier.adapter_config.fusion import FusionConfig
from classifier.adapter_config.saved_adapter import BaseModelMismatchError, short
from classifier.adapters.bottleneck_adapters import BottleneckModule
from classifier.adapters.module import AdapterModule
from classifier.adapters.sites import BackboneSites
from classifier.adapters.storage import assign_tensors, read_adapter_tensors


@keras.saving.register_keras_serializable(package="classifier")
class AdapterFusionLayer(keras.layers.Layer):
    """h + sum_n softmax_n(Q(h) . K(u_n) / T) V(u_n) over the members' contributions u_n."""

    def __init__(
        self,
        hidden_size: int,
        num_members: int,
        temperature: float = 1.0,
        dropout: float = 0.0,
        **kw,
    ):
        super().__init__(**kw)
        self.hidden_size, self.temperature, self.dropout_rate = hidden_size, temperature, dropout
        self.num_members = num_members
        normal = keras.initializers.TruncatedNormal(stddev=0.02)
        if num_members > 1:  # one member: the softmax is 1, no query/key to learn
            self.query = keras.layers.Dense(
                hidden_size, kernel_initializer=normal, name="query", dtype=self.dtype_policy
            )
            self.key = keras.layers.Dense(
                hidden_size, kernel_initializer=normal, name="key", dtype=self.dtype_policy
            )
        self.value = keras.layers.Dense(
            hidden_size,
            use_bias=False,
            kernel_initializer=keras.initializers.Identity(),
            name="value",
            dtype=self.dtype_policy,
        )
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape=None):
        layers = (self.query, self.key, self.value) if self.num_members > 1 else (self.value,)
        for layer in layers:
            layer.build((None, self.hidden_size))

    def call(self, hidden, contributions, training=None):
        """hidden [..., H]; contributions [..., N, H] (padded [B, S] or packed [T] tokens)."""
        if self.num_members == 1:
            return hidden + self.value(contributions[..., 0, :])
        q = self.query(hidden)
        k = self.key(contributions)
        v = self.value(contributions)
        scores = ops.einsum("...h,...nh->...n", q, k)
        scores = self.dropout(scores, training=training)
        probs = ops.softmax(scores / self.temperature, axis=-1)
        return hidden + ops.einsum("...n,...nh->...h", probs, v)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            num_members=self.num_members,
            temperature=self.temperature,
            dropout=self.dropout_rate,
        )
        return config


@register_adapter_module("fusion")
class FusionModule(AdapterModule):
    def __init__(self, config: FusionConfig, sites: BackboneSites, **kwargs: Any):
        super().__init__(
            config, sites, name="fusion_adapters", dtype=sites.backbone.dtype_policy, **kwargs
        )
        members: list[BottleneckModule] = []
        for member in config.members:
            module = adapter_config_from_dict(member["adapter"]).build(sites)
            module.trainable = False  # trained already; only the fusion layers learn
            members.append(module)
        self.members = members
        # (position, point) -> layer per member; off TF's tracking (tuple keys)
        self._index = SimpleNamespace(member_sites=[m.site_adapters() for m in members])
        points = sorted({key for sites_ in self._index.member_sites for key in sites_})
        fusions = {}
        for position, point in points:
            key = f"p{position:02d}_{point}"
            present = sum((position, point) in s for s in self._index.member_sites)
            layer = AdapterFusionLayer(
                sites.hidden_size,
                present,
                config.temperature,
                config.dropout,
                name=key,
                dtype=self.dtype_policy,
            )
            layer.build()
            fusions[key] = layer
        self.fusions = fusions
        self.hook_points = tuple(
            p for p in ("attention_output", "ffn_output") if any(p == q for _, q in points)
        )

    def named_layers(self) -> dict[str, keras.layers.Layer]:
        layers = {}
        for i, member in enumerate(self.members):
            for key, layer in member.named_layers().items():
                layers[f"member{i}/{key}"] = layer
        for key, layer in self.fusions.items():
            layers[f"fusion/{key}"] = layer
        return layers

    def adapt(self, point, position, inputs, outputs, training):
        adapters = [
            s[(position, point)] for s in self._index.member_sites if (position, point) in s
        ]
        if not adapters:
            return outputs
        contributions = ops.stack([a.delta(outputs, training) for a in adapters], axis=-2)
        return self.fusions[f"p{position:02d}_{point}"](outputs, contributions, training=training)

    def initialize(self, adapted: keras.Model) -> None:
        """Loads every member's trained weights from its folder (same base required)."""
        for i, (member, module) in enumerate(zip(self.config.members, self.members, strict=True)):
            folder = Path(member["path"])
            if member["base_fingerprint"] != adapted.base_fingerprint:
                raise BaseModelMismatchError(
                    f"fusion member {folder} was trained on base {short(member['base_fingerprint'])}"
                    f", not on this backbone ({short(adapted.base_fingerprint)})"
                )
            tensors = read_adapter_tensors(folder)
            layers = {f"adapter/{k}": layer for k, layer in module.named_layers().items()}
            assign_tensors(layers, tensors, source=f"fusion member {i} ({folder})", partial=True)
