"""AlbertBackbone: sharing, layer indices for hooks, config and weights round trips."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from classifier.backbones import AlbertBackbone, build_backbone
from classifier.config import ConfigError, ModelConfig
from tests.support.samples import padded_batch


def albert_config(**overrides) -> ModelConfig:
    values = dict(
        family="albert",
        vocab_size=40,
        hidden_size=32,
        embedding_size=16,
        num_hidden_layers=4,
        num_hidden_groups=2,
        inner_group_num=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    return ModelConfig(**{**values, **overrides})


def inputs(vocab_size: int = 40) -> dict[str, np.ndarray]:
    token_ids, segment_ids, mask = padded_batch(vocab_size)
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}


def test_blocks_are_shared_by_group():
    backbone = build_backbone(albert_config())
    assert isinstance(backbone, AlbertBackbone)
    assert len(backbone.transformer_blocks) == 4  # 2 groups x 2 inner blocks, for 4 layers
    assert backbone.block(1, 0) is backbone.transformer_blocks[2]
    assert backbone.used_groups() == [0, 1]
    # 7 embedding/projection + 16 per block + 2 pooler
    assert len(backbone.weights) == 7 + 16 * 4 + 2


def test_hooks_see_the_layer_position_at_every_application():
    backbone = build_backbone(albert_config())
    seen = []

    def hook(inputs, outputs, training=None, layer_index=None):
        seen.append(layer_index)
        return outputs

    for block in backbone.transformer_blocks:
        block.hooks.add("ffn_output", hook)
    backbone(inputs(), training=False)
    # layers 0, 1 run group 0 (inner blocks 0 and 1); layers 2, 3 run group 1
    assert seen == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    "layout, ln_type", [("google", "postln"), ("brightmart", "postln"), ("brightmart", "preln")]
)
def test_config_and_weights_round_trip(tmp_path, layout, ln_type):
    config = albert_config(embedding_layout=layout, ln_type=ln_type, num_hidden_groups=1)
    backbone = build_backbone(config)
    rebuilt = AlbertBackbone.from_config(backbone.get_config())
    assert rebuilt.get_config() == backbone.get_config()
    path = tmp_path / "backbone.weights.h5"
    backbone.save_weights(path)
    again = build_backbone(ModelConfig.from_dict(config.to_dict()))
    again.load_weights(path)
    a = backbone(inputs(), training=False)["pooled_output"]
    b = again(inputs(), training=False)["pooled_output"]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_serialized_model_round_trip():
    backbone = build_backbone(albert_config(embedding_layout="brightmart"))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(backbone))
    assert isinstance(restored, AlbertBackbone)
    assert restored.embedding_layout == "brightmart"


def test_brightmart_projection_has_no_bias():
    google = build_backbone(albert_config(embedding_layout="google"))
    brightmart = build_backbone(albert_config(embedding_layout="brightmart"))
    assert google.embeddings.projection.use_bias
    assert not brightmart.embeddings.projection.use_bias
    assert brightmart.embeddings.embeddings.position_embeddings.shape == (512, 32)
    assert google.embeddings.embeddings.position_embeddings.shape == (512, 16)


def test_model_config_formats():
    google = albert_config()
    assert "ln_type" not in google.to_google_dict()
    assert "embedding_layout" not in google.to_google_dict()
    brightmart = dataclasses.replace(google, embedding_layout="brightmart", num_hidden_groups=1)
    assert brightmart.to_google_dict()["ln_type"] == "postln"
    assert ModelConfig.from_dict(brightmart.to_dict()) == brightmart
    hf = google.to_hf_dict()
    assert hf["model_type"] == "albert" and hf["hidden_act"] == "gelu_new"
    with pytest.raises(ConfigError, match="no transformers AlbertModel equivalent"):
        brightmart.to_hf_dict()
    with pytest.raises(ConfigError, match="embedding_layout"):
        albert_config(embedding_layout="other")


def test_adapter_sites_see_every_application_of_the_shared_blocks():
    sites_module = pytest.importorskip("classifier.adapters.sites")
    backbone = build_backbone(albert_config())
    sites = sites_module.BackboneSites(backbone)
    assert [s.layer_index for s in sites.sites] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(sites.blocks) == 4
    assert sites.num_layers == 4
