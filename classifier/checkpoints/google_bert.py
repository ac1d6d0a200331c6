"""google-research/bert's TF1 variable names (also HFL's BERT-wwm, RoBERTa-wwm-ext, MacBERT)."""

from __future__ import annotations

from classifier.checkpoints.schemes import CheckpointScheme, register_scheme
from classifier.checkpoints.weight_mapping import MappedWeight


def block_tensors(block, prefix: str, names: dict[str, str]) -> list[MappedWeight]:
    """Maps one TransformerBlock's Dense and LayerNorm weights under ``prefix``.

    ``names`` gives, for each sub-layer of the block, its scope in the checkpoint; dense layers
    carry kernel/bias, LayerNorms gamma/beta (TF1 naming; kernels are [in, out] like Keras).
    """
    dense = ("query", "key", "value", "attention_output", "intermediate", "output_dense")
    norms = ("attention_layer_norm", "output_layer_norm")
    mapped = []
    for attr in dense:
        layer = getattr(block, attr)
        mapped.append(MappedWeight(f"{prefix}{names[attr]}/kernel", layer.kernel))
        mapped.append(MappedWeight(f"{prefix}{names[attr]}/bias", layer.bias))
    for attr in norms:
        layer = getattr(block, attr)
        mapped.append(MappedWeight(f"{prefix}{names[attr]}/gamma", layer.gamma))
        mapped.append(MappedWeight(f"{prefix}{names[attr]}/beta", layer.beta))
    return mapped


BERT_BLOCK_NAMES = {
    "query": "attention/self/query",
    "key": "attention/self/key",
    "value": "attention/self/value",
    "attention_output": "attention/output/dense",
    "attention_layer_norm": "attention/output/LayerNorm",
    "intermediate": "intermediate/dense",
    "output_dense": "output/dense",
    "output_layer_norm": "output/LayerNorm",
}


def google_bert_mapping(backbone) -> list[MappedWeight]:
    emb = backbone.embeddings
    mapped = [
        MappedWeight("bert/embeddings/word_embeddings", emb.word_embeddings.embeddings),
        MappedWeight("bert/embeddings/token_type_embeddings", emb.token_type_embeddings.embeddings),
        MappedWeight("bert/embeddings/position_embeddings", emb.position_embeddings),
        MappedWeight("bert/embeddings/LayerNorm/gamma", emb.layer_norm.gamma),
        MappedWeight("bert/embeddings/LayerNorm/beta", emb.layer_norm.beta),
    ]
    for i, block in enumerate(backbone.transformer_layers):
        mapped += block_tensors(block, f"bert/encoder/layer_{i}/", BERT_BLOCK_NAMES)
    mapped.append(MappedWeight("bert/pooler/dense/kernel", backbone.pooler.kernel))
    mapped.append(MappedWeight("bert/pooler/dense/bias", backbone.pooler.bias))
    return mapped


GOOGLE_BERT_TF1 = register_scheme(
    CheckpointScheme(
        name="google_bert_tf1",
        family="bert",
        file_format="tf1",
        description="google-research/bert TF1 checkpoint (BERT, BERT-wwm, RoBERTa-wwm-ext, MacBERT)",
        signature=(
            "bert/embeddings/word_embeddings",
            "bert/encoder/layer_0/attention/self/query/kernel",
        ),
        mapping=google_bert_mapping,
    )
)
