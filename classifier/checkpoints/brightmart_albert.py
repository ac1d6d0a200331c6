"""brightmart/albert_zh's TF1 variable names (albert_tiny_zh, albert_base_zh, albert_large_zh, ...).

albert_zh projects the word vectors first (bert/embeddings/word_embeddings_2, E x H, no bias),
then adds position and token-type tables of width H; one block, bert/encoder/layer_shared, is
shared by every layer, under BERT's sub-layer names. The same names serve its post-LN
(modeling.py transformer_model) and pre-LN (prelln_transformer_model) variants: in pre-LN,
attention/output/LayerNorm normalises the block input before attention and output/LayerNorm the
attention result before the FFN. Which one a checkpoint is can only be read from the config's
ln_type (absent means postln, as albert_zh's own code).
"""

from __future__ import annotations

import dataclasses

from classifier.checkpoints.google_albert import embedding_tensors, pooler_tensors
from classifier.checkpoints.google_bert import BERT_BLOCK_NAMES, block_tensors
from classifier.checkpoints.schemes import CheckpointScheme, register_scheme
from classifier.checkpoints.weight_mapping import MappedWeight
from classifier.config import ConfigError, ModelConfig


def brightmart_albert_mapping(backbone) -> list[MappedWeight]:
    mapped = embedding_tensors(backbone)
    mapped.append(
        MappedWeight("bert/embeddings/word_embeddings_2", backbone.embeddings.projection.kernel)
    )
    mapped += block_tensors(backbone.block(0, 0), "bert/encoder/layer_shared/", BERT_BLOCK_NAMES)
    return mapped + pooler_tensors(backbone)


def brightmart_albert_config(config: ModelConfig) -> ModelConfig:
    if config.num_hidden_groups != 1 or config.inner_group_num != 1:
        raise ConfigError(
            "the checkpoint uses brightmart/albert_zh names (one block, layer_shared, shared by "
            f"all layers) but the config asks for num_hidden_groups={config.num_hidden_groups}, "
            f"inner_group_num={config.inner_group_num}"
        )
    return dataclasses.replace(config, embedding_layout="brightmart")


BRIGHTMART_ALBERT_TF1 = register_scheme(
    CheckpointScheme(
        name="brightmart_albert_tf1",
        family="albert",
        file_format="tf1",
        description="brightmart/albert_zh TF1 checkpoint (albert_tiny_zh, albert_base_zh, ...)",
        signature=(
            "bert/embeddings/word_embeddings_2",
            "bert/encoder/layer_shared/attention/self/query/kernel",
        ),
        mapping=brightmart_albert_mapping,
        adapt_config=brightmart_albert_config,
    )
)
