"""K-Adapter's settings (Wang et al. 2021): a knowledge adapter beside the backbone (phase 1,
``k_adapter``) and saved knowledge adapters plugged in downstream (phase 2, ``knowledge``).
Their Keras modules are classifier.adapters.k_adapter and classifier.adapters.knowledge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from classifier.adapter_config.base import AdapterConfig, AdapterConfigError, register_adapter_kind
from classifier.adapter_config.saved_adapter import short
from classifier.adapter_config.saved_knowledge import (
    KnowledgeAdapterError,
    read_knowledge_config,
    resolve_knowledge_dir,
)


@register_adapter_kind("k_adapter")
@dataclass(frozen=True)
class KAdapterConfig(AdapterConfig):
    """layers: backbone layers the adapter layers attach to (None = first, middle, last).
    size: the adapter's hidden width (None = hidden_size / 4); num_transformer_layers N per
    adapter layer (the paper: 2); count: how many knowledge adapters run side by side."""

    layers: tuple[int, ...] | None = None
    size: int | None = None
    num_transformer_layers: int = 2
    num_attention_heads: int | None = None
    intermediate_size: int | None = None
    count: int = 1
    dropout: float = 0.1
    activation: str = "gelu_tanh"

    def __post_init__(self) -> None:
        if self.size is not None and self.size < 1:
            raise AdapterConfigError("k_adapter size must be at least 1")
        if self.num_transformer_layers < 0:
            raise AdapterConfigError("k_adapter num_transformer_layers must be non-negative")
        if self.count < 1:
            raise AdapterConfigError("k_adapter count must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise AdapterConfigError("k_adapter dropout must be in [0, 1)")

    def attach_layers(self, num_layers: int) -> tuple[int, ...]:
        if self.layers is not None:
            return tuple(sorted(self.layers))
        return tuple(sorted({0, max(0, num_layers // 2 - 1), num_layers - 1}))

    def adapter_size(self, hidden_size: int) -> int:
        return self.size or max(1, hidden_size // 4)

    def heads(self, size: int) -> int:
        heads = self.num_attention_heads or max(1, size // 64)
        if size % heads:
            raise AdapterConfigError(
                f"k_adapter size {size} is not a multiple of its {heads} attention heads; "
                "set num_attention_heads (--k_adapter_heads)"
            )
        return heads


def read_member(path: str) -> dict[str, Any]:
    folder = resolve_knowledge_dir(path)
    saved = read_knowledge_config(folder)
    return {
        "path": str(folder),
        "adapter": saved["adapter"],
        "base_fingerprint": saved["base_fingerprint"],
        "task": saved.get("task", {}).get("name"),
    }


@register_adapter_kind("knowledge")
@dataclass(frozen=True)
class KnowledgeAdaptersConfig(AdapterConfig):
    """adapter_dirs: knowledge adapters from pretrain.sh (their folders or the runs holding
    them). Their configs are read into ``members`` when not given, so a saved classifier
    rebuilds without the folders (the weights travel in its own file)."""

    adapter_dirs: tuple[str, ...] = ()
    members: tuple[dict, ...] = ()
    train_adapters: bool = False
    train_backbone: bool = True

    saves_artifact: ClassVar[bool] = False  # the run's model file holds everything

    @property
    def freezes_backbone(self) -> bool:  # type: ignore[override]
        return not self.train_backbone

    def __post_init__(self) -> None:
        if not self.members:
            if not self.adapter_dirs:
                raise AdapterConfigError("--knowledge_adapters names no folder")
            object.__setattr__(self, "members", tuple(read_member(d) for d in self.adapter_dirs))
        fingerprints = {m["base_fingerprint"] for m in self.members}
        if len(fingerprints) > 1:
            listing = ", ".join(
                f"{m['path']} ({short(m['base_fingerprint'])})" for m in self.members
            )
            raise KnowledgeAdapterError(
                f"the knowledge adapters were infused on different base models: {listing}"
            )

    def member_configs(self) -> list[KAdapterConfig]:
        configs = []
        for member in self.members:
            fields = {k: v for k, v in member["adapter"].items() if k != "kind"}
            configs.append(KAdapterConfig.from_fields(fields))
        return configs
