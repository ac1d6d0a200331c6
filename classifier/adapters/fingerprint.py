"""A stable fingerprint of a base backbone, so an adapter is only ever loaded onto its base.

Covers the architecture (the backbone's class and config, except its name, trainable flag,
dtype policy and dropout rates, which change no weight) and every weight: its position in
``backbone.weights``, shape and float32 bytes (little-endian). Two loads of the same checkpoint
agree; a different checkpoint, vocabulary or size does not. Houlsby adapters train the
backbone's LayerNorms, so the fingerprint is taken when adapters are applied, before training.
"""

from __future__ import annotations

import hashlib
import json

import keras
import numpy as np

from classifier.adapter_config.saved_adapter import FINGERPRINT_PREFIX as PREFIX

IGNORED_CONFIG_KEYS = {
    "name",
    "trainable",
    "dtype",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
}
UNKNOWN = "unknown"


def base_fingerprint(backbone: keras.Model) -> str:
    """``sha256:<hex>`` over the backbone's architecture and weights."""
    digest = hashlib.sha256()
    config = {k: v for k, v in backbone.get_config().items() if k not in IGNORED_CONFIG_KEYS}
    header = {"class": type(backbone).__name__, "config": config}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode("utf-8"))
    for index, variable in enumerate(backbone.weights):
        value = np.ascontiguousarray(np.asarray(variable), dtype="<f4")
        digest.update(f"|{index}:{value.shape}|".encode())
        digest.update(value.tobytes())
    return PREFIX + digest.hexdigest()
