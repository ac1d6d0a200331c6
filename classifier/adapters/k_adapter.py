"""K-Adapter (Wang et al. 2021): knowledge adapters running beside a frozen model.

Each knowledge adapter is a chain of adapter layers attached at chosen backbone layers (the
paper: 0, 11, 23 of RoBERTa-large's 24; here by default the first, middle and last layer).
Adapter layer k reads the backbone's hidden state after its layer plus the previous adapter
layer's output (microsoft/K-Adapter adds them: ``hidden_states[layer] + hidden_states_last``)
and computes x + up(transformer_layers(down(x))). The head's feature is the concatenation of
the backbone's own feature and each knowledge adapter's last output (at [CLS]); several
knowledge adapters' features concatenate. The backbone is run untouched (no hooks), so its
part of the feature is exactly the base model's. Unlike microsoft/K-Adapter, the adapter's
self-attention honours the padding mask; its up-projection starts at zero.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from classifier.adapter_config.base import AdapterConfig, check_layers, register_adapter_module
from classifier.adapter_config.k_adapter import KAdapterConfig
from classifier.adapters.module import AdapterModule
from classifier.adapters.sites import BackboneSites
from classifier.backbones.packing import packed_encoder, ragged_tokens
from classifier.backbones.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="classifier")
class KnowledgeAdapterLayer(keras.layers.Layer):
    """x + up(N transformer layers(down(x))), at the backbone's hidden width."""

    def __init__(
        self,
        hidden_size: int,
        size: int,
        num_transformer_layers: int,
        num_attention_heads: int,
        intermediate_size: int,
        dropout: float = 0.1,
        activation: str = "gelu_tanh",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size, self.size = hidden_size, size
        init = keras.initializers.TruncatedNormal(stddev=0.02)
        self.down = keras.layers.Dense(
            size, kernel_initializer=init, name="down", dtype=self.dtype_policy
        )
        self.blocks = [
            TransformerBlock(
                hidden_size=size,
                num_attention_heads=num_attention_heads,
                intermediate_size=intermediate_size,
                hidden_act=activation,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
                name=f"transformer_{i}",
                dtype=self.dtype_policy,
            )
            for i in range(num_transformer_layers)
        ]
        self.up = keras.layers.Dense(
            hidden_size, kernel_initializer="zeros", name="up", dtype=self.dtype_policy
        )

    def build(self, input_shape=None):
        self.down.build((None, None, self.hidden_size))
        for block in self.blocks:
            block.build((None, None, self.size))
        self.up.build((None, None, self.size))

    def call(self, x, padding_mask, training=None, packed=None):
        """``packed``: a PackedPlan when ``x`` is [tokens, hidden] (padding-free execution)."""
        h = self.down(x)
        for block in self.blocks:
            h = block(h, padding_mask, training=training, packed=packed)
        return x + self.up(h)


class KnowledgeChainsModule(AdapterModule):
    """Chains of knowledge adapter layers beside the backbone, each with its own settings.

    ``chains`` lists (name, KAdapterConfig) pairs; chain k's layer j attaches at backbone layer
    ``attach[j]`` and is stored under ``{name}_layer{j}_at{layer:02d}``. The backbone runs
    through a tap model that also returns the attached layers' states; the head's feature is
    the backbone's own feature followed by every chain's last output.
    """

    def __init__(
        self,
        config: AdapterConfig,
        sites: BackboneSites,
        chains: list[tuple[str, KAdapterConfig]],
        **kwargs: Any,
    ):
        super().__init__(config, sites, dtype=sites.backbone.dtype_policy, **kwargs)
        hidden = sites.hidden_size
        layers = {}
        chain_layers = []
        for name, chain_config in chains:
            check_layers(chain_config.layers, sites.num_layers)
            size = chain_config.adapter_size(hidden)
            heads = chain_config.heads(size)
            attach = chain_config.attach_layers(sites.num_layers)
            chain = []
            for j, layer_index in enumerate(attach):
                key = f"{name}_layer{j}_at{layer_index:02d}"
                layer = KnowledgeAdapterLayer(
                    hidden,
                    size,
                    chain_config.num_transformer_layers,
                    heads,
                    chain_config.intermediate_size or 4 * size,
                    dropout=chain_config.dropout,
                    activation=chain_config.activation,
                    name=key,
                    dtype=self.dtype_policy,
                )
                layer.build()
                layers[key] = layer
                chain.append((layer_index, layer))
            chain_layers.append(chain)
        self.adapter_layers = layers
        self.attach = tuple(sorted({i for chain in chain_layers for i, _ in chain}))
        backbone = sites.backbone
        outputs = dict(backbone.output)
        outputs.update({f"layer_{i}": sites.layer_output(i) for i in self.attach})
        # A functional view of the backbone's own graph (same layers, same weights) that also
        # returns the attached layers' hidden states; held off Keras' tracking, since its
        # weights are the backbone's.
        self._view = SimpleNamespace(
            taps=keras.Model(backbone.input, outputs, name=f"{backbone.name}_taps"),
            chains=chain_layers,  # the same layers, in chain order (tracked via adapter_layers)
        )

    def named_layers(self) -> dict[str, keras.layers.Layer]:
        return dict(self.adapter_layers)

    def feature_size(self) -> int:
        return self.sites.hidden_size * (1 + len(self._view.chains))

    def _knowledge(self, states: dict, mask, training, packed=None) -> list:
        """Each chain's last output, from the backbone's states per layer."""
        outputs = []
        for chain in self._view.chains:
            previous = None
            for layer_index, layer in chain:
                state = states[f"layer_{layer_index}"]
                x = state if previous is None else state + previous
                previous = layer(x, mask, training=training, packed=packed)
            outputs.append(previous)
        return outputs

    def run(self, backbone, inputs, training):
        taps = self._view.taps(inputs, training=training)
        knowledge = self._knowledge(taps, inputs["padding_mask"], training)
        return {
            "sequence_output": ops.concatenate([taps["sequence_output"], *knowledge], axis=-1),
            "pooled_output": ops.concatenate(
                [taps["pooled_output"], *(k[:, 0, :] for k in knowledge)], axis=-1
            ),
        }

    def run_packed(self, backbone, token_ids, segment_ids, training):
        """As packed_backbone_outputs, keeping the attached layers' states on the way."""
        states = {}

        def keep(layer_index, x):
            states[f"layer_{layer_index}"] = x  # the last block call of the layer wins

        x, plan = packed_encoder(backbone, token_ids, segment_ids, training, on_layer=keep)
        knowledge = self._knowledge(states, None, training, packed=plan)
        pooled = [backbone.pooler(tf.gather(x, plan.first_token))]
        pooled += [tf.gather(k, plan.first_token) for k in knowledge]
        return {
            "sequence_output": ragged_tokens(tf.concat([x, *knowledge], axis=-1), plan),
            "pooled_output": tf.concat(pooled, axis=-1),
        }


@register_adapter_module("k_adapter")
class KAdapterModule(KnowledgeChainsModule):
    """``count`` knowledge adapters of one configuration, trained with the downstream head."""

    def __init__(self, config: KAdapterConfig, sites: BackboneSites, **kwargs: Any):
        chains = [(f"knowledge{k}", config) for k in range(config.count)]
        super().__init__(config, sites, chains, name="k_adapter_adapters", **kwargs)
