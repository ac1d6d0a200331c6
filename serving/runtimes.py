"""The runtime an export format needs, imported on demand with an install hint when missing.

Kept apart from serving.loader (which picks a runtime) so that a runtime module can import
its library without importing the loader that imports it."""

from __future__ import annotations

ONNX_INSTALL_HINT = "pip install 'zh-textclf[onnx]'"


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
