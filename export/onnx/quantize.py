"""export.sh --format=onnx --quantize=int8: ONNX Runtime's dynamic int8 quantization of the
fused graph.

``onnxruntime.quantization.quantize_dynamic`` stores the weights of the chosen operators as
int8 (per output channel: one scale per column, so a column of small weights keeps its
precision) and quantizes their inputs to uint8 at run time, one scale per tensor per call
(nothing to calibrate; a call's own range is used). On the fused graph that is every dense
layer: the fused Attention's packed Q/K/V projection becomes QAttention, the attention
output, FFN and pooler/head MatMuls become DynamicQuantizeMatMul / MatMulIntegerToFloat;
embeddings, LayerNorm, GELU and softmax stay float32. ONNX Runtime runs those with its u8s8
kernels (AVX-512 VNNI / AMX where the CPU has them).

The fused graph holds com.microsoft operators that ONNX shape inference cannot type, so the
quantizer is told that untyped tensors are float32 (DefaultTensorType).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import onnx

QUANTIZE = ("int8",)
# The operators whose weights become int8 (the fused graph's dense layers).
QUANTIZED_OPERATORS = ("MatMul", "Attention")
PER_CHANNEL = True
# What the quantizer turns them into (counted into the metadata).
QUANTIZED_KINDS = ("QAttention", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger")


def quantize_int8(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """(the dynamically quantized model, metadata.json's "quantization" section)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="onnx-int8-") as tmp:
        source, target = Path(tmp) / "float32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(source))
        with _quiet_preprocessing_advice():
            quantize_dynamic(
                str(source),
                str(target),
                op_types_to_quantize=list(QUANTIZED_OPERATORS),
                per_channel=PER_CHANNEL,
                weight_type=QuantType.QInt8,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        quantized = onnx.load(str(target))
    counts: dict[str, int] = {}
    for node in quantized.graph.node:
        if node.op_type in QUANTIZED_KINDS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return quantized, {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "weights": f"int8, {'per output channel' if PER_CHANNEL else 'per tensor'}",
        "activations": "uint8, one scale per tensor computed at run time",
        "operators": list(QUANTIZED_OPERATORS),
        "quantized_operators": counts,
    }


class _quiet_preprocessing_advice(logging.Filter):
    """quantize_dynamic warns on the root logger that a model should go through its
    shape-inference pre-processing first; that pass does nothing for a graph of
    com.microsoft operators (it cannot type them), so the advice is dropped while it runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "consider to run pre-processing" not in record.getMessage()

    def __enter__(self):
        logging.getLogger().addFilter(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeFilter(self)
        return False
