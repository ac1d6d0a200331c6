"""Model configuration: one dataclass for every backbone family, read from any checkpoint's JSON.

Google's bert_config.json / albert_config.json and Hugging Face's config.json name the same
hyper-parameters differently and even give the same activation name two meanings ("gelu" is the
tanh approximation in google-research/bert, the exact erf form in transformers). Reading them
into one canonical dataclass here keeps that knowledge in one place; everything downstream sees
only canonical names.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Canonical activation names used inside this project.
GELU_TANH = "gelu_tanh"  # 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))): google-research/bert's "gelu"
GELU_EXACT = "gelu_exact"  # 0.5x(1+erf(x/sqrt(2))): transformers' "gelu"
ACTIVATIONS = (GELU_TANH, GELU_EXACT, "relu", "swish", "tanh")

# What each source format means by the activation names it writes.
_GOOGLE_ACTIVATIONS = {
    "gelu": GELU_TANH,
    "gelu_new": GELU_TANH,
    "relu": "relu",
    "swish": "swish",
    "tanh": "tanh",
}
_HF_ACTIVATIONS = {
    "gelu": GELU_EXACT,
    "gelu_new": GELU_TANH,
    "gelu_fast": GELU_TANH,
    "gelu_pytorch_tanh": GELU_TANH,
    "relu": "relu",
    "silu": "swish",
    "swish": "swish",
    "tanh": "tanh",
}

# Where ALBERT's factorised embedding projects E to H. "google": position and token-type tables of
# width E, LayerNorm(E), then a dense E->H with bias (google-research/albert, transformers'
# AlbertModel). "brightmart": the word vectors are projected first by a bias-free E->H matrix
# (word_embeddings_2), then position/token-type tables of width H and LayerNorm(H) (albert_zh).
EMBEDDING_LAYOUTS = ("google", "brightmart")


class ConfigError(ValueError):
    """A model config file that cannot describe a supported backbone."""


@dataclass(frozen=True)
class FamilyFormat:
    """What one backbone family adds to the hyper-parameters every family has, and how
    Google's and Hugging Face's config files spell it. Each family registers one
    (``register_family_format``, next to its backbone class for a new family); ModelConfig asks
    it instead of testing family names."""

    family: str
    hf_architecture: str  # transformers' class of the bare backbone
    hf_defaults: Mapping[str, Any]  # transformers' class defaults for keys a config.json omits
    fields: Mapping[str, Any] = field(default_factory=dict)  # its own fields -> source default
    # (file name, contents): a config file that does not say its family is this family's
    # (Google's files never do; old pytorch-transformers config.json files neither)
    hint: Callable[[str, Mapping[str, Any]], bool] = lambda name, data: False
    # its own fields that Google's config format leaves out for this config
    google_omits: Callable[[ModelConfig], tuple[str, ...]] = lambda config: ()
    # why transformers has no equivalent of this config (None: it has)
    hf_problem: Callable[[ModelConfig], str | None] = lambda config: None


FAMILY_FORMATS: dict[str, FamilyFormat] = {}


def register_family_format(family_format: FamilyFormat) -> FamilyFormat:
    FAMILY_FORMATS[family_format.family] = family_format
    return family_format


def family_format(family: str) -> FamilyFormat:
    """The registered format of ``family``. BERT's and ALBERT's are declared below; another
    family's registers when its backbone module loads (classifier.backbones imports every
    family, and the loader and build_backbone import classifier.backbones), so this module
    never imports the backbones."""
    try:
        return FAMILY_FORMATS[family]
    except KeyError:
        raise ConfigError(
            f"family must be one of {tuple(FAMILY_FORMATS)}, got {family!r}"
        ) from None


def family_hinted(file_name: str, data: Mapping[str, Any]) -> str:
    """The family a config file that does not name one belongs to (default BERT's)."""
    hinted = [known.family for known in FAMILY_FORMATS.values() if known.hint(file_name, data)]
    return hinted[0] if hinted else "bert"


def _family_only_fields() -> set[str]:
    """Fields some family owns: another family's config files leave them out."""
    return {name for known in FAMILY_FORMATS.values() for name in known.fields} | {
        "embedding_layout"
    }


# transformers' class defaults, used for keys a config.json leaves out (as transformers does).
register_family_format(
    FamilyFormat(
        "bert",
        hf_architecture="BertModel",
        hf_defaults={
            "vocab_size": 30522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
        },
    )
)


def _albert_google_omits(config: ModelConfig) -> tuple[str, ...]:
    if config.embedding_layout == "google":
        return ("ln_type",)  # google-research's albert_config.json has none
    return ("num_hidden_groups", "inner_group_num")  # albert_zh shares all layers


def _albert_hf_problem(config: ModelConfig) -> str | None:
    if config.embedding_layout == "google":
        return None
    return (
        "brightmart's albert_zh embedding layout (position/token-type tables of width H "
        "after a bias-free projection) has no transformers AlbertModel equivalent"
    )


register_family_format(
    FamilyFormat(
        "albert",
        hf_architecture="AlbertModel",
        hf_defaults={
            "vocab_size": 30000,
            "embedding_size": 128,
            "hidden_size": 4096,
            "num_hidden_layers": 12,
            "num_hidden_groups": 1,
            "num_attention_heads": 64,
            "intermediate_size": 16384,
            "inner_group_num": 1,
            "hidden_act": "gelu_new",
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        },
        fields={
            "embedding_size": 128,
            "num_hidden_groups": 1,
            "inner_group_num": 1,
            "ln_type": "postln",
        },
        hint=lambda name, data: (
            "albert" in name.lower()
            or "Albert" in " ".join(data.get("architectures") or [])
            or "embedding_size" in data
        ),
        google_omits=_albert_google_omits,
        hf_problem=_albert_hf_problem,
    )
)


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a BERT or ALBERT backbone, in canonical form.

    ALBERT-only fields (embedding_size, num_hidden_groups, inner_group_num, ln_type,
    embedding_layout) keep their BERT-neutral defaults for BERT. ``embedding_layout`` is not in
    any source config: the checkpoint's naming scheme decides it (see classifier.checkpoints).
    """

    vocab_size: int
    family: str = "bert"
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = GELU_TANH
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    embedding_size: int | None = None
    num_hidden_groups: int = 1
    inner_group_num: int = 1
    ln_type: str = "postln"
    embedding_layout: str = "google"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        family_format(self.family)  # a registered family
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"hidden_act must be one of {ACTIVATIONS}, got {self.hidden_act!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size {self.hidden_size} is not a multiple of "
                f"num_attention_heads {self.num_attention_heads}"
            )
        if self.ln_type not in ("postln", "preln"):
            raise ConfigError(f"ln_type must be 'postln' or 'preln', got {self.ln_type!r}")
        if self.embedding_layout not in EMBEDDING_LAYOUTS:
            raise ConfigError(
                f"embedding_layout must be one of {EMBEDDING_LAYOUTS}, got {self.embedding_layout!r}"
            )
        if self.num_hidden_groups < 1 or self.inner_group_num < 1:
            raise ConfigError("num_hidden_groups and inner_group_num must be at least 1")
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")

    # --- canonical JSON (what this project writes next to its weights) ---
    def to_dict(self) -> dict[str, Any]:
        """The canonical fields, and the family's own ones that ModelConfig does not name."""
        data = dataclasses.asdict(self)
        data.pop("extra")
        own = family_format(self.family).fields
        return {**data, **{k: v for k, v in self.extra.items() if k in own}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        own = family_format(known.get("family", "bert")).fields
        return cls(**known, extra={k: v for k, v in data.items() if k in own and k not in names})

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json_file(cls, path: str | Path) -> ModelConfig:
        return cls.from_dict(_read_json(path))

    # --- source formats ---
    @classmethod
    def from_google_json(cls, path: str | Path, family: str = "bert") -> ModelConfig:
        """Reads google-research/bert's bert_config.json or ALBERT's albert_config.json."""
        data = _read_json(path)
        return cls._from_source(data, family, _GOOGLE_ACTIVATIONS, path)

    def to_google_dict(self) -> dict[str, Any]:
        """The bert_config.json / albert_config.json that google-research would write."""
        names = {GELU_TANH: "gelu", "relu": "relu", "swish": "swish", "tanh": "tanh"}
        if self.hidden_act not in names:
            raise ConfigError(f"{self.hidden_act!r} has no name in Google's config format")
        data = self.to_dict()
        data["hidden_act"] = names[self.hidden_act]
        own = family_format(self.family)
        dropped = {"family", "layer_norm_eps", *self._others_fields(), *own.google_omits(self)}
        data = {key: value for key, value in data.items() if key not in dropped}
        return {**self.extra, **data}

    def _others_fields(self) -> set[str]:
        """The family-only fields that are not this family's (with embedding_layout, which
        no source file holds)."""
        return _family_only_fields() - set(family_format(self.family).fields)

    def to_hf_dict(self) -> dict[str, Any]:
        """The config.json that transformers' BertModel / AlbertModel would write."""
        names = {GELU_EXACT: "gelu", GELU_TANH: "gelu_new", "relu": "relu", "swish": "silu"}
        if self.hidden_act not in names:
            raise ConfigError(f"{self.hidden_act!r} has no name in Hugging Face's config format")
        own = family_format(self.family)
        problem = own.hf_problem(self)
        if problem:
            raise ConfigError(problem)
        if self.ln_type != "postln":
            raise ConfigError("transformers' BertModel / AlbertModel are post-LayerNorm only")
        data = self.to_dict()
        data["hidden_act"] = names[self.hidden_act]
        dropped = {"family", "ln_type", *self._others_fields()}
        data = {key: value for key, value in data.items() if key not in dropped}
        return {
            "architectures": [own.hf_architecture],
            "model_type": self.family,
            **data,
            "pad_token_id": 0,
        }

    @classmethod
    def from_hf_json(cls, path: str | Path) -> ModelConfig:
        """Reads a Hugging Face config.json of a BertModel or AlbertModel."""
        data = _read_json(path)
        model_type = data.get("model_type")
        if model_type is None:  # pytorch-transformers 1.x wrote neither field for some models
            model_type = family_hinted(Path(path).name, data)
        try:
            own = family_format(model_type)
        except ConfigError:
            raise ConfigError(
                f"{path}: model_type {model_type!r} is not a BERT or ALBERT model "
                f"(known families: {', '.join(FAMILY_FORMATS)})"
            ) from None
        data = {**own.hf_defaults, **data}
        if "layer_norm_eps" not in data:
            data["layer_norm_eps"] = 1e-12
        return cls._from_source(data, model_type, _HF_ACTIVATIONS, path)

    @classmethod
    def _from_source(
        cls, data: dict[str, Any], family: str, activations: dict[str, str], path: str | Path
    ) -> ModelConfig:
        required = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")
        missing = [k for k in required if k not in data]
        if missing:
            raise ConfigError(f"{path}: missing required keys {missing}")
        act = data.get("hidden_act", "gelu")
        if act not in activations:
            raise ConfigError(
                f"{path}: hidden_act {act!r} is not supported (known: {sorted(activations)})"
            )
        values: dict[str, Any] = {
            "family": family,
            "vocab_size": int(data["vocab_size"]),
            "hidden_size": int(data["hidden_size"]),
            "num_hidden_layers": int(data["num_hidden_layers"]),
            "num_attention_heads": int(data["num_attention_heads"]),
            "intermediate_size": int(data.get("intermediate_size", 4 * int(data["hidden_size"]))),
            "hidden_act": activations[act],
            "hidden_dropout_prob": float(data.get("hidden_dropout_prob", 0.1)),
            "attention_probs_dropout_prob": float(data.get("attention_probs_dropout_prob", 0.1)),
            "max_position_embeddings": int(data.get("max_position_embeddings", 512)),
            "type_vocab_size": int(data.get("type_vocab_size", 2)),
            "initializer_range": float(data.get("initializer_range", 0.02)),
            "layer_norm_eps": float(data.get("layer_norm_eps", 1e-12)),
        }
        own: dict[str, Any] = {}  # a registered family's fields that ModelConfig does not name
        names = {f.name for f in dataclasses.fields(cls)}
        for name, default in family_format(family).fields.items():
            value = type(default)(data.get(name, default))
            (values if name in names else own)[name] = value
        known = set(values) | set(own) | {"model_type", "architectures"}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra={**extra, **own})


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data
