"""Chinese text classification on BERT-family backbones with TensorFlow 2 / Keras 3.

Public API:
    load_backbone(model_dir)  -> the pretrained backbone in a downloaded checkpoint folder
    load_pretrained(model_dir) -> the backbone plus its config, files and load report
    build_backbone(config)    -> a randomly initialised backbone for a ModelConfig
    ModelConfig               -> hyper-parameters of a BERT or ALBERT backbone
    FineTuner(model_dir, ...) -> train.sh's job on Python lists: fit, predict, predict_proba

Names resolve on first use, so light modules (classifier.baseline, classifier.metrics) can be
imported without loading TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FineTuner": "classifier.estimator",
    "ModelConfig": "classifier.config",
    "build_backbone": "classifier.backbones",
    "load_backbone": "classifier.checkpoints",
    "load_pretrained": "classifier.checkpoints",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
