"""Exports in bfloat16 / float16: the backbone computes in that type, outputs stay float32."""

from __future__ import annotations

import numpy as np
import pytest

from export import export_trained_model
from serving import Predictor
from tests.conftest import SERVING_TEXTS


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


def test_unknown_dtype_is_refused(serving_models, tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        export_trained_model(serving_models["multiclass"].output_dir, tmp_path, dtype="int8")
    assert list(tmp_path.iterdir()) == []
