"""One loader for every export format: a version folder's runtime, told from its files.

    saved_model.pb  -> serving.predictor.Predictor (TensorFlow)
    model.onnx      -> serving.onnx_predictor.OnnxPredictor (ONNX Runtime, no TensorFlow)

predict.sh, serve.sh (and its hot reload, which may switch formats from one version to the
next) and ``Predictor.from_export_dir`` load through here, so no flag names the format. Each
runtime is imported only when a version of its format is loaded.

An ONNX export runs on ONNX Runtime unless ``runtime="openvino"`` (predict.sh / serve.sh
--runtime=openvino, with --precision f32, bf16 or auto): OpenVINO compiles the same
model.onnx. A SavedModel has one runtime, TensorFlow; asking it for another is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.runtimes import (
    ONNX_INSTALL_HINT,
    ONNX_RUNTIMES,
    OPENVINO_INSTALL_HINT,
    RuntimeMissing,
    import_onnxruntime,
)
from serving.versions import ONNX, ModelVersion, select_version, version_format

if TYPE_CHECKING:
    from serving.onnx_predictor import OnnxPredictor
    from serving.predictor import Predictor


def load_version(
    found: ModelVersion, runtime: str | None = None, precision: str | None = None, **kwargs: Any
) -> Predictor | OnnxPredictor:
    """The runtime of ``found``'s format, loaded (``kwargs``: batch_size). ``runtime`` for an
    ONNX export: "onnxruntime" (None: the default) or "openvino" at ``precision``."""
    if version_format(found.path) == ONNX:
        from serving.onnx_predictor import OnnxPredictor

        options = {"runtime": runtime} if runtime is not None else {}
        return OnnxPredictor.from_version(found, precision=precision, **options, **kwargs)
    if runtime not in (None, "tensorflow") or precision is not None:
        asked = f"--runtime={runtime}" if runtime not in (None, "tensorflow") else "--precision"
        raise ValueError(
            f"{found.path} is a SavedModel, served by TensorFlow; {asked} applies to an ONNX "
            "export (export.sh --format=onnx)"
        )
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
    "ONNX_RUNTIMES",
    "OPENVINO_INSTALL_HINT",
    "RuntimeMissing",
    "import_onnxruntime",
    "load_predictor",
    "load_version",
]
