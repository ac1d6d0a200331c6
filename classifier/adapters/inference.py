"""Readying adapters for prediction and export: LoRA folds into the kernels.

Bottleneck, K-Adapter and fusion adapters stay as they are (their hooks run in eager mode,
tf.function and SavedModel alike); LoRA's W + (alpha / r) A·B is merged into a fresh copy of
the backbone, so the exported graph is the plain backbone's, with no extra matmuls. The
classifier around it is assembled by the model module (classifier.trained_model).
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from classifier.adapters.adapted_backbone import AdaptedBackbone
from classifier.adapters.lora import LoraModule

logger = logging.getLogger(__name__)


def can_merge(backbone: keras.Model) -> bool:
    """Whether ``backbone`` carries LoRA adapters that fold into its kernels."""
    if not isinstance(backbone, AdaptedBackbone) or not isinstance(backbone.adapter, LoraModule):
        return False
    if not backbone.adapter.mergeable():
        logger.info("LoRA on shared (ALBERT) blocks cannot be merged; exporting it unmerged")
        return False
    return True


def merged_backbone(adapted: AdaptedBackbone) -> keras.Model:
    """A copy of the base backbone whose query/value kernels hold W + (alpha / r) A·B."""
    base = adapted.backbone
    merged = type(base).from_config(base.get_config())
    merged.set_weights(base.get_weights())
    by_path = {v.path: v for v in merged.weights}
    for path, delta in adapted.adapter.kernel_deltas().items():
        variable = by_path[path]
        value = np.asarray(variable, np.float64) + delta
        variable.assign(value.astype(variable.dtype))
    return merged
