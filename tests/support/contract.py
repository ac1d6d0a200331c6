"""The contract every backbone keeps, checked the same way for each family (keras-hub's
TestCase.run_backbone_test plays this role there).

A backbone takes dict inputs (token_ids, segment_ids, padding_mask) of any length and returns
dict outputs (sequence_output [B, L, H], pooled_output [B, H]); padding never changes what the
real tokens get; get_config round-trips as plain JSON; the Keras file format round-trips; and
the padding-free path (packed_outputs, what training and serving run) equals the padded one.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


def batch(vocab_size: int, lengths: list[int], width: int | None = None, seed: int = 0) -> dict:
    """Token ids (a second segment from the fourth token on), padded to ``width``."""
    rng = np.random.default_rng(seed)
    width = width or max(lengths)
    ids = np.zeros((len(lengths), width), np.int32)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, vocab_size, n)
        mask[row, :n] = 1
    segments = np.zeros_like(ids)
    segments[:, 3:] = mask[:, 3:]
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


def run_backbone_contract(backbone: keras.Model, vocab_size: int, tmp_path: Path) -> None:
    hidden = backbone.get_config()["hidden_size"]
    for lengths in ([7, 3], [20, 20, 11]):
        out = backbone(batch(vocab_size, lengths), training=False)
        assert set(out) == {"sequence_output", "pooled_output"}
        assert tuple(out["sequence_output"].shape) == (len(lengths), max(lengths), hidden)
        assert tuple(out["pooled_output"].shape) == (len(lengths), hidden)

    tight = backbone(batch(vocab_size, [9, 4]), training=False)
    padded = backbone(batch(vocab_size, [9, 4], width=16), training=False)
    for row, n in enumerate([9, 4]):
        np.testing.assert_allclose(
            padded["sequence_output"][row, :n], tight["sequence_output"][row, :n], atol=1e-5
        )
    np.testing.assert_allclose(padded["pooled_output"], tight["pooled_output"], atol=1e-5)

    x = batch(vocab_size, [6, 5])
    reference = backbone(x, training=False)
    config = backbone.get_config()
    json.dumps(config)
    clone = type(backbone).from_config(config)
    clone.set_weights(backbone.get_weights())
    np.testing.assert_array_equal(
        clone(x, training=False)["pooled_output"], reference["pooled_output"]
    )

    path = tmp_path / "backbone.keras"
    backbone.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        loaded(x, training=False)["sequence_output"], reference["sequence_output"]
    )

    lengths = x["padding_mask"].sum(axis=1)
    ragged = {
        k: tf.RaggedTensor.from_tensor(x[k], lengths=lengths) for k in ("token_ids", "segment_ids")
    }
    packed = backbone.packed_outputs(ragged["token_ids"], ragged["segment_ids"])
    np.testing.assert_allclose(packed["pooled_output"], reference["pooled_output"], atol=1e-5)
    for row, n in enumerate(lengths):
        np.testing.assert_allclose(
            packed["sequence_output"][row].numpy(),
            reference["sequence_output"][row, :n],
            atol=1e-5,
        )
