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

FAMILIES = ("bert", "albert")
# Where ALBERT's factorised embedding projects E to H. "google": position and token-type tables of
# width E, LayerNorm(E), then a dense E->H with bias (google-research/albert, transformers'
# AlbertModel). "brightmart": the word vectors are projected first by a bias-free E->H matrix
# (word_embeddings_2), then position/token-type tables of width H and LayerNorm(H) (albert_zh).
EMBEDDING_LAYOUTS = ("google", "brightmart")

# transformers' class defaults, used for keys a config.json leaves out (as transformers does).
_HF_DEFAULTS = {
    "bert": {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    },
    "albert": {
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
}


class ConfigError(ValueError):
    """A model config file that cannot describe a supported backbone."""


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
        if self.family not in FAMILIES:
            raise ConfigError(f"family must be one of {FAMILIES}, got {self.family!r}")
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
        data = dataclasses.asdict(self)
        data.pop("extra")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known)

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
        for key in ("family", "layer_norm_eps", "embedding_layout"):
            data.pop(key)
        if self.family == "bert":
            for key in ("embedding_size", "num_hidden_groups", "inner_group_num", "ln_type"):
                data.pop(key)
        elif self.embedding_layout == "google":
            data.pop("ln_type")  # google-research's albert_config.json has none
        else:
            for key in ("num_hidden_groups", "inner_group_num"):  # albert_zh shares all layers
                data.pop(key)
        return {**self.extra, **data}

    def to_hf_dict(self) -> dict[str, Any]:
        """The config.json that transformers' BertModel / AlbertModel would write."""
        names = {GELU_EXACT: "gelu", GELU_TANH: "gelu_new", "relu": "relu", "swish": "silu"}
        if self.hidden_act not in names:
            raise ConfigError(f"{self.hidden_act!r} has no name in Hugging Face's config format")
        if self.family == "albert" and self.embedding_layout != "google":
            raise ConfigError(
                "brightmart's albert_zh embedding layout (position/token-type tables of width H "
                "after a bias-free projection) has no transformers AlbertModel equivalent"
            )
        if self.ln_type != "postln":
            raise ConfigError("transformers' BertModel / AlbertModel are post-LayerNorm only")
        data = self.to_dict()
        data["hidden_act"] = names[self.hidden_act]
        for key in ("family", "embedding_layout", "ln_type"):
            data.pop(key)
        if self.family == "bert":
            for key in ("embedding_size", "num_hidden_groups", "inner_group_num"):
                data.pop(key)
        arch = "AlbertModel" if self.family == "albert" else "BertModel"
        return {"architectures": [arch], "model_type": self.family, **data, "pad_token_id": 0}

    @classmethod
    def from_hf_json(cls, path: str | Path) -> ModelConfig:
        """Reads a Hugging Face config.json of a BertModel or AlbertModel."""
        data = _read_json(path)
        model_type = data.get("model_type")
        if model_type is None:  # pytorch-transformers 1.x wrote neither field for some models
            archs = " ".join(data.get("architectures") or [])
            model_type = "albert" if "Albert" in archs or "embedding_size" in data else "bert"
        if model_type not in ("bert", "albert"):
            raise ConfigError(f"{path}: model_type {model_type!r} is not a BERT or ALBERT model")
        data = {**_HF_DEFAULTS[model_type], **data}
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
        if family == "albert":
            values["embedding_size"] = int(data.get("embedding_size", 128))
            values["num_hidden_groups"] = int(data.get("num_hidden_groups", 1))
            values["inner_group_num"] = int(data.get("inner_group_num", 1))
            values["ln_type"] = str(data.get("ln_type", "postln"))
        known = set(values) | {"model_type", "architectures"}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data
