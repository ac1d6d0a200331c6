"""google-research/albert's TF1 variable names (Google's albert_*_zh, brightmart's *_google builds).

Only the groups some layer uses exist in the checkpoint (TF1 creates variables on first use), so
only those are mapped. When embedding_size equals hidden_size Google's code skips the E -> H
projection; the backbone keeps one, fixed to the identity.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from classifier.checkpoints.google_bert import block_tensors
from classifier.checkpoints.schemes import CheckpointScheme, register_scheme
from classifier.checkpoints.weight_mapping import MappedWeight
from classifier.config import ConfigError, ModelConfig

# Sub-layers of one TransformerBlock under bert/encoder/transformer/group_{g}/inner_group_{j}/.
# The two LayerNorms are created by unnamed layer_norm calls, hence TF1's LayerNorm, LayerNorm_1.
ALBERT_BLOCK_NAMES = {
    "query": "attention_1/self/query",
    "key": "attention_1/self/key",
    "value": "attention_1/self/value",
    "attention_output": "attention_1/output/dense",
    "attention_layer_norm": "LayerNorm",
    "intermediate": "ffn_1/intermediate/dense",
    "output_dense": "ffn_1/intermediate/output/dense",
    "output_layer_norm": "LayerNorm_1",
}


def embedding_tensors(backbone) -> list[MappedWeight]:
    """Word, position and token-type tables and the embedding LayerNorm under bert/embeddings."""
    emb = backbone.embeddings.embeddings
    return [
        MappedWeight("bert/embeddings/word_embeddings", emb.word_embeddings.embeddings),
        MappedWeight("bert/embeddings/token_type_embeddings", emb.token_type_embeddings.embeddings),
        MappedWeight("bert/embeddings/position_embeddings", emb.position_embeddings),
        MappedWeight("bert/embeddings/LayerNorm/gamma", emb.layer_norm.gamma),
        MappedWeight("bert/embeddings/LayerNorm/beta", emb.layer_norm.beta),
    ]


def pooler_tensors(backbone) -> list[MappedWeight]:
    return [
        MappedWeight("bert/pooler/dense/kernel", backbone.pooler.kernel),
        MappedWeight("bert/pooler/dense/bias", backbone.pooler.bias),
    ]


def google_albert_mapping(backbone) -> list[MappedWeight]:
    projection = backbone.embeddings.projection
    prefix = "bert/encoder/embedding_hidden_mapping_in/"
    identity = backbone.embedding_size == backbone.hidden_size
    size = backbone.hidden_size
    mapped = embedding_tensors(backbone)
    mapped.append(
        MappedWeight(
            prefix + "kernel",
            projection.kernel,
            default=(lambda: np.eye(size, dtype=np.float32)) if identity else None,
        )
    )
    mapped.append(
        MappedWeight(
            prefix + "bias",
            projection.bias,
            default=(lambda: np.zeros(size, np.float32)) if identity else None,
        )
    )
    for g in backbone.used_groups():
        for j in range(backbone.inner_group_num):
            scope = f"bert/encoder/transformer/group_{g}/inner_group_{j}/"
            mapped += block_tensors(backbone.block(g, j), scope, ALBERT_BLOCK_NAMES)
    return mapped + pooler_tensors(backbone)


def google_albert_config(config: ModelConfig) -> ModelConfig:
    if config.ln_type != "postln":
        raise ConfigError(
            f"the config says ln_type={config.ln_type!r}, but the checkpoint uses "
            "google-research/albert names, whose model is post-LayerNorm only"
        )
    return dataclasses.replace(config, embedding_layout="google")


GOOGLE_ALBERT_TF1 = register_scheme(
    CheckpointScheme(
        name="google_albert_tf1",
        family="albert",
        file_format="tf1",
        description="google-research/albert TF1 checkpoint (albert_*_zh, brightmart *_google)",
        signature=(
            "bert/embeddings/word_embeddings",
            "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel",
        ),
        mapping=google_albert_mapping,
        adapt_config=google_albert_config,
    )
)
