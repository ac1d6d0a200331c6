"""A saved adapter's folder and config file, read without TensorFlow (the layout is in
classifier.adapters.storage, which writes it): a fusion config names its members by folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FINGERPRINT_PREFIX = "sha256:"


ADAPTER_DIR = "adapter"
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
SPEC_FILE = "classifier_config.json"
LABELS_FILE = "labels.txt"
FORMAT = "zh-textclf-adapter"
FORMAT_VERSION = 1


class AdapterError(ValueError):
    """A saved adapter that cannot be used."""


class BaseModelMismatchError(AdapterError):
    """An adapter loaded onto a backbone other than the one it was trained on."""


def resolve_adapter_dir(path: str | Path) -> Path:
    """An adapter folder, given it or the training output folder that holds one."""
    folder = Path(path)
    if (folder / CONFIG_FILE).is_file():
        return folder
    if (folder / ADAPTER_DIR / CONFIG_FILE).is_file():
        return folder / ADAPTER_DIR
    raise AdapterError(f"{folder} holds no saved adapter ({CONFIG_FILE} missing)")


def read_adapter_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise AdapterError(f"{path}: cannot read the adapter config ({err})") from err
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise AdapterError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} adapter config")
    return data


def short(fingerprint: str) -> str:
    """The first 12 hex digits of a base fingerprint, for messages."""
    return fingerprint.removeprefix(FINGERPRINT_PREFIX)[:12]
