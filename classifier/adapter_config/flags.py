"""Adapter command-line flags: one list, from which the CLIs' arguments are generated and
flag values become an AdapterConfig (with a clear error for a flag that does not apply to the
chosen kind), so scripts/train.py and scripts/pretrain.py hold no adapter logic."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from classifier.adapter_config.base import (
    AdapterConfig,
    AdapterConfigError,
    adapter_kinds,
    get_adapter_kind,
)
from classifier.flag_types import int_list, number, str2bool, str_list

# Kinds chosen with --adapter; "knowledge" has flags of its own (--knowledge_adapters).
FLAG_KINDS_EXCLUDED = ("knowledge",)


@dataclass(frozen=True)
class AdapterFlag:
    """``--name`` sets the config field ``field`` ({kind: field} where kinds name it differently,
    "*" for the rest); None (not given) leaves the kind's default."""

    name: str
    field: str | dict[str, str]
    type: Callable[[str], Any] | None
    help: str
    choices: Sequence[str] | None = None

    def field_for(self, kind: str) -> str:
        if isinstance(self.field, dict):
            return self.field.get(kind, self.field["*"])
        return self.field


ADAPTER_FLAGS: tuple[AdapterFlag, ...] = (
    AdapterFlag(
        "adapter_size",
        {"lora": "rank", "*": "size"},
        int,
        "bottleneck width (houlsby 64; pfeiffer/adapter_drop/compacter: hidden/16, /32), "
        "LoRA rank (8), K-Adapter width (hidden/4)",
    ),
    AdapterFlag(
        "adapter_reduction_factor", "reduction_factor", float, "bottleneck width = hidden / factor"
    ),
    AdapterFlag("adapter_dropout", "dropout", float, "dropout inside the adapters"),
    AdapterFlag(
        "adapter_activation",
        "activation",
        None,
        "bottleneck / K-Adapter nonlinearity",
        choices=("gelu_tanh", "gelu_exact", "relu", "swish", "tanh"),
    ),
    AdapterFlag(
        "adapter_init_scale",
        "init_scale",
        float,
        "std of the down-projection's truncated normal (default Kaiming-uniform)",
    ),
    AdapterFlag(
        "adapter_layers",
        "layers",
        int_list,
        "comma-separated backbone layers that get adapters (K-Adapter: the layers its adapter "
        "layers attach to, e.g. 0,5,11); default all (K-Adapter: first, middle, last)",
    ),
    AdapterFlag(
        "adapter_placement",
        "placement",
        str_list,
        "bottleneck hook points: attention_output,ffn_output",
    ),
    AdapterFlag(
        "adapter_train_layer_norms",
        "train_layer_norms",
        str2bool,
        "also train the LayerNorms (houlsby default true)",
    ),
    AdapterFlag("lora_alpha", "alpha", float, "LoRA scaling alpha (update = alpha/r B A)"),
    AdapterFlag("lora_targets", "targets", str_list, "LoRA projections: query,value"),
    AdapterFlag(
        "k_adapter_transformer_layers",
        "num_transformer_layers",
        int,
        "transformer layers per K-Adapter layer (2)",
    ),
    AdapterFlag(
        "k_adapter_heads", "num_attention_heads", int, "attention heads in K-Adapter layers"
    ),
    AdapterFlag("k_adapter_count", "count", int, "knowledge adapters side by side (1)"),
    AdapterFlag(
        "fusion_adapters",
        "adapter_dirs",
        str_list,
        "comma-separated adapters to fuse: earlier runs' output dirs (or their adapter/)",
    ),
    AdapterFlag("fusion_temperature", "temperature", float, "softmax temperature (1.0)"),
    AdapterFlag("adapter_drop_n", "drop_layers", int, "AdapterDrop: no adapters below layer n"),
    AdapterFlag(
        "adapter_drop_sampled",
        "sampled",
        str2bool,
        "AdapterDrop: draw n per training batch (adapters in all layers; n fixed at inference)",
    ),
    AdapterFlag("adapter_drop_max", "max_drop", int, "AdapterDrop sampled: largest n drawn"),
    AdapterFlag("compacter_phm_dim", "phm_dim", int, "Compacter: PHM dimension n (4)"),
    AdapterFlag("compacter_rank", "phm_rank", int, "Compacter: rank of the PHM factors (1)"),
)
FLAGS = {flag.name: flag for flag in ADAPTER_FLAGS}
FLAG_FIELDS = {flag.name: flag.field for flag in ADAPTER_FLAGS}


def flag_kinds() -> tuple[str, ...]:
    return tuple(k for k in adapter_kinds() if k not in FLAG_KINDS_EXCLUDED)


def flags_for_kinds(kinds: Sequence[str]) -> list[AdapterFlag]:
    """The flags that set a field of at least one of ``kinds``."""
    chosen = []
    for flag in ADAPTER_FLAGS:
        for kind in kinds:
            fields = {f.name for f in dataclasses.fields(get_adapter_kind(kind))}
            if flag.field_for(kind) in fields:
                chosen.append(flag)
                break
    return chosen


def add_adapter_arguments(
    parser: argparse.ArgumentParser,
    kinds: Sequence[str] | None = None,
    title: str = "adapters (parameter-efficient fine-tuning on a frozen backbone)",
    adapter_help: str = "train only this kind of adapter (+ the head); default: fine-tune "
    "everything",
) -> argparse._ArgumentGroup:
    """``--adapter`` (one of ``kinds``, default every registered kind) and every flag that
    applies to one of them, each defaulting to None (the kind's default)."""
    kinds = tuple(kinds or flag_kinds())
    group = parser.add_argument_group(title)
    group.add_argument("--adapter", choices=kinds, default=None, help=adapter_help)
    for flag in flags_for_kinds(kinds):
        if flag.type is str2bool:
            group.add_argument(
                f"--{flag.name}",
                type=str2bool,
                nargs="?",
                const=True,
                default=None,
                metavar="true|false",
                help=flag.help,
            )
        else:
            kind = number(flag.type) if flag.type in (int, float) else flag.type  # finite
            group.add_argument(
                f"--{flag.name}", type=kind, choices=flag.choices, default=None, help=flag.help
            )
    return group


def adapter_config_from_args(args: argparse.Namespace) -> AdapterConfig | None:
    """The AdapterConfig the parsed flags describe (None without --adapter)."""
    values = {name: getattr(args, name, None) for name in FLAGS}
    return adapter_config_from_flags(getattr(args, "adapter", None), values)


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
        if name not in FLAGS:
            raise AdapterConfigError(f"unknown adapter flag --{name}")
        target = FLAGS[name].field_for(kind)
        if target not in fields:
            raise AdapterConfigError(f"--{name} does not apply to --adapter={kind}")
        options[target] = tuple(value) if isinstance(value, list) else value
    return cls.from_fields(options)


def default_learning_rate(adapter: AdapterConfig | None) -> float:
    """Fine-tuning a whole model: 2e-5 (BERT's recipe). Adapters train a few fresh weights on a
    frozen model: 1e-4 is their common choice."""
    return 1e-4 if adapter is not None and adapter.freezes_backbone else 2e-5
