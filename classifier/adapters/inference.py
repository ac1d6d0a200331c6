"""Readying an adapted classifier for prediction and export: LoRA folds into the kernels.

Bottleneck, K-Adapter and fusion adapters stay as they are (their hooks run in eager mode,
tf.function and SavedModel alike); LoRA's W + (alpha / r) A·B is merged into a fresh copy of
the backbone, so the exported graph is the plain backbone's, with no extra matmuls.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from classifier.adapters.adapted_backbone import AdaptedBackbone
from classifier.adapters.lora import LoraModule

logger = logging.getLogger(__name__)


def inference_ready(model: keras.Model) -> keras.Model:
    """``model`` with LoRA merged (a new model; ``model`` is left as it is), else ``model``."""
    adapted = getattr(model, "backbone", None)
    if not isinstance(adapted, AdaptedBackbone) or not isinstance(adapted.adapter, LoraModule):
        return model
    if not adapted.adapter.mergeable():
        logger.info("LoRA on shared (ALBERT) blocks cannot be merged; exporting it unmerged")
        return model
    return merge_lora(model)


def merge_lora(model: keras.Model) -> keras.Model:
    """A plain TextClassifier whose query/value kernels hold W + (alpha / r) A·B."""
    from classifier.text_classifier import TextClassifier

    adapted: AdaptedBackbone = model.backbone
    base = adapted.backbone
    merged = type(base).from_config(base.get_config())
    merged.set_weights(base.get_weights())
    deltas = adapted.adapter.kernel_deltas()
    by_path = {v.path: v for v in merged.weights}
    for path, delta in deltas.items():
        variable = by_path[path]
        value = np.asarray(variable, np.float64) + delta
        variable.assign(value.astype(variable.dtype))
    classifier = TextClassifier(
        merged,
        num_labels=model.num_labels,
        head_kind=model.head_kind,
        dropout=model.dropout,
        initializer_range=model.initializer_range,
    )
    classifier.head.set_weights(model.head.get_weights())
    return classifier
