"""The runtime an export format needs, imported on demand with an install hint when missing.

Kept apart from serving.loader (which picks a runtime) so that a runtime module can import
its library without importing the loader that imports it."""

from __future__ import annotations

ONNX_INSTALL_HINT = "pip install 'zh-textclf[onnx]'"
OPENVINO_INSTALL_HINT = "pip install 'zh-textclf[openvino]'"
# Which library runs an ONNX export (predict.sh / serve.sh --runtime).
ONNX_RUNTIMES = ("onnxruntime", "openvino")
# OpenVINO's inference precision (--precision; serving.openvino_session).
OPENVINO_PRECISIONS = ("f32", "bf16", "auto")


class RuntimeMissing(ImportError):
    """The runtime a version's format needs is not installed (the message says what to
    install)."""


def import_onnxruntime():
    """onnxruntime, or RuntimeMissing naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeMissing(
            f"serving an ONNX export needs onnxruntime: {ONNX_INSTALL_HINT}"
        ) from None
    return onnxruntime


def import_openvino():
    """openvino, or RuntimeMissing naming the extra that installs it."""
    try:
        import openvino
    except ImportError:
        raise RuntimeMissing(
            f"--runtime=openvino needs OpenVINO: {OPENVINO_INSTALL_HINT}"
        ) from None
    return openvino
