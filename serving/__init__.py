"""Serve an export: a Predictor, the REPL and the Flask app are built on it.

A SavedModel needs tensorflow + tensorflow_text (serving.predictor); an ONNX export
(export.sh --format=onnx) runs on onnxruntime with the project's Python tokenizer and heads,
without TensorFlow (serving.onnx_predictor). ``load_predictor`` picks the runtime from the
version folder's files. Never depends on the training code. Names resolve lazily, so
``serving.versions`` and ``serving.validation`` import without TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InputError": "serving.inputs",
    "OnnxPredictor": "serving.onnx_predictor",
    "load_predictor": "serving.loader",
    "Predictor": "serving.predictor",
    "LabelProbability": "serving.prediction",
    "LabelScore": "serving.prediction",
    "Prediction": "serving.prediction",
    "ModelInfo": "serving.model_info",
    "ModelVersion": "serving.versions",
    "NoModelError": "serving.versions",
    "latest_version": "serving.versions",
    "list_versions": "serving.versions",
    "select_version": "serving.versions",
    "top_k_labels": "serving.prediction",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
