"""Schedule, optimizer exclusions, padding, output-folder guard, class weights, spec I/O."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.batching import (
    EncodedExamples,
    inference_batches,
    pad_batch,
)
from classifier.classifier_spec import ClassifierSpec, SpecError
from classifier.config import ModelConfig
from classifier.heads import balanced_class_weights
from classifier.run_folder import RunFolderError, open_run_folder
from classifier.training.optimizer import WarmupLinearDecay, create_optimizer
from classifier.training.output_dir import RUN_ARTIFACTS


def test_schedule_warms_up_then_decays_linearly_to_zero():
    s = WarmupLinearDecay(1e-3, total_steps=100, warmup_steps=10)
    values = [float(s(i)) for i in (0, 5, 10, 55, 100, 150)]
    assert values == pytest.approx([0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0])


def test_no_weight_decay_on_layer_norm_and_bias():
    import keras

    optimizer = create_optimizer(1e-3, total_steps=10)
    decayed = {
        name: optimizer._use_weight_decay(keras.Variable(np.ones(2), name=name))
        for name in ("kernel", "embeddings", "bias", "gamma", "beta", "position_embeddings")
    }
    assert decayed == {
        "kernel": True,
        "embeddings": True,
        "bias": False,
        "gamma": False,
        "beta": False,
        "position_embeddings": True,
    }


def test_pad_batch_pads_to_the_batch_longest_row_only():
    data = EncodedExamples(
        [np.array([2, 7, 3]), np.array([2, 8, 9, 10, 3])],
        [np.array([0, 0, 0]), np.array([0, 0, 0, 1, 1])],
    )
    batch = pad_batch(data, np.array([0, 1]))
    assert batch["token_ids"].tolist() == [[2, 7, 3, 0, 0], [2, 8, 9, 10, 3]]
    assert batch["padding_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["segment_ids"].tolist() == [[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]]


def test_inference_batches_restore_the_original_order():
    ids = [np.arange(n) for n in (5, 2, 9, 3, 7)]
    data = EncodedExamples(ids, [np.zeros(n, np.int64) for n in (5, 2, 9, 3, 7)])
    dataset, restore = inference_batches(data, batch_size=2)
    rows = []
    for batch in dataset:
        rows += [int(m.sum()) for m in batch["padding_mask"].numpy()]
    assert np.array(rows)[restore].tolist() == [5, 2, 9, 3, 7]


def test_output_dir_guard(tmp_path):
    out = tmp_path / "run"
    open_run_folder(out, {"a": 1}, False, RUN_ARTIFACTS)
    (out / "eval_results.json").write_text("{}")
    (out / "my_notes.txt").write_text("keep me")
    (out / "run.json").unlink()  # a folder holding files but no run to resume
    with pytest.raises(RunFolderError, match="--overwrite"):
        open_run_folder(out, {"a": 1}, False, RUN_ARTIFACTS)
    open_run_folder(out, {"a": 1}, True, RUN_ARTIFACTS)
    assert not (out / "eval_results.json").exists()
    assert (out / "my_notes.txt").read_text() == "keep me"


def test_balanced_class_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 1, 2, 2])
    ours = balanced_class_weights(labels, 3)
    ref = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    assert ours == pytest.approx(ref)


def test_spec_round_trip_and_validation(tmp_path):
    model = ModelConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2)
    spec = ClassifierSpec(model=model, labels=("体育", "财经"), head_kind="multiclass")
    spec.save(tmp_path / "c.json")
    assert ClassifierSpec.load(tmp_path / "c.json") == spec
    with pytest.raises(SpecError, match="max_seq_length"):
        ClassifierSpec(model=model, labels=("a", "b"), head_kind="multiclass", max_seq_length=1000)
    with pytest.raises(SpecError, match="unique"):
        ClassifierSpec(model=model, labels=("a", "a"), head_kind="multiclass")
