"""Every backbone family and layout keeps the same contract (tests/support/contract.py)."""

from __future__ import annotations

import keras
import pytest

from classifier.backbones import build_backbone
from classifier.checkpoints.tiny import randomize_weights
from classifier.config import ModelConfig
from tests.support.contract import run_backbone_contract

SMALL = dict(vocab_size=120, hidden_size=32, num_attention_heads=4, intermediate_size=64)
CONFIGS = {
    "bert": ModelConfig(num_hidden_layers=2, **SMALL),
    "albert_google_grouped": ModelConfig(
        family="albert",
        embedding_size=16,
        num_hidden_layers=4,
        num_hidden_groups=2,
        inner_group_num=2,
        **SMALL,
    ),
    "albert_brightmart": ModelConfig(
        family="albert",
        embedding_size=16,
        num_hidden_layers=2,
        embedding_layout="brightmart",
        **SMALL,
    ),
    "albert_brightmart_preln": ModelConfig(
        family="albert",
        embedding_size=16,
        num_hidden_layers=2,
        embedding_layout="brightmart",
        ln_type="preln",
        **SMALL,
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_backbone_keeps_the_contract(name, tmp_path):
    keras.utils.set_random_seed(1)
    backbone = build_backbone(CONFIGS[name])
    randomize_weights(backbone, seed=3)  # identity LayerNorms and zero biases hide mistakes
    run_backbone_contract(backbone, CONFIGS[name].vocab_size, tmp_path)


def test_families_come_from_the_registry_and_own_their_ways():
    """build_backbone and every family question (checkpoint schemes, transformers classes, the
    masked-LM head's width) go through the registered class; an unknown family is named."""
    from classifier.backbones import (
        BACKBONES,
        AlbertBackbone,
        BertBackbone,
        backbone_class,
        build_backbone,
        family_of,
        register_backbone,
    )
    from classifier.config import ModelConfig

    assert {"bert": BertBackbone, "albert": AlbertBackbone} == BACKBONES
    bert = ModelConfig(vocab_size=40, hidden_size=32, num_attention_heads=2, num_hidden_layers=1)
    albert = ModelConfig(
        vocab_size=40,
        family="albert",
        hidden_size=32,
        embedding_size=16,
        num_attention_heads=2,
        num_hidden_layers=1,
    )
    assert family_of(bert) is BertBackbone and family_of(albert) is AlbertBackbone
    assert family_of(bert).output_scheme(bert, "hf") == "hf_bert"
    assert family_of(albert).output_scheme(albert, "tf1") == "google_albert_tf1"
    assert family_of(albert).mlm_transform_size(albert) == 16
    assert family_of(bert).hf_architectures["masked_lm"] == "BertForMaskedLM"
    assert isinstance(build_backbone(albert), AlbertBackbone)
    with pytest.raises(ValueError, match=r"no backbone for family 'nezha'; known: \['albert'"):
        backbone_class("nezha")
    with pytest.raises(ValueError, match="registered twice"):
        register_backbone("bert")(BertBackbone)
