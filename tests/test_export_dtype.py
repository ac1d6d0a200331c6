"""Exports in bfloat16 / float16: the backbone computes in that type, outputs stay float32."""

from __future__ import annotations

import numpy as np
import pytest

from export import export_trained_model
from serving import Predictor
from tests.support.samples import SERVING_TEXTS

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_export_stays_close_to_float32(serving_models, tmp_path, dtype):
    reference = Predictor.from_export_dir(serving_models["multiclass"].export_dir)
    result = export_trained_model(serving_models["multiclass"].output_dir, tmp_path, dtype=dtype)
    predictor = Predictor(result.path, version=result.version)
    assert predictor.info.metadata["dtype"] == dtype
    got = predictor.run(SERVING_TEXTS)
    want = reference.run(SERVING_TEXTS)
    assert got["probabilities"].dtype == np.float32
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=2e-2)


def test_auto_is_bfloat16_on_an_amx_cpu_and_float32_elsewhere(serving_models, tmp_path, fake_cpu):
    """export.sh --dtype=auto on a SavedModel: the exporting CPU decides (a bfloat16 graph is
    only faster at batch 1 where AMX computes it)."""
    run = serving_models["multiclass"].output_dir
    fake_cpu("avx512_bf16")
    plain = export_trained_model(run, tmp_path / "plain", dtype="auto")
    assert plain.metadata["dtype"] == "float32" and "serve_dtype" not in plain.metadata
    fake_cpu("amx_tile", "amx_bf16")
    fast = export_trained_model(run, tmp_path / "amx", dtype="auto")
    assert Predictor(fast.path).info.metadata["dtype"] == "bfloat16"


def test_unknown_dtype_is_refused(serving_models, tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        export_trained_model(serving_models["multiclass"].output_dir, tmp_path, dtype="int8")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["multiclass", "multilabel_pair"])
def test_frozen_weights_export_predicts_exactly_as_the_default(serving_models, tmp_path, kind):
    model = serving_models[kind]
    reference = Predictor.from_export_dir(model.export_dir)
    result = export_trained_model(model.output_dir, tmp_path, freeze_weights=True)
    predictor = Predictor(result.path, version=result.version)
    texts = SERVING_TEXTS
    texts_b = list(reversed(SERVING_TEXTS)) if kind == "multilabel_pair" else None
    got, want = predictor.run(texts, texts_b), reference.run(texts, texts_b)
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-5)
    ids = predictor.tokenize(texts, texts_b)
    by_ids = predictor.run_ids(**ids)
    np.testing.assert_allclose(by_ids["probabilities"], want["probabilities"], atol=1e-5)
    # The weights live in the graph as constants, once: no variables are saved.
    variables = [
        p for p in (result.path / "variables").iterdir() if p.name.startswith("variables.data")
    ]
    assert sum(p.stat().st_size for p in variables) < 10_000


@pytest.mark.parametrize("freeze", [False, True])
def test_int8_export_stays_close_to_float32(serving_models, tmp_path, freeze):
    """export.sh --quantize=int8: keras' int8 dense layers inside the same SavedModel."""
    reference = Predictor.from_export_dir(serving_models["multiclass"].export_dir)
    result = export_trained_model(
        serving_models["multiclass"].output_dir, tmp_path, quantize="int8", freeze_weights=freeze
    )
    predictor = Predictor(result.path, version=result.version)
    assert predictor.info.metadata["quantize"] == "int8"
    got, want = predictor.run(SERVING_TEXTS), reference.run(SERVING_TEXTS)
    difference = np.abs(got["probabilities"] - want["probabilities"]).max()
    assert 0 < difference < 5e-2  # quantized (not the float32 graph), and close to it


def test_int8_needs_float32(serving_models, tmp_path):
    with pytest.raises(ValueError, match="--quantize must be one of"):
        export_trained_model(
            serving_models["multiclass"].output_dir, tmp_path, dtype="bfloat16", quantize="int8"
        )
