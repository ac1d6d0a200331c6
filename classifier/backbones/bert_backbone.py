"""The BERT backbone: serves Google BERT, BERT-wwm, RoBERTa-wwm-ext and MacBERT alike."""

from __future__ import annotations

import keras

from classifier.backbones.bert_embeddings import BertEmbeddings
from classifier.backbones.packing import packed_backbone_outputs
from classifier.backbones.transformer_block import TransformerBlock, truncated_normal
from classifier.config import ModelConfig


def backbone_inputs() -> dict[str, keras.KerasTensor]:
    """The dict inputs every backbone takes; the length axis is dynamic (per-batch padding)."""
    return {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input(shape=(None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }


@keras.saving.register_keras_serializable(package="classifier")
class BertBackbone(keras.Model):
    """google-research/bert's modeling.py as a Keras functional model.

    Inputs: token_ids, segment_ids, padding_mask (int32, [batch, length]).
    Outputs: sequence_output [batch, length, hidden] and pooled_output [batch, hidden] (tanh
    dense over [CLS]). Constructor arguments are ModelConfig's field names, so a config read
    from any checkpoint format builds the model directly. Transformer blocks are named
    ``transformer_layer_{i}`` so that their outputs can be tapped (K-Adapter does).
    """

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
        self.pooler = keras.layers.Dense(
            hidden_size,
            activation="tanh",
            kernel_initializer=truncated_normal(initializer_range),
            dtype=dtype,
            name="pooler",
        )

        # === Functional Model ===
        inputs = backbone_inputs()
        x = self.embeddings(inputs["token_ids"], inputs["segment_ids"])
        for block, i in self.block_sequence():
            x = block(x, inputs["padding_mask"], layer_index=i)
        pooled = self.pooler(x[:, 0, :])
        super().__init__(
            inputs=inputs,
            outputs={"sequence_output": x, "pooled_output": pooled},
            dtype=dtype,
            **kwargs,
        )

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

    def packed_outputs(self, token_ids, segment_ids, training=False):
        """Outputs for ragged token/segment ids without computing padding (see packing.py)."""
        return packed_backbone_outputs(self, token_ids, segment_ids, training)

    @classmethod
    def from_model_config(cls, config: ModelConfig, dtype=None, **kwargs) -> BertBackbone:
        if config.family != "bert":
            raise ValueError(f"BertBackbone cannot build a {config.family!r} model")
        fields = config.to_dict()
        albert_only = ("embedding_size", "num_hidden_groups", "inner_group_num", "ln_type")
        for name in ("family", "embedding_layout", *albert_only):
            fields.pop(name)
        return cls(**fields, dtype=dtype, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act,
            "hidden_dropout_prob": self.hidden_dropout_prob,
            "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": self.initializer_range,
            "layer_norm_eps": self.layer_norm_eps,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
