"""export.sh ``--dtype=auto``: the dtype the export is written in, and what serving then picks.

An ONNX export is written in float32 (model.onnx is the graph every runtime reads) and marked
``serve_dtype: auto`` in its metadata, so predict.sh and serve.sh choose the runtime and
precision on the CPU that serves it (serving.runtime_choice: OpenVINO bfloat16 on AMX, else
ONNX Runtime float32). A SavedModel's dtype is baked into its graph, so it is chosen here, on
the exporting CPU: bfloat16 where it has AMX (1.5-2.3x float32 at batch 1 in
benchmarks/RESULTS.md, probabilities within ~1e-2), float32 elsewhere, and float32 where a
bfloat16 SavedModel cannot be built (int8, adapters other than LoRA).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from classifier.cpu_features import has_amx_bf16

logger = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class ExportDtype:
    """What the export computes in, and the metadata's ``serve_dtype`` (None: not written)."""

    dtype: str
    serve_dtype: str | None
    reason: str


def export_dtype(
    dtype: str,
    export_format: str,
    adapter_kind: str | None = None,
    quantize: str | None = None,
    amx: Callable[[], bool] = has_amx_bf16,
) -> ExportDtype:
    """``dtype`` as given, or for "auto" the choice the module docstring describes."""
    if dtype != AUTO:
        return ExportDtype(dtype, None, "--dtype")
    if export_format == "onnx":
        return ExportDtype("float32", AUTO, "ONNX: float32 graph, dtype chosen where served")
    if quantize is not None:
        return ExportDtype("float32", None, f"--quantize={quantize} needs float32")
    if not amx():
        return ExportDtype("float32", None, "no AMX on this CPU")
    if adapter_kind not in (None, "lora"):
        return ExportDtype("float32", None, f"a bfloat16 export cannot carry {adapter_kind}")
    return ExportDtype("bfloat16", None, "AMX on this CPU")
