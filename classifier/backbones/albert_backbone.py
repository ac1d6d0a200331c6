"""The ALBERT backbone: factorised embedding and transformer blocks shared across layers."""

from __future__ import annotations

from typing import Any

import keras

from classifier.backbones.albert_embeddings import AlbertEmbeddings
from classifier.backbones.backbone import COMMON_FIELDS, Backbone, register_backbone
from classifier.backbones.transformer_block import TransformerBlock
from classifier.config import ConfigError, ModelConfig, family_format


def group_of_layer(layer: int, num_hidden_layers: int, num_hidden_groups: int) -> int:
    """The parameter group that layer ``layer`` uses, exactly as google-research/albert computes it."""
    return int(layer / num_hidden_layers * num_hidden_groups)


@register_backbone("albert")
@keras.saving.register_keras_serializable(package="classifier")
class AlbertBackbone(Backbone):
    """google-research/albert's modeling.py (and brightmart's albert_zh) as a Keras model.

    Same dict inputs (token_ids, segment_ids, padding_mask) and outputs (sequence_output,
    pooled_output) as BertBackbone. ``num_hidden_groups`` groups of ``inner_group_num``
    TransformerBlocks hold all the encoder's parameters; layer i runs the blocks of group
    int(i / num_hidden_layers * num_hidden_groups) in order, passing ``layer_index=i`` so that
    adapters can still act per layer. ``transformer_blocks[g * inner_group_num + j]`` is inner
    block j of group g (named ``transformer_group_{g}_inner_{j}``). Groups that no layer uses (with
    more groups than layers, as brightmart's albert_config_tiny_google_fast.json has: 12 groups,
    4 layers) still exist, as in transformers' AlbertModel, but only run groups are in Google's
    TF1 checkpoints.
    ``ln_type="preln"`` (brightmart only) puts the LayerNorms before attention and FFN, with no
    final LayerNorm, as albert_zh's prelln_transformer_model does.
    """

    config_fields = (*COMMON_FIELDS, *family_format("albert").fields, "embedding_layout")
    hf_architectures = {"model": "AlbertModel", "masked_lm": "AlbertForMaskedLM"}
    tf1_files = ("albert_config.json", "albert_model.ckpt")
    checkpoint_scheme_modules = (
        "classifier.checkpoints.google_albert",
        "classifier.checkpoints.brightmart_albert",
        "classifier.checkpoints.hf_albert",
    )

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int = 128,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_hidden_groups: int = 1,
        inner_group_num: int = 1,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu_tanh",
        hidden_dropout_prob: float = 0.0,
        attention_probs_dropout_prob: float = 0.0,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        ln_type: str = "postln",
        embedding_layout: str = "google",
        dtype=None,
        **kwargs,
    ):
        if ln_type not in ("postln", "preln"):
            raise ValueError(f"ln_type must be 'postln' or 'preln', got {ln_type!r}")
        if num_hidden_groups < 1 or inner_group_num < 1:
            raise ValueError("num_hidden_groups and inner_group_num must be at least 1")

        # === Layers ===
        self.embeddings = AlbertEmbeddings(
            vocab_size=vocab_size,
            embedding_size=embedding_size,
            hidden_size=hidden_size,
            layout=embedding_layout,
            max_position_embeddings=max_position_embeddings,
            type_vocab_size=type_vocab_size,
            hidden_dropout_prob=hidden_dropout_prob,
            initializer_range=initializer_range,
            layer_norm_eps=layer_norm_eps,
            dtype=dtype,
            name="embeddings",
        )
        self.transformer_blocks = [
            TransformerBlock(
                hidden_size=hidden_size,
                num_attention_heads=num_attention_heads,
                intermediate_size=intermediate_size,
                hidden_act=hidden_act,
                hidden_dropout_prob=hidden_dropout_prob,
                attention_probs_dropout_prob=attention_probs_dropout_prob,
                initializer_range=initializer_range,
                layer_norm_eps=layer_norm_eps,
                norm_first=ln_type == "preln",
                dtype=dtype,
                name=f"transformer_group_{g}_inner_{j}",
            )
            for g in range(num_hidden_groups)
            for j in range(inner_group_num)
        ]

        # === Functional Model ===
        # (set before the graph is built: block_sequence() reads them)
        self.num_hidden_layers = num_hidden_layers
        self.num_hidden_groups = num_hidden_groups
        self.inner_group_num = inner_group_num
        self._wire(hidden_size, initializer_range, dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.ln_type = ln_type
        self.embedding_layout = embedding_layout

    def block_sequence(self) -> list[tuple[TransformerBlock, int]]:
        """The blocks in the order they run (shared blocks repeat), each with its layer position."""
        sequence = []
        for i in range(self.num_hidden_layers):
            group = group_of_layer(i, self.num_hidden_layers, self.num_hidden_groups)
            for j in range(self.inner_group_num):
                sequence.append((self.block(group, j), i))
        return sequence

    def block(self, group: int, inner: int) -> TransformerBlock:
        """Inner block ``inner`` of parameter group ``group``."""
        return self.transformer_blocks[group * self.inner_group_num + inner]

    def used_groups(self) -> list[int]:
        """The groups some layer runs (google-research only creates variables for these)."""
        groups = {
            group_of_layer(i, self.num_hidden_layers, self.num_hidden_groups)
            for i in range(self.num_hidden_layers)
        }
        return sorted(groups)

    def _build_unrun_blocks(self, hidden_size: int) -> None:
        for block in self.transformer_blocks:  # groups no layer runs still get their weights
            if not block.built:
                block.build((None, None, hidden_size))

    @classmethod
    def constructor_fields(cls, config: ModelConfig) -> dict[str, Any]:
        fields = super().constructor_fields(config)
        if fields["embedding_size"] is None:
            fields["embedding_size"] = config.hidden_size
        return fields

    @classmethod
    def output_scheme(cls, config: ModelConfig, output_format: str) -> str:
        if config.embedding_layout == "brightmart":
            if output_format == "hf":
                raise ConfigError(
                    "--output_format hf: brightmart's albert_zh layout has no transformers "
                    "equivalent; write tf1"
                )
            return "brightmart_albert_tf1"
        return "google_albert_tf1" if output_format == "tf1" else "hf_albert"

    @classmethod
    def conversion_problem(cls, config: ModelConfig) -> str | None:
        if config.embedding_layout != "brightmart":
            return None
        return (
            "a brightmart/albert_zh checkpoint; its embeddings (a bias-free projection before "
            "width-H position/token-type tables) have no google-research or transformers "
            "AlbertModel equivalent, so it cannot be converted exactly. Train from it as it "
            "is, or use brightmart's *_google release."
        )

    @classmethod
    def mlm_transform_size(cls, config: ModelConfig) -> int:
        """ALBERT's head transforms to the embedding width (brightmart's: to hidden)."""
        if config.embedding_layout == "brightmart":
            return config.hidden_size
        return config.embedding_size

    @classmethod
    def describe(cls, config: ModelConfig) -> str:
        return super().describe(config) + f", embedding {config.embedding_size}"
