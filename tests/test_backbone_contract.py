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
