"""OpenVinoSession: an ONNX export's model.onnx compiled by OpenVINO for the CPU, behind the
one method serving.onnx_predictor.OnnxPredictor calls on an onnxruntime InferenceSession
(``run(output_names, feeds)``), so ``predict.sh / serve.sh --runtime=openvino`` reuse the
ONNX path's tokenizer, batching, long-text pooling and decisions unchanged.

OpenVINO reads model.onnx as export.sh writes it: its ONNX frontend has the com.microsoft
operators onnxruntime's fusions produce (EmbedLayerNormalization, Attention,
SkipLayerNormalization, FastGelu), so no second, unfused graph is kept in the export.

``precision`` is OpenVINO's INFERENCE_PRECISION_HINT: "f32" (the default: the probabilities
ONNX Runtime gives, within 1e-4), "bf16" (bfloat16 matmuls on CPUs with AVX512-BF16 or AMX:
faster, probabilities within ~1e-2) or "auto" (OpenVINO's own choice: bf16 where the CPU has
AMX, f32 elsewhere). The compiled model is tuned for latency (PERFORMANCE_HINT LATENCY: one
stream, every core on one call). An infer request serves one call at a time, so each thread
gets its own.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from serving.runtimes import OPENVINO_PRECISIONS as PRECISIONS
from serving.runtimes import import_openvino

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")  # the export's (onnx_predictor)


class OpenVinoSession:
    """model.onnx compiled by OpenVINO on the CPU; ``run`` as InferenceSession.run."""

    def __init__(self, model_file: str | Path, precision: str = "f32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        ov = import_openvino()
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if precision != "auto":
            config["INFERENCE_PRECISION_HINT"] = precision
        self.compiled = core.compile_model(core.read_model(str(model_file)), "CPU", config)
        self.precision = precision
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.inference_precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        # every name of each output (OpenVINO keeps a producer's tensor name beside "logits")
        self._outputs = {name: o for o in self.compiled.outputs for name in o.get_names()}
        self._local = threading.local()

    def input_names(self) -> tuple[str, ...]:
        names = [i.get_names() for i in self.compiled.inputs]
        return tuple(next((n for n in found if n in INPUT_NAMES), min(found)) for found in names)

    def output_names(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    def run(self, output_names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        results = request.infer(feeds)
        return [np.array(results[self._outputs[name]], copy=True) for name in output_names]
