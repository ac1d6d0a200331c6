"""Step 5 of training: the run folder's model files, and an adapter's small artifact."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import keras

from classifier.adapters import ADAPTER_DIR, adapter_config_from_dict, save_adapter
from classifier.classifier_spec import ClassifierSpec
from classifier.trained_model import save_trained_model

logger = logging.getLogger(__name__)


def save_outputs(
    out: Path, model: keras.Model, spec: ClassifierSpec, vocab_file: str | Path
) -> dict[str, Any] | None:
    """Weights, vocab, labels and spec; with adapters also OUT/adapter/ (adapter + head +
    spec), the artifact that loads back onto the same base. Returns the adapter summary."""
    save_trained_model(out, model, spec, vocab_file)
    if spec.adapter is None or not adapter_config_from_dict(spec.adapter).saves_artifact:
        return None
    saved = save_adapter(out / ADAPTER_DIR, model, spec)
    logger.info(
        "saved the %s adapter with its head to %s (%d parameters, %d bytes)",
        spec.adapter["kind"],
        out / ADAPTER_DIR,
        saved["parameters"]["saved"],
        saved["weights_bytes"],
    )
    return {
        "kind": spec.adapter["kind"],
        "dir": str(out / ADAPTER_DIR),
        "parameters": saved["parameters"],
        "file_bytes": saved["weights_bytes"],
    }
