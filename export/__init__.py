"""Export a trained classifier as a TensorFlow SavedModel that takes raw text, or as ONNX.

    export_trained_model(output_dir, export_dir) -> ExportResult(version, path, metadata, ...)
    export_trained_model(..., export_format="onnx"): model.onnx + settings (export.onnx)

Depends on the classifier package only; the result is served by serving/ (or TF Serving)
with nothing but tensorflow and tensorflow_text. Names resolve lazily, so the pure-Python
``export.versioned_dir`` imports without TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExportResult": "export.exporter",
    "build_serving_module": "export.exporter",
    "export_metadata": "export.exporter",
    "export_trained_model": "export.exporter",
    "export_onnx_model": "export.onnx.writer",
    "OUTPUT_KEYS": "export.serving_module",
    "ServingModule": "export.serving_module",
    "describe_signatures": "export.serving_module",
    "existing_versions": "export.versioned_dir",
    "next_version": "export.versioned_dir",
    "write_version": "export.versioned_dir",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
