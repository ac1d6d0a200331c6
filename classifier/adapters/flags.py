"""Command-line adapter options -> an AdapterConfig, with a clear error for a flag that does
not apply to the chosen kind (scripts/train.py stays free of adapter logic)."""

from __future__ import annotations

import dataclasses
from typing import Any

from classifier.adapters.config import AdapterConfig, AdapterConfigError, get_adapter_kind

# flag name -> the config field it sets ({kind: field} where kinds name it differently)
FLAG_FIELDS: dict[str, str | dict[str, str]] = {
    "adapter_size": {"lora": "rank", "*": "size"},
    "adapter_reduction_factor": "reduction_factor",
    "adapter_dropout": "dropout",
    "adapter_activation": "activation",
    "adapter_init_scale": "init_scale",
    "adapter_layers": "layers",
    "adapter_placement": "placement",
    "adapter_train_layer_norms": "train_layer_norms",
    "lora_alpha": "alpha",
    "lora_targets": "targets",
    "k_adapter_transformer_layers": "num_transformer_layers",
    "k_adapter_heads": "num_attention_heads",
    "k_adapter_count": "count",
    "fusion_adapters": "adapter_dirs",
    "fusion_temperature": "temperature",
    "adapter_drop_n": "drop_layers",
    "adapter_drop_sampled": "sampled",
    "adapter_drop_max": "max_drop",
    "compacter_phm_dim": "phm_dim",
    "compacter_rank": "phm_rank",
}


def field_for(flag: str, kind: str) -> str:
    target = FLAG_FIELDS[flag]
    if isinstance(target, dict):
        return target.get(kind, target["*"])
    return target


def adapter_config_from_flags(kind: str | None, flags: dict[str, Any]) -> AdapterConfig | None:
    """The config of ``kind`` from flag values (None = not given); None when no kind."""
    given = {name: value for name, value in flags.items() if value is not None}
    if kind is None:
        if given:
            listing = ", ".join(f"--{name}" for name in sorted(given))
            raise AdapterConfigError(f"{listing} need(s) --adapter (one of the adapter kinds)")
        return None
    cls = get_adapter_kind(kind)
    fields = {f.name for f in dataclasses.fields(cls)}
    options: dict[str, Any] = {}
    for name, value in given.items():
        if name not in FLAG_FIELDS:
            raise AdapterConfigError(f"unknown adapter flag --{name}")
        target = field_for(name, kind)
        if target not in fields:
            raise AdapterConfigError(f"--{name} does not apply to --adapter={kind}")
        options[target] = tuple(value) if isinstance(value, list) else value
    return cls.from_fields(options)
