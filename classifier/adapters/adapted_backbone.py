"""AdaptedBackbone: a frozen backbone plus one kind's adapters, with the backbone's interface.

Keras locks a built layer's state, and the backbone must not know about adapters, so the
adapters live here (tracked, trained and saved with this model) and reach into the backbone
only through its blocks' hook points, and only while this model runs. Inputs and outputs are
the backbone's (token_ids, segment_ids, padding_mask -> sequence_output, pooled_output), so a
TextClassifier takes an AdaptedBackbone wherever it takes a backbone.
"""

from __future__ import annotations

from typing import Any

import keras

from classifier.adapter_config.base import AdapterConfig, adapter_config_from_dict
from classifier.adapters.fingerprint import base_fingerprint as compute_fingerprint
from classifier.adapters.module import AdapterModule, attached
from classifier.adapters.sites import BackboneSites


def freeze_backbone(backbone: keras.Model, keep: list[keras.Variable]) -> None:
    """Marks every backbone variable frozen except ``keep``.

    Per-variable flags (layers keep trainable=True) give exact control: Keras' layer flag would
    hide a trainable LayerNorm inside a frozen block.
    """
    kept = {id(v) for v in keep}
    for variable in backbone.weights:
        variable.trainable = id(variable) in kept


@keras.saving.register_keras_serializable(package="classifier")
class AdaptedBackbone(keras.Model):
    """``backbone`` frozen, with the adapters of ``adapter`` (a config or its dict).

    ``base_fingerprint`` identifies the base weights (computed here when not given); a saved
    adapter records it, and loading refuses any other base.
    """

    def __init__(
        self,
        backbone: keras.Model,
        adapter: AdapterConfig | dict,
        base_fingerprint: str | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("name", f"adapted_{backbone.name}")
        super().__init__(dtype=backbone.dtype_policy, **kwargs)
        config = adapter_config_from_dict(adapter)
        self.backbone = backbone
        self.adapter_config = config
        self.base_fingerprint = base_fingerprint or compute_fingerprint(backbone)
        self.adapter: AdapterModule = config.build(BackboneSites(backbone))
        self.refreeze()
        self.built = True

    @property
    def sites(self) -> BackboneSites:
        return self.adapter.sites

    def refreeze(self) -> None:
        """Re-applies this adapter's trainable set to the (possibly shared) backbone."""
        freeze_backbone(self.backbone, self.adapter.backbone_trainable())

    def call(self, inputs, training=None):
        self.adapter.begin_call(training)
        with attached(self.adapter):
            return self.adapter.run(self.backbone, inputs, training)

    def packed_outputs(self, token_ids, segment_ids, training=False) -> dict:
        """The backbone's padding-free outputs (ragged ids), with the adapters."""
        self.adapter.begin_call(training)
        with attached(self.adapter):
            return self.adapter.run_packed(self.backbone, token_ids, segment_ids, training)

    def compute_output_spec(self, inputs, training=None):
        spec = self.backbone.compute_output_spec(inputs)
        batch = spec["pooled_output"].shape[0]
        width = self.adapter.feature_size()
        seq = spec["sequence_output"]
        return {
            "sequence_output": keras.KerasTensor((*seq.shape[:-1], width), dtype=seq.dtype),
            "pooled_output": keras.KerasTensor((batch, width), dtype=seq.dtype),
        }

    def adapter_weights(self) -> list[keras.Variable]:
        """The adapter's own weights (not the backbone's, not a head's)."""
        return [v for layer in self.adapter.named_layers().values() for v in layer.weights]

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "adapter": self.adapter_config.to_dict(),
            "base_fingerprint": self.base_fingerprint,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
