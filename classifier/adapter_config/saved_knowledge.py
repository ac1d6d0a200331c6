"""A saved knowledge adapter's folder and config file (K-Adapter phase 1, written by
classifier.adapters.knowledge), read without TensorFlow: phase 2's config names them by folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from classifier.adapter_config.base import AdapterConfigError

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
