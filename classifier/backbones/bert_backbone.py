"""The BERT backbone: serves Google BERT, BERT-wwm, RoBERTa-wwm-ext and MacBERT alike."""

from __future__ import annotations

import keras

from classifier.backbones.backbone import Backbone, backbone_inputs, register_backbone
from classifier.backbones.bert_embeddings import BertEmbeddings
from classifier.backbones.transformer_block import TransformerBlock
from classifier.config import ModelConfig

__all__ = ["BertBackbone", "backbone_inputs"]


@register_backbone("bert")
@keras.saving.register_keras_serializable(package="classifier")
class BertBackbone(Backbone):
    """google-research/bert's modeling.py as a Keras functional model.

    Inputs: token_ids, segment_ids, padding_mask (int32, [batch, length]).
    Outputs: sequence_output [batch, length, hidden] and pooled_output [batch, hidden] (tanh
    dense over [CLS]). Constructor arguments are ModelConfig's field names, so a config read
    from any checkpoint format builds the model directly. Transformer blocks are named
    ``transformer_layer_{i}`` so that their outputs can be tapped (K-Adapter does).
    """

    hf_architectures = {"model": "BertModel", "masked_lm": "BertForMaskedLM"}
    tf1_files = ("bert_config.json", "bert_model.ckpt")
    checkpoint_scheme_modules = (
        "classifier.checkpoints.google_bert",
        "classifier.checkpoints.hf_bert",
    )

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu_tanh",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        dtype=None,
        **kwargs,
    ):
        # === Layers ===
        self.embeddings = BertEmbeddings(
            vocab_size=vocab_size,
            embedding_size=hidden_size,
            max_position_embeddings=max_position_embeddings,
            type_vocab_size=type_vocab_size,
            hidden_dropout_prob=hidden_dropout_prob,
            initializer_range=initializer_range,
            layer_norm_eps=layer_norm_eps,
            dtype=dtype,
            name="embeddings",
        )
        self.transformer_layers = [
            TransformerBlock(
                hidden_size=hidden_size,
                num_attention_heads=num_attention_heads,
                intermediate_size=intermediate_size,
                hidden_act=hidden_act,
                hidden_dropout_prob=hidden_dropout_prob,
                attention_probs_dropout_prob=attention_probs_dropout_prob,
                initializer_range=initializer_range,
                layer_norm_eps=layer_norm_eps,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_hidden_layers)
        ]

        # === Functional Model ===
        self._wire(hidden_size, initializer_range, dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps

    def block_sequence(self) -> list[tuple[TransformerBlock, int]]:
        """The blocks in the order they run, each with its layer position."""
        return [(block, i) for i, block in enumerate(self.transformer_layers)]

    @classmethod
    def output_scheme(cls, config: ModelConfig, output_format: str) -> str:
        return "google_bert_tf1" if output_format == "tf1" else "hf_bert"
