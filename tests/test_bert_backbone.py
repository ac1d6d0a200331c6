"""The BERT backbone: hook points, GELU forms and the all-or-nothing checkpoint mapping (the
contract every backbone keeps is in test_backbone_contract.py)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from classifier.backbones import build_backbone
from classifier.checkpoints import CheckpointMismatchError, load_mapped_weights
from classifier.checkpoints.google_bert import google_bert_mapping
from classifier.checkpoints.weight_mapping import export_mapped_weights
from classifier.config import GELU_EXACT, GELU_TANH, ModelConfig

CONFIG = ModelConfig(
    vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
)


def inputs(lengths: list[int], width: int | None = None, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    width = width or max(lengths)
    ids = np.zeros((len(lengths), width), np.int32)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, CONFIG.vocab_size, n)
        mask[row, :n] = 1
    segments = np.zeros_like(ids)
    segments[:, 3:] = mask[:, 3:]  # a second segment from the fourth token on
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


@pytest.fixture(scope="module")
def backbone():
    keras.utils.set_random_seed(1)
    model = build_backbone(CONFIG)
    from classifier.checkpoints.tiny import randomize_weights

    randomize_weights(model, seed=3)
    return model


def test_hook_points_act_only_while_filled(backbone):
    x = inputs([6, 6])
    base = backbone(x, training=False)["pooled_output"]
    seen = []

    def scale(block_inputs, outputs, training=None, layer_index=None):
        seen.append(layer_index)
        return outputs * 0.5

    block = backbone.transformer_layers[1]
    block.hooks.add("ffn_output", scale)
    try:
        changed = backbone(x, training=False)["pooled_output"]
    finally:
        block.hooks.remove("ffn_output", scale)
    assert seen == [1]
    assert np.abs(np.asarray(changed) - np.asarray(base)).max() > 1e-4
    np.testing.assert_array_equal(backbone(x, training=False)["pooled_output"], base)
    with pytest.raises(ValueError, match="unknown hook point"):
        block.hooks.add("after_everything", scale)


def test_google_gelu_is_the_tanh_form_and_hf_gelu_the_exact_one(tmp_path):
    google = tmp_path / "bert_config.json"
    google.write_text(json.dumps({**CONFIG.to_google_dict(), "hidden_act": "gelu"}))
    assert ModelConfig.from_google_json(google).hidden_act == GELU_TANH
    hf = tmp_path / "config.json"
    hf.write_text(json.dumps({**CONFIG.to_google_dict(), "model_type": "bert"}))
    assert ModelConfig.from_hf_json(hf).hidden_act == GELU_EXACT


def test_mapping_is_all_or_nothing_and_names_what_is_missing(backbone):
    mapping = google_bert_mapping(backbone)
    tensors = export_mapped_weights(mapping)
    before = [w.numpy().copy() for w in backbone.weights]
    broken = {name: value + 1.0 for name, value in tensors.items()}
    del broken["bert/encoder/layer_1/attention/self/key/bias"]
    broken["bert/pooler/dense/kernel"] = np.zeros((3, 3), np.float32)
    with pytest.raises(CheckpointMismatchError) as err:
        load_mapped_weights(mapping, broken, "ckpt")
    message = str(err.value)
    assert "bert/encoder/layer_1/attention/self/key/bias" in message
    assert "bert/pooler/dense/kernel: checkpoint (3, 3) vs model (32, 32)" in message
    for variable, value in zip(backbone.weights, before, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_mapping_skips_optimizer_slots_and_heads_and_reports_leftovers(backbone):
    mapping = google_bert_mapping(backbone)
    tensors = export_mapped_weights(mapping)
    extra = {
        "bert/pooler/dense/kernel/adam_m": np.zeros((32, 32)),
        "global_step": np.array(3),
        "cls/predictions/output_bias": np.zeros(120),
        "output_weights": np.zeros((2, 32)),
    }
    report = load_mapped_weights(mapping, {**tensors, **extra}, "ckpt")
    assert report.skipped_optimizer == ["bert/pooler/dense/kernel/adam_m", "global_step"]
    assert report.skipped_heads == ["cls/predictions/output_bias"]
    assert report.unexpected == ["output_weights"]
    with pytest.raises(CheckpointMismatchError, match="output_weights"):
        load_mapped_weights(mapping, {**tensors, **extra}, "ckpt", allow_unexpected=False)


def test_a_registered_family_format_reads_and_writes_its_own_fields(tmp_path, monkeypatch):
    """A new family (NEZHA's relative positions, say) declares its config fields in its
    FamilyFormat; ModelConfig reads them from config.json and writes them back without a
    family test in config.py."""
    from classifier import config as config_module
    from classifier.config import ConfigError, FamilyFormat, ModelConfig

    toy = FamilyFormat(
        "toy_nezha",
        hf_architecture="NezhaModel",
        hf_defaults={"hidden_act": "gelu"},
        fields={"max_relative_position": 64},
    )
    monkeypatch.setitem(config_module.FAMILY_FORMATS, "toy_nezha", toy)
    path = tmp_path / "config.json"
    path.write_text(
        '{"model_type": "toy_nezha", "vocab_size": 50, "hidden_size": 32, '
        '"num_hidden_layers": 2, "num_attention_heads": 2, "max_relative_position": 32}'
    )
    config = ModelConfig.from_hf_json(path)
    assert config.family == "toy_nezha"
    assert config.extra["max_relative_position"] == 32
    written = config.to_hf_dict()
    assert written["architectures"] == ["NezhaModel"]
    assert written["max_relative_position"] == 32
    assert "embedding_size" not in written  # ALBERT's field is not this family's
    assert ModelConfig.from_dict(config.to_dict()).extra["max_relative_position"] == 32
    with pytest.raises(ConfigError, match="family must be one of"):
        ModelConfig(vocab_size=10, family="nope")


def test_a_family_field_outside_model_config_reaches_the_constructor(monkeypatch):
    """constructor_fields takes a registered family's own field from config.extra, or its
    declared default, so a new family needs no ModelConfig attribute."""
    from classifier import config as config_module
    from classifier.backbones import BertBackbone
    from classifier.config import FamilyFormat, ModelConfig

    toy = FamilyFormat("toy_rel", "ToyModel", {}, fields={"max_relative_position": 64})
    monkeypatch.setitem(config_module.FAMILY_FORMATS, "toy_rel", toy)

    class ToyBackbone(BertBackbone):
        family = "toy_rel"
        config_fields = (*BertBackbone.config_fields, "max_relative_position")

    given = ModelConfig(vocab_size=10, family="toy_rel", extra={"max_relative_position": 16})
    assert ToyBackbone.constructor_fields(given)["max_relative_position"] == 16
    default = ModelConfig(vocab_size=10, family="toy_rel")
    assert ToyBackbone.constructor_fields(default)["max_relative_position"] == 64
