"""--dtype=auto (issue 25, item 5): the runtime and precision an ONNX export runs at, and the
dtype an export is written in, chosen from the CPU's features and the installed runtimes. The
rules are plain functions of those facts, so every CPU is tested here whatever this one has."""

from __future__ import annotations

import pytest

from classifier import cpu_features
from export.dtype_choice import export_dtype
from serving.runtime_choice import RuntimeChoice, choose_runtime


def pair(got: RuntimeChoice) -> tuple:
    return got.runtime, got.precision


def written(got) -> tuple:
    return got.dtype, got.serve_dtype


def choice(dtype=None, runtime=None, precision=None, *, quantized=False, amx=True, ov=True):
    return choose_runtime(
        dtype,
        runtime,
        precision,
        quantized=quantized,
        amx=lambda: amx,
        openvino=lambda: ov,
    )


@pytest.mark.parametrize(
    ("amx", "ov", "quantized", "runtime", "expected"),
    [
        (True, True, False, None, ("openvino", "bf16")),  # the fast path on AMX
        (True, False, False, None, ("onnxruntime", None)),  # OpenVINO not installed
        (False, True, False, None, ("onnxruntime", None)),  # bfloat16 would be emulated
        (True, True, True, None, ("onnxruntime", None)),  # int8 runs on ONNX Runtime
        (True, True, False, "onnxruntime", ("onnxruntime", None)),  # the runtime as asked
        (False, True, False, "openvino", ("openvino", "f32")),
        (True, True, False, "openvino", ("openvino", "bf16")),
    ],
)
def test_auto_picks_the_fastest_runtime_this_cpu_offers(amx, ov, quantized, runtime, expected):
    got = choice("auto", runtime, quantized=quantized, amx=amx, ov=ov)
    assert pair(got) == expected
    assert got.reason.startswith("auto")


def test_float32_bfloat16_and_precision_are_honoured_as_given():
    assert choice() == RuntimeChoice("onnxruntime", None, "float32")  # the default
    assert pair(choice("float32", "openvino")) == ("openvino", "f32")
    assert pair(choice("bfloat16", amx=False)) == ("openvino", "bf16")  # asked: OpenVINO decides
    assert pair(choice(None, "openvino", "auto")) == ("openvino", "auto")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bfloat16", "onnxruntime", None), "--dtype=bfloat16 runs on --runtime=openvino"),
        (("auto", "openvino", "bf16"), "give --dtype or --precision, not both"),
        ((None, None, "bf16"), "--precision=bf16 applies to --runtime=openvino only"),
        (("float16", None, None), "--dtype must be one of"),
        ((None, "tensorrt", None), "--runtime must be one of"),
        ((None, "openvino", "fp8"), "--precision must be one of"),
    ],
)
def test_flags_that_cannot_go_together_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        choice(*args)


def test_export_dtype_auto():
    amx, no_amx = (lambda: True), (lambda: False)
    onnx = export_dtype("auto", "onnx", amx=no_amx)
    assert written(onnx) == ("float32", "auto")  # chosen where served
    assert written(export_dtype("auto", "saved_model", amx=amx)) == ("bfloat16", None)
    assert export_dtype("auto", "saved_model", "lora", amx=amx).dtype == "bfloat16"
    assert export_dtype("auto", "saved_model", amx=no_amx).dtype == "float32"
    assert export_dtype("auto", "saved_model", "bottleneck", amx=amx).dtype == "float32"
    assert export_dtype("auto", "saved_model", quantize="int8", amx=amx).dtype == "float32"
    assert written(export_dtype("float16", "saved_model", amx=amx)) == ("float16", None)


def test_cpu_flags_are_read_from_cpuinfo(fake_cpu, monkeypatch, tmp_path):
    fake_cpu("amx_tile", "amx_bf16")
    assert cpu_features.has_amx_bf16() and cpu_features.has_native_bf16()
    fake_cpu("avx512_bf16")
    assert not cpu_features.has_amx_bf16() and cpu_features.has_native_bf16()
    monkeypatch.setattr(cpu_features, "CPUINFO", tmp_path / "missing")  # not Linux
    cpu_features.cpu_flags.cache_clear()
    assert cpu_features.cpu_flags() == frozenset() and not cpu_features.has_native_bf16()
