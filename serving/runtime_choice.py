"""Which runtime and precision run an ONNX export: predict.sh / serve.sh ``--dtype``.

    float32   ONNX Runtime (or --runtime=openvino at f32)
    bfloat16  OpenVINO at bf16 (ONNX Runtime has no bfloat16 path on CPU worth taking)
    auto      the fastest this CPU and the installed runtimes offer, decided where the model
              is served (not where it was exported): OpenVINO bf16 on a CPU with AMX when
              OpenVINO is installed, else ONNX Runtime float32; a --quantize=int8 export
              always runs on ONNX Runtime (its quantized attention is an onnxruntime operator)

The rule follows benchmarks/RESULTS.md ("The ONNX export"): on an AMX CPU OpenVINO bf16 ran
one text at 1.95x (short reviews) and 3.29x (128 tokens) ONNX Runtime float32, with no accuracy
change on a trained model; without AMX bfloat16 is emulated and OpenVINO float32 was not
reliably faster than ONNX Runtime. An export made with ``export.sh --dtype=auto`` asks for
``auto`` by default (metadata ``serve_dtype``); otherwise the default is float32.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass

from classifier.cpu_features import has_amx_bf16
from serving.runtimes import ONNX_RUNTIMES, OPENVINO_PRECISIONS

logger = logging.getLogger(__name__)

SERVE_DTYPES = ("float32", "bfloat16", "auto")
ONNXRUNTIME, OPENVINO = ONNX_RUNTIMES


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime, OpenVINO's precision (None on ONNX Runtime) and why (for the log)."""

    runtime: str
    precision: str | None
    reason: str


def choose_runtime(
    dtype: str | None = None,
    runtime: str | None = None,
    precision: str | None = None,
    *,
    quantized: bool = False,
    amx: Callable[[], bool] = has_amx_bf16,
    openvino: Callable[[], bool] = openvino_installed,
) -> RuntimeChoice:
    """The runtime and precision for ``dtype`` (None: float32), honouring an explicit
    ``runtime`` and ``precision`` (--precision is OpenVINO's own setting and excludes --dtype).
    ValueError names the flags that cannot go together."""
    if dtype is not None and dtype not in SERVE_DTYPES:
        raise ValueError(f"--dtype must be one of {SERVE_DTYPES}, got {dtype!r}")
    if runtime is not None and runtime not in ONNX_RUNTIMES:
        raise ValueError(f"--runtime must be one of {ONNX_RUNTIMES}, got {runtime!r}")
    if precision is not None:
        if precision not in OPENVINO_PRECISIONS:
            raise ValueError(f"--precision must be one of {OPENVINO_PRECISIONS}, got {precision!r}")
        if runtime != OPENVINO:
            raise ValueError(f"--precision={precision} applies to --runtime=openvino only")
        if dtype is not None:
            raise ValueError("give --dtype or --precision, not both")
        return RuntimeChoice(OPENVINO, precision, "--precision")
    if dtype in (None, "float32"):
        runtime = runtime or ONNXRUNTIME
        return RuntimeChoice(runtime, "f32" if runtime == OPENVINO else None, "float32")
    if dtype == "bfloat16":
        if runtime == ONNXRUNTIME:
            raise ValueError(
                "--dtype=bfloat16 runs on --runtime=openvino (ONNX Runtime has no fast bfloat16 "
                "CPU path); use --dtype=float32 or --runtime=openvino"
            )
        return RuntimeChoice(OPENVINO, "bf16", "bfloat16")  # an int8 export is refused by name
    return _fastest(runtime, quantized, amx, openvino)


def _fastest(
    runtime: str | None, quantized: bool, amx: Callable[[], bool], openvino: Callable[[], bool]
) -> RuntimeChoice:
    """--dtype=auto (see the module docstring)."""
    if quantized and runtime != OPENVINO:  # OpenVINO is refused by name for an int8 export
        return RuntimeChoice(ONNXRUNTIME, None, "auto: an int8 export runs on ONNX Runtime")
    if runtime == ONNXRUNTIME:
        return RuntimeChoice(ONNXRUNTIME, None, "auto: --runtime=onnxruntime computes in float32")
    if not amx():
        if runtime == OPENVINO:
            return RuntimeChoice(OPENVINO, "f32", "auto: no AMX on this CPU, float32")
        return RuntimeChoice(ONNXRUNTIME, None, "auto: no AMX on this CPU, ONNX Runtime float32")
    if not openvino():
        return RuntimeChoice(
            ONNXRUNTIME,
            None,
            "auto: this CPU has AMX but OpenVINO is not installed (pip install "
            "'zh-textclf[openvino]' for bfloat16), ONNX Runtime float32",
        )
    return RuntimeChoice(OPENVINO, "bf16", "auto: AMX on this CPU, OpenVINO bfloat16")
