"""What every backbone family shares, written once: the dict inputs, the functional wiring
(embeddings, then the blocks in their running order), the tanh pooler over [CLS], packed
(padding-free) outputs, ModelConfig in and get_config out; and the registry of families.

A family subclasses Backbone, builds ``self.embeddings`` and its blocks, answers
``block_sequence()``, then calls ``self._wire(...)``; it declares which ModelConfig fields are
its constructor's (``config_fields``) and what differs between families outside the model:
which checkpoint schemes it writes, what its transformers classes are called, how wide its
masked-LM head's transform is. ``@register_backbone("name")`` makes ``ModelConfig.family ==
"name"`` build it. Nothing outside classifier/backbones asks which family a model is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import keras

from classifier.backbones.packing import packed_backbone_outputs
from classifier.backbones.transformer_block import TransformerBlock, truncated_normal
from classifier.config import ConfigError, ModelConfig, family_format
from classifier.registry import registrar

BACKBONES: dict[str, type[Backbone]] = {}

# The ModelConfig fields every family's constructor takes.
COMMON_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
    "layer_norm_eps",
)


def backbone_inputs() -> dict[str, keras.KerasTensor]:
    """The dict inputs every backbone takes; the length axis is dynamic (per-batch padding)."""
    return {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input(shape=(None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }


def register_backbone(family: str) -> Callable[[type[Backbone]], type[Backbone]]:
    """Class decorator: ``ModelConfig.family == family`` builds this class."""
    return _register(family)


_register = registrar(BACKBONES, "backbone family", "family")


def backbone_class(family: str) -> type[Backbone]:
    try:
        return BACKBONES[family]
    except KeyError:
        raise ValueError(f"no backbone for family {family!r}; known: {sorted(BACKBONES)}") from None


class Backbone(keras.Model):
    """A transformer encoder as a Keras functional model (see the module docstring).

    Inputs: token_ids, segment_ids, padding_mask (int32, [batch, length]). Outputs:
    sequence_output [batch, length, hidden] and pooled_output [batch, hidden].
    """

    family: ClassVar[str]
    config_fields: ClassVar[tuple[str, ...]] = COMMON_FIELDS
    hf_architectures: ClassVar[dict[str, str]]  # "model" / "masked_lm" -> transformers class
    tf1_files: ClassVar[tuple[str, str]]  # (config file, checkpoint prefix) of a TF1 release
    # the modules that register its checkpoint naming schemes (classifier.checkpoints)
    checkpoint_scheme_modules: ClassVar[tuple[str, ...]] = ()

    def _wire(self, hidden_size: int, initializer_range: float, dtype, **kwargs) -> None:
        """Creates the pooler and the functional graph, then initialises keras.Model."""
        self.pooler = keras.layers.Dense(
            hidden_size,
            activation="tanh",
            kernel_initializer=truncated_normal(initializer_range),
            dtype=dtype,
            name="pooler",
        )
        inputs = backbone_inputs()
        x = self.embeddings(inputs["token_ids"], inputs["segment_ids"])
        for block, i in self.block_sequence():
            x = block(x, inputs["padding_mask"], layer_index=i)
        pooled = self.pooler(x[:, 0, :])
        self._build_unrun_blocks(hidden_size)
        # super(): Keras puts its Functional class above Backbone on the first functional
        # init and must find it there afterwards (Model.__init__ again would loop the bases).
        super().__init__(
            inputs=inputs,
            outputs={"sequence_output": x, "pooled_output": pooled},
            dtype=dtype,
            **kwargs,
        )

    def _build_unrun_blocks(self, hidden_size: int) -> None:
        """Blocks that no layer runs still get their weights (ALBERT's unused groups)."""

    def block_sequence(self) -> list[tuple[TransformerBlock, int]]:
        """The blocks in the order they run, each with its layer position."""
        raise NotImplementedError

    def packed_outputs(self, token_ids, segment_ids, training=False):
        """Outputs for ragged token/segment ids without computing padding (see packing.py)."""
        return packed_backbone_outputs(self, token_ids, segment_ids, training)

    # === Config ===
    @classmethod
    def constructor_fields(cls, config: ModelConfig) -> dict[str, Any]:
        """The constructor arguments ``config`` gives this family (a family's own field that
        ModelConfig does not name comes from ``config.extra``, else its declared default)."""
        own = family_format(config.family).fields
        return {
            name: getattr(config, name)
            if hasattr(config, name)
            else config.extra.get(name, own.get(name))
            for name in cls.config_fields
        }

    @classmethod
    def from_model_config(cls, config: ModelConfig, dtype=None, **kwargs) -> Backbone:
        if config.family != cls.family:
            raise ValueError(f"{cls.__name__} cannot build a {config.family!r} model")
        return cls(**cls.constructor_fields(config), dtype=dtype, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            **{name: getattr(self, name) for name in self.config_fields},
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # === Outside the model: checkpoints and heads ===
    @classmethod
    def output_scheme(cls, config: ModelConfig, output_format: str) -> str:
        """The checkpoint naming scheme a release folder of ``output_format`` (tf1 or hf) is
        written in."""
        raise NotImplementedError

    @classmethod
    def conversion_problem(cls, config: ModelConfig) -> str | None:
        """Why ``config``'s checkpoints cannot be converted exactly between formats (None:
        they can)."""
        return None

    @classmethod
    def mlm_transform_size(cls, config: ModelConfig) -> int:
        """The width of the masked-LM head's transform (BERT: hidden)."""
        return config.hidden_size

    @classmethod
    def describe(cls, config: ModelConfig) -> str:
        return (
            f"{config.family}, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
            f"{config.num_attention_heads} heads, intermediate {config.intermediate_size}, "
            f"vocab {config.vocab_size}"
        )


def family_of(config: ModelConfig) -> type[Backbone]:
    """The backbone class of ``config.family`` (what knows that family's ways)."""
    try:
        return backbone_class(config.family)
    except ValueError as err:
        raise ConfigError(str(err)) from None
