"""K-Adapter's two phases: a knowledge adapter saved after infusion, and plugged in downstream.

Phase 1 (pretrain.sh --adapter=k_adapter --knowledge_task=...) trains one knowledge adapter on a
frozen base and saves it here:

    <output_dir>/knowledge_adapter/
      knowledge_adapter_config.json   K-Adapter options, knowledge task, base fingerprint
      knowledge_adapter.safetensors   the adapter layers (``layer{j}_at{LL}/<i>.<var>``)

Phase 2 (train.sh --knowledge_adapters=DIR[,DIR...]) is the ``knowledge`` adapter kind: every
saved knowledge adapter runs beside the backbone as a chain of its own (its own layers, width,
task) and the head reads the backbone's feature followed by each adapter's [CLS] output, as
K-Adapter concatenates them. The adapters are frozen unless ``train_adapters``; the backbone
is fine-tuned unless ``train_backbone`` is off. An adapter infused on another base is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
from safetensors.numpy import load_file, save_file

from classifier.adapters.config import AdapterConfig, AdapterConfigError, register_adapter_kind
from classifier.adapters.fingerprint import short
from classifier.adapters.k_adapter import KAdapterConfig, KnowledgeChainsModule
from classifier.adapters.sites import BackboneSites
from classifier.adapters.storage import BaseModelMismatchError, assign_entries
from classifier.files import atomic_write, write_json

KNOWLEDGE_DIR = "knowledge_adapter"
CONFIG_FILE = "knowledge_adapter_config.json"
WEIGHTS_FILE = "knowledge_adapter.safetensors"
FORMAT = "zh-textclf-knowledge-adapter"
FORMAT_VERSION = 1
CHAIN = "knowledge0"  # the chain name a phase-1 KAdapterModule (count 1) gives its layers


class KnowledgeAdapterError(AdapterConfigError):
    """A knowledge adapter folder that cannot be used."""


def resolve_knowledge_dir(path: str | Path) -> Path:
    """A knowledge adapter folder, given it or the pretraining output that holds one."""
    folder = Path(path)
    for candidate in (folder, folder / KNOWLEDGE_DIR):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise KnowledgeAdapterError(
        f"--knowledge_adapters: {folder} holds no knowledge adapter ({CONFIG_FILE} missing); "
        "make one with pretrain.sh --adapter=k_adapter --knowledge_task=..."
    )


def read_knowledge_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise KnowledgeAdapterError(f"{path}: cannot read ({err})") from err
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise KnowledgeAdapterError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} config")
    return data


def _entries(module: KnowledgeChainsModule, chain: str) -> dict[str, keras.Variable]:
    """File name -> variable for one chain's layers (the chain's name prefix dropped)."""
    entries = {}
    for key, layer in module.named_layers().items():
        if key.startswith(f"{chain}_"):
            stem = key[len(chain) + 1 :]
            entries.update({f"{stem}/{i:02d}.{v.name}": v for i, v in enumerate(layer.weights)})
    return entries


def save_knowledge_adapter(
    folder: str | Path,
    module: KnowledgeChainsModule,
    config: KAdapterConfig,
    base_fingerprint: str,
    base_model: dict[str, Any],
    task: dict[str, Any],
) -> dict[str, Any]:
    """Writes the phase-1 adapter (chain ``knowledge0`` of ``module``); the config goes last."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    entries = _entries(module, CHAIN)
    tensors = {name: np.ascontiguousarray(np.asarray(v)) for name, v in entries.items()}
    atomic_write(
        out / WEIGHTS_FILE, lambda tmp: save_file(tensors, tmp, metadata={"format": FORMAT})
    )
    summary = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "adapter": config.replace(count=1).to_dict(),
        "base_fingerprint": base_fingerprint,
        "base_model": base_model,
        "task": task,
        "parameters": int(sum(np.prod(v.shape) for v in entries.values())),
        "weights_bytes": (out / WEIGHTS_FILE).stat().st_size,
    }
    write_json(out / CONFIG_FILE, summary)
    return summary


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

    def build(self, sites: BackboneSites) -> KnowledgeModule:
        return KnowledgeModule(self, sites)


class KnowledgeModule(KnowledgeChainsModule):
    """One chain per saved knowledge adapter (``member{m}``), loaded in ``initialize``."""

    def __init__(self, config: KnowledgeAdaptersConfig, sites: BackboneSites, **kwargs: Any):
        chains = [(f"member{m}", c) for m, c in enumerate(config.member_configs())]
        super().__init__(config, sites, chains, name="knowledge_adapters", **kwargs)
        for layer in self.adapter_layers.values():
            for variable in layer.weights:
                variable.trainable = config.train_adapters

    def backbone_trainable(self) -> list[keras.Variable]:
        return list(self.sites.backbone.weights) if self.config.train_backbone else []

    def initialize(self, adapted: keras.Model) -> None:
        """Loads each member's infused weights; refuses a member from another base."""
        for m, member in enumerate(self.config.members):
            folder = Path(member["path"])
            if member["base_fingerprint"] != adapted.base_fingerprint:
                raise BaseModelMismatchError(
                    f"the knowledge adapter in {folder} was infused on base model "
                    f"{short(member['base_fingerprint'])}, but this backbone is "
                    f"{short(adapted.base_fingerprint)}: use it with the checkpoint it was "
                    "pretrained on"
                )
            tensors = load_file(str(folder / WEIGHTS_FILE))
            assign_entries(_entries(self, f"member{m}"), tensors, str(folder / WEIGHTS_FILE))
