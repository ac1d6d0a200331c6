"""AdapterFusion's settings (Pfeiffer et al. 2021): the trained bottleneck adapters it combines,
read from their folders; its Keras module is classifier.adapters.fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from classifier.adapter_config.base import (
    AdapterConfig,
    AdapterConfigError,
    adapter_config_from_dict,
    register_adapter_kind,
)
from classifier.adapter_config.bottleneck import BottleneckConfig
from classifier.adapter_config.saved_adapter import read_adapter_config, resolve_adapter_dir, short


@register_adapter_kind("fusion")
@dataclass(frozen=True)
class FusionConfig(AdapterConfig):
    """adapter_dirs: saved adapters to fuse (an ``adapter/`` folder or the training output
    holding one). Their configs are read into ``members`` when not given, so a saved fusion
    config rebuilds without the member folders (their weights travel in the fusion's file)."""

    adapter_dirs: tuple[str, ...] = ()
    members: tuple[dict, ...] = ()
    temperature: float = 1.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise AdapterConfigError("fusion temperature must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise AdapterConfigError("fusion dropout must be in [0, 1)")
        if not self.members:
            if len(self.adapter_dirs) < 2:
                raise AdapterConfigError(
                    "fusion needs at least two trained adapters (--fusion_adapters=DIR1,DIR2)"
                )
            object.__setattr__(self, "members", tuple(read_member(d) for d in self.adapter_dirs))
        fingerprints = {m["base_fingerprint"] for m in self.members}
        if len(fingerprints) > 1:
            listing = ", ".join(
                f"{m['path']} ({short(m['base_fingerprint'])})" for m in self.members
            )
            raise AdapterConfigError(f"fusion members were trained on different bases: {listing}")
        for member in self.members:
            config = adapter_config_from_dict(member["adapter"])
            if not isinstance(config, BottleneckConfig):
                raise AdapterConfigError(
                    f"fusion combines bottleneck adapters; {member['path']} is {config.kind!r}"
                )
            if config.train_layer_norms:
                raise AdapterConfigError(
                    f"{member['path']} trained the backbone's LayerNorms ({config.kind}), which "
                    "members cannot share; use pfeiffer adapters or houlsby with "
                    "--adapter_train_layer_norms=false"
                )


def read_member(path: str) -> dict[str, Any]:
    folder = resolve_adapter_dir(path)
    saved = read_adapter_config(folder)
    return {
        "path": str(folder),
        "adapter": saved["adapter"],
        "base_fingerprint": saved["base_fingerprint"],
        "task_name": saved.get("task_name"),
    }
