"""One loader for every export format: a version folder's runtime, told from its files.

    saved_model.pb  -> serving.predictor.Predictor (TensorFlow)
    model.onnx      -> serving.onnx_predictor.OnnxPredictor (ONNX Runtime, no TensorFlow)

predict.sh, serve.sh (and its hot reload, which may switch formats from one version to the
next) and ``Predictor.from_export_dir`` load through here, so no flag names the format. Each
runtime is imported only when a version of its format is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.runtimes import ONNX_INSTALL_HINT, RuntimeMissing, import_onnxruntime
from serving.versions import ONNX, ModelVersion, select_version, version_format

if TYPE_CHECKING:
    from serving.onnx_predictor import OnnxPredictor
    from serving.predictor import Predictor


def load_version(found: ModelVersion, **kwargs: Any) -> Predictor | OnnxPredictor:
    """The runtime of ``found``'s format, loaded (``kwargs``: batch_size)."""
    if version_format(found.path) == ONNX:
        from serving.onnx_predictor import OnnxPredictor

        return OnnxPredictor.from_version(found, **kwargs)
    from serving.predictor import Predictor

    return Predictor(found.path, version=found.version, **kwargs)


def load_predictor(
    export_dir: str | Path, version: int | None = None, **kwargs: Any
) -> Predictor | OnnxPredictor:
    """The given version of ``export_dir`` (None: the highest), or ``export_dir`` itself when
    it is one version folder, in the runtime its format needs."""
    return load_version(select_version(export_dir, version), **kwargs)


__all__ = [
    "ONNX_INSTALL_HINT",
    "RuntimeMissing",
    "import_onnxruntime",
    "load_predictor",
    "load_version",
]
