"""Saved adapters: round trip with the head, refusal of another base, several tasks on one
backbone, and AdapterFusion over saved adapters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_adapters import (
    KINDS,
    assert_packed_matches_padded,
    config_of,
    count,
    inputs,
    perturb,
    tiny_backbone,
)


def trained_classifier(name: str, seed: int = 1, config=None):
    """A classifier with non-zero ('trained') adapter and head weights, and its spec."""
    from classifier.adapters import apply_adapters
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier

    backbone, model_config = tiny_backbone(seed)
    adapted = apply_adapters(backbone, config or config_of(name))
    spec = ClassifierSpec(
        model=model_config,
        labels=("a", "b", "c", "d"),
        head_kind="multiclass",
        task_name=f"task_{name}",
        adapter=adapted.adapter_config.to_dict(),
        base_model={"checkpoint": "in memory", "fingerprint": adapted.base_fingerprint},
    )
    model = build_classifier(spec, adapted)
    perturb(adapted.adapter_weights(), seed=seed + 10, scale=0.2)
    perturb(model.head.weights, seed=seed + 20)
    for i, variable in enumerate(adapted.adapter.backbone_trainable()):  # Houlsby LayerNorms
        variable.assign(np.asarray(variable) * (1.0 + 0.01 * (i + 1)))
    return model, spec


def logits(model, seed: int = 0) -> np.ndarray:
    return np.asarray(model(inputs(seed), training=False))


@pytest.mark.parametrize("name", list(KINDS))
def test_saved_adapter_reloads_onto_the_base_and_predicts_identically(name, tmp_path):
    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import save_adapter

    model, spec = trained_classifier(name)
    expected = logits(model)
    summary = save_adapter(tmp_path / "adapter", model, spec)

    fresh, _ = tiny_backbone(1)  # the same base, loaded again
    reloaded, reloaded_spec = load_adapter(tmp_path / "adapter", fresh)
    np.testing.assert_array_equal(logits(reloaded), expected)
    assert reloaded_spec.labels == spec.labels and reloaded_spec.adapter == spec.adapter

    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert saved["base_fingerprint"] == model.backbone.base_fingerprint
    assert saved["adapter"]["kind"] == KINDS[name][0]
    from safetensors.numpy import load_file

    tensors = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    prefixes = {key.split("/")[0] for key in tensors}
    assert prefixes == (
        {"adapter", "head", "backbone"} if name == "houlsby" else {"adapter", "head"}
    )
    assert sum(v.size for v in tensors.values()) == summary["parameters"]["saved"]
    assert summary["parameters"]["saved"] < 0.3 * summary["parameters"]["backbone"]


def test_loading_onto_another_base_fails_naming_both_fingerprints(tmp_path):
    from classifier.adapter_config.saved_adapter import short
    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import BaseModelMismatchError, save_adapter

    model, spec = trained_classifier("pfeiffer")
    save_adapter(tmp_path / "adapter", model, spec)
    other, _ = tiny_backbone(seed=2)
    from classifier.adapters import base_fingerprint

    with pytest.raises(BaseModelMismatchError) as err:
        load_adapter(tmp_path, other)  # the training output folder works too
    message = str(err.value)
    assert short(model.backbone.base_fingerprint) in message
    assert short(base_fingerprint(other)) in message


def test_fingerprint_is_stable_and_sensitive():
    from classifier.adapters import base_fingerprint

    a, _ = tiny_backbone(1)
    b, _ = tiny_backbone(1)
    assert base_fingerprint(a) == base_fingerprint(b)
    b.weights[7].assign(np.asarray(b.weights[7]) + 1e-6)
    assert base_fingerprint(a) != base_fingerprint(b)


def test_load_adapter_from_the_base_checkpoint_folder(google_bert_dir, tmp_path):
    import classifier
    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import apply_adapters, make_adapter_config, save_adapter
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier

    adapted = apply_adapters(classifier.load_backbone(google_bert_dir), make_adapter_config("lora"))
    spec = ClassifierSpec(
        model=classifier.load_pretrained(google_bert_dir).config,
        labels=("x", "y"),
        head_kind="multiclass",
        adapter=adapted.adapter_config.to_dict(),
        base_model={"fingerprint": adapted.base_fingerprint},
    )
    model = build_classifier(spec, adapted)
    perturb(adapted.adapter_weights(), scale=0.1)
    vocab = adapted.backbone.vocab_size
    batch = {k: np.minimum(v, vocab - 1) for k, v in inputs().items()}
    expected = np.asarray(model(batch, training=False))
    save_adapter(tmp_path / "adapter", model, spec)
    reloaded, _ = load_adapter(tmp_path / "adapter", google_bert_dir)
    np.testing.assert_array_equal(np.asarray(reloaded(batch, training=False)), expected)


def test_adapter_set_switches_tasks_on_one_backbone(tmp_path):
    from classifier.adapter_tasks import AdapterSet
    from classifier.adapters import AdapterError, save_adapter

    expected = {}
    for name in ("pfeiffer", "houlsby", "lora", "k_adapter"):
        model, spec = trained_classifier(name)
        save_adapter(tmp_path / name / "adapter", model, spec)
        expected[name] = logits(model)

    backbone, _ = tiny_backbone(1)
    base_values = [np.asarray(v).copy() for v in backbone.weights]
    tasks = AdapterSet(backbone)
    for name in expected:
        tasks.add(tmp_path / name)  # named after the training output folder
    assert tasks.tasks == tuple(expected) and tasks.active == "pfeiffer"
    for name in ("houlsby", "lora", "pfeiffer", "k_adapter", "houlsby", "pfeiffer"):
        model = tasks.activate(name)
        assert tasks.active == name
        np.testing.assert_array_equal(logits(model), expected[name])
    # only Houlsby's LayerNorms are ever written into the shared backbone, and undone
    tasks.activate("lora")
    for value, variable in zip(base_values, backbone.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(variable), value)
    # non-Houlsby task models are right even without activation
    np.testing.assert_array_equal(logits(tasks.model("k_adapter")), expected["k_adapter"])
    with pytest.raises(AdapterError, match="already loaded"):
        tasks.add(tmp_path / "lora")
    with pytest.raises(AdapterError, match="no task 'nope'"):
        tasks.activate("nope")


# === AdapterFusion over saved adapters ===
def saved_member(tmp_path, name: str, seed: int = 1, config=None):
    from classifier.adapters import save_adapter

    model, spec = trained_classifier(name, seed=seed, config=config)
    folder = tmp_path / f"member_{name}_{seed}_{len(list(tmp_path.iterdir()))}"
    save_adapter(folder / "adapter", model, spec)
    return folder, model


def test_fusion_of_identical_adapters_equals_the_adapter(tmp_path):
    from classifier.adapters import apply_adapters, make_adapter_config

    folder, member = saved_member(tmp_path, "pfeiffer")
    backbone, _ = tiny_backbone(1)
    fusion = apply_adapters(
        backbone, make_adapter_config("fusion", adapter_dirs=(str(folder), str(folder)))
    )
    batch = inputs()
    single = {k: np.asarray(v) for k, v in member.backbone(batch, training=False).items()}
    fused = {k: np.asarray(v) for k, v in fusion(batch, training=False).items()}
    np.testing.assert_allclose(fused["sequence_output"], single["sequence_output"], atol=1e-6)
    np.testing.assert_allclose(fused["pooled_output"], single["pooled_output"], atol=1e-6)
    # only the fusion layers train: Q and K (with bias) and V (no bias) per fused point
    hidden = 32
    assert count(fusion.trainable_weights) == 2 * (3 * hidden * hidden + 2 * hidden)
    members = [v for v in fusion.adapter_weights() if not v.trainable]
    assert count(members) == 2 * count(member.backbone.adapter_weights())


def test_fusion_trains_saves_and_reloads_without_its_members(tmp_path):
    import shutil

    import keras

    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import apply_adapters, make_adapter_config, save_adapter
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier

    first, _ = saved_member(tmp_path, "pfeiffer", seed=1)
    second, _ = saved_member(
        tmp_path, "drop", seed=1, config=config_of("adapter_drop", drop_layers=1)
    )
    backbone, model_config = tiny_backbone(1)
    config = make_adapter_config("fusion", adapter_dirs=(str(first), str(second)))
    adapted = apply_adapters(backbone, config)
    spec = ClassifierSpec(
        model=model_config,
        labels=("a", "b", "c", "d"),
        head_kind="multiclass",
        adapter=adapted.adapter_config.to_dict(),
        base_model={"fingerprint": adapted.base_fingerprint},
    )
    model = build_classifier(spec, adapted)
    frozen = [np.asarray(v).copy() for v in adapted.adapter_weights() if not v.trainable]
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(inputs(), np.array([0, 1, 2, 3]), epochs=2, verbose=0)
    after = [np.asarray(v) for v in adapted.adapter_weights() if not v.trainable]
    for a, b in zip(frozen, after, strict=True):
        np.testing.assert_array_equal(a, b)
    expected = logits(model)
    assert_packed_matches_padded(adapted)  # fused points see [tokens, hidden] there
    save_adapter(tmp_path / "fusion" / "adapter", model, spec)
    shutil.rmtree(first)
    shutil.rmtree(second)
    reloaded, _ = load_adapter(tmp_path / "fusion", tiny_backbone(1)[0])
    np.testing.assert_array_equal(logits(reloaded), expected)


def test_fusion_refuses_members_that_trained_layer_norms_or_another_base(tmp_path):
    from classifier.adapters import (
        AdapterConfigError,
        BaseModelMismatchError,
        apply_adapters,
        make_adapter_config,
    )

    pfeiffer, _ = saved_member(tmp_path, "pfeiffer")
    houlsby, _ = saved_member(tmp_path, "houlsby")
    with pytest.raises(AdapterConfigError, match="LayerNorms"):
        make_adapter_config("fusion", adapter_dirs=(str(pfeiffer), str(houlsby)))
    with pytest.raises(AdapterConfigError, match="at least two"):
        make_adapter_config("fusion", adapter_dirs=(str(pfeiffer),))
    other_base, _ = saved_member(tmp_path, "pfeiffer", seed=2)
    with pytest.raises(AdapterConfigError, match="different bases"):
        make_adapter_config("fusion", adapter_dirs=(str(pfeiffer), str(other_base)))
    config = make_adapter_config("fusion", adapter_dirs=(str(pfeiffer), str(pfeiffer)))
    with pytest.raises(BaseModelMismatchError, match="fusion member"):
        apply_adapters(tiny_backbone(2)[0], config)


@pytest.mark.parametrize("name", ["houlsby", "lora"])
def test_albert_adapters_round_trip_and_stay_unmerged(name, tmp_path):
    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import apply_adapters, save_adapter
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier, inference_model

    def albert():
        return tiny_backbone(3, family="albert", num_layers=3, ln_type="preln")

    backbone, model_config = albert()
    adapted = apply_adapters(backbone, config_of(name))
    spec = ClassifierSpec(
        model=model_config,
        labels=("a", "b"),
        head_kind="multiclass",
        adapter=adapted.adapter_config.to_dict(),
        base_model={"fingerprint": adapted.base_fingerprint},
    )
    model = build_classifier(spec, adapted)
    perturb(adapted.adapter_weights(), scale=0.2)
    for variable in adapted.adapter.backbone_trainable():
        variable.assign(np.asarray(variable) * 1.05)
    expected = logits(model)
    assert inference_model(model, spec) is model  # shared blocks: nothing to merge into
    save_adapter(tmp_path / "adapter", model, spec)
    reloaded, _ = load_adapter(tmp_path / "adapter", albert()[0])
    np.testing.assert_array_equal(logits(reloaded), expected)
