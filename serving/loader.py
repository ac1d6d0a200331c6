"""One loader for every export format: a version folder's runtime, told from its files.

    saved_model.pb  -> serving.predictor.Predictor (TensorFlow)
    model.onnx      -> serving.onnx_predictor.OnnxPredictor (ONNX Runtime, no TensorFlow)

predict.sh, serve.sh (and its hot reload, which may switch formats from one version to the
next) and ``Predictor.from_export_dir`` load through here, so no flag names the format. Each
runtime is imported only when a version of its format is loaded.

An ONNX export runs on ONNX Runtime unless ``runtime="openvino"`` (predict.sh / serve.sh
--runtime=openvino, with --precision f32, bf16 or auto): OpenVINO compiles the same
model.onnx; ``dtype`` (--dtype float32, bfloat16 or auto) picks both by what the CPU and the
installed runtimes offer (serving.runtime_choice). A SavedModel has one runtime, TensorFlow,
and the dtype it was exported with; asking it for another is an error.
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
    found: ModelVersion,
    runtime: str | None = None,
    precision: str | None = None,
    dtype: str | None = None,
    **kwargs: Any,
) -> Predictor | OnnxPredictor:
    """The runtime of ``found``'s format, loaded (``kwargs``: batch_size). For an ONNX export
    ``runtime`` ("onnxruntime", "openvino"), ``precision`` (OpenVINO's) and ``dtype``
    ("float32", "bfloat16", "auto": serving.runtime_choice); None: what the export asks."""
    if version_format(found.path) == ONNX:
        from serving.onnx_predictor import OnnxPredictor

        return OnnxPredictor.from_version(
            found, runtime=runtime, precision=precision, dtype=dtype, **kwargs
        )
    asked = [
        flag
        for flag, given in (
            (f"--runtime={runtime}", runtime not in (None, "tensorflow")),
            ("--precision", precision is not None),
            (f"--dtype={dtype}", dtype not in (None, "auto")),  # auto: the one it has
        )
        if given
    ]
    if asked:
        raise ValueError(
            f"{found.path} is a SavedModel, served by TensorFlow; {asked[0]} applies to an "
            "ONNX export (export.sh --format=onnx); a SavedModel computes in the dtype it was "
            "exported with (export.sh --dtype)"
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
