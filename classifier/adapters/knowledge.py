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

from pathlib import Path
from typing import Any

import keras
import numpy as np
from safetensors.numpy import load_file, save_file

from classifier.adapter_config.base import register_adapter_module
from classifier.adapter_config.k_adapter import KAdapterConfig, KnowledgeAdaptersConfig
from classifier.adapter_config.saved_adapter import BaseModelMismatchError, short
from classifier.adapter_config.saved_knowledge import (
    CHAIN,
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS_FILE,
)
from classifier.adapters.k_adapter import KnowledgeChainsModule
from classifier.adapters.sites import BackboneSites
from classifier.adapters.storage import assign_entries
from classifier.files import atomic_write, write_json


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


@register_adapter_module("knowledge")
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
