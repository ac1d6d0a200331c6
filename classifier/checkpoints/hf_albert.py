"""transformers' AlbertModel state-dict names (Google's ALBERT converted to PyTorch, *_google).

AlbertModel is google-research/albert's architecture: embeddings of width E, then
encoder.embedding_hidden_mapping_in (E -> H, with bias), and num_hidden_groups groups of
inner_group_num layers, every group present in the state dict.
"""

from __future__ import annotations

import dataclasses

from classifier.checkpoints.hf_bert import hf_block, hf_dense, hf_embeddings
from classifier.checkpoints.schemes import CheckpointScheme, register_scheme
from classifier.checkpoints.weight_mapping import MappedWeight
from classifier.config import ConfigError, ModelConfig

HF_ALBERT_BLOCK_NAMES = {
    "query": "attention.query",
    "key": "attention.key",
    "value": "attention.value",
    "attention_output": "attention.dense",
    "attention_layer_norm": "attention.LayerNorm",
    "intermediate": "ffn",
    "output_dense": "ffn_output",
    "output_layer_norm": "full_layer_layer_norm",
}


def hf_albert_mapping(backbone) -> list[MappedWeight]:
    mapped = hf_embeddings(backbone.embeddings.embeddings)
    mapped += hf_dense("encoder.embedding_hidden_mapping_in", backbone.embeddings.projection)
    for g in range(backbone.num_hidden_groups):
        for j in range(backbone.inner_group_num):
            prefix = f"encoder.albert_layer_groups.{g}.albert_layers.{j}."
            mapped += hf_block(backbone.block(g, j), prefix, HF_ALBERT_BLOCK_NAMES)
    # AlbertForMaskedLM saves no pooler.
    return mapped + hf_dense("pooler", backbone.pooler, optional=True)


def hf_albert_config(config: ModelConfig) -> ModelConfig:
    if config.ln_type != "postln":
        raise ConfigError("transformers' AlbertModel is post-LayerNorm; the config says preln")
    return dataclasses.replace(config, embedding_layout="google")


HF_ALBERT = register_scheme(
    CheckpointScheme(
        name="hf_albert",
        family="albert",
        file_format="hf",
        description="transformers AlbertModel state dict (albert. prefix and heads allowed)",
        signature=(
            "embeddings.word_embeddings.weight",
            "encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight",
        ),
        mapping=hf_albert_mapping,
        adapt_config=hf_albert_config,
    )
)
