"""apply_adapters: the one entry point that puts adapters on a backbone."""

from __future__ import annotations

from typing import Any

import keras

from classifier.adapter_config.base import AdapterConfig
from classifier.adapters.adapted_backbone import AdaptedBackbone


def apply_adapters(
    backbone: keras.Model,
    config: AdapterConfig | dict[str, Any],
    *,
    base_fingerprint: str | None = None,
    initialize: bool = True,
) -> AdaptedBackbone:
    """``backbone`` frozen, with the adapters of ``config``, ready to train or to load into.

    The backbone itself is not modified (beyond its variables' trainable flags); the result has
    the backbone's inputs and outputs. ``base_fingerprint`` skips hashing the weights when
    already known; ``initialize`` runs kind-specific setup (AdapterFusion loads its members'
    trained weights), which rebuilding a saved model skips because its weights follow.
    """
    adapted = AdaptedBackbone(backbone, config, base_fingerprint=base_fingerprint)
    if initialize:
        adapted.adapter.initialize(adapted)
    return adapted
