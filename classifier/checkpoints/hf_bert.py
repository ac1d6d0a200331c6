"""transformers' BertModel state-dict names (HFL's chinese-*-wwm*, MacBERT, rbt3 on the Hub).

PyTorch Linear weights are [out, in]; Keras Dense kernels are [in, out], hence the transposes.
Names are canonical (see hf_names): no "bert." prefix, LayerNorm.weight / LayerNorm.bias.
"""

from __future__ import annotations

import numpy as np

from classifier.checkpoints.schemes import CheckpointScheme, register_scheme
from classifier.checkpoints.weight_mapping import MappedWeight


def transpose(value: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(value.T)


def hf_dense(name: str, layer, optional: bool = False) -> list[MappedWeight]:
    """A Keras Dense as a torch Linear called ``name`` (weight transposed, bias as is)."""
    weight = MappedWeight(f"{name}.weight", layer.kernel, transpose, transpose, optional=optional)
    mapped = [weight]
    if layer.use_bias:
        mapped.append(MappedWeight(f"{name}.bias", layer.bias, optional=optional))
    return mapped


def hf_layer_norm(name: str, layer) -> list[MappedWeight]:
    return [
        MappedWeight(f"{name}.weight", layer.gamma),
        MappedWeight(f"{name}.bias", layer.beta),
    ]


def hf_block(block, prefix: str, names: dict[str, str]) -> list[MappedWeight]:
    """One TransformerBlock; ``names`` gives each sub-layer's module path under ``prefix``."""
    mapped = []
    for attr in ("query", "key", "value", "attention_output", "intermediate", "output_dense"):
        mapped += hf_dense(prefix + names[attr], getattr(block, attr))
    for attr in ("attention_layer_norm", "output_layer_norm"):
        mapped += hf_layer_norm(prefix + names[attr], getattr(block, attr))
    return mapped


def hf_embeddings(emb) -> list[MappedWeight]:
    """A BertEmbeddings layer as transformers' BertEmbeddings / AlbertEmbeddings."""
    return [
        MappedWeight("embeddings.word_embeddings.weight", emb.word_embeddings.embeddings),
        MappedWeight("embeddings.position_embeddings.weight", emb.position_embeddings),
        MappedWeight(
            "embeddings.token_type_embeddings.weight", emb.token_type_embeddings.embeddings
        ),
        *hf_layer_norm("embeddings.LayerNorm", emb.layer_norm),
    ]


HF_BERT_BLOCK_NAMES = {
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_output": "attention.output.dense",
    "attention_layer_norm": "attention.output.LayerNorm",
    "intermediate": "intermediate.dense",
    "output_dense": "output.dense",
    "output_layer_norm": "output.LayerNorm",
}


def hf_bert_mapping(backbone) -> list[MappedWeight]:
    mapped = hf_embeddings(backbone.embeddings)
    for i, block in enumerate(backbone.transformer_layers):
        mapped += hf_block(block, f"encoder.layer.{i}.", HF_BERT_BLOCK_NAMES)
    # BertForMaskedLM (the architecture of several Hub uploads) saves no pooler.
    return mapped + hf_dense("pooler.dense", backbone.pooler, optional=True)


HF_BERT = register_scheme(
    CheckpointScheme(
        name="hf_bert",
        family="bert",
        file_format="hf",
        description="transformers BertModel state dict (bert. prefix and heads allowed)",
        signature=(
            "embeddings.word_embeddings.weight",
            "encoder.layer.0.attention.self.query.weight",
        ),
        mapping=hf_bert_mapping,
    )
)
