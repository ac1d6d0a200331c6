"""Adapters on tiny in-memory backbones: identity at init, exact trainable counts, hooks on
shared ALBERT blocks, LoRA merging, SavedModel export, configs and flags.

Helpers here are shared by the other tests/test_adapters_*.py files.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.samples import padded_batch

H, LAYERS, VOCAB, LABELS = 32, 2, 60, 4
HEADS, INTER = 2, 4 * 32

# kind name in tests -> (registered kind, options): small sizes, every kind and mode.
KINDS = {
    "houlsby": ("houlsby", {"size": 8}),
    "pfeiffer": ("pfeiffer", {}),
    "lora": ("lora", {"rank": 4}),
    "adapter_drop": ("adapter_drop", {"drop_layers": 1}),
    "adapter_drop_sampled": ("adapter_drop", {"sampled": True}),
    "compacter": ("compacter", {"size": 8}),
    "k_adapter": ("k_adapter", {"size": 16, "num_transformer_layers": 1}),
}


def bottleneck(hidden: int, size: int) -> int:
    return 2 * hidden * size + size + hidden


def transformer_block(width: int, intermediate: int) -> int:
    attention = 4 * (width * width + width)
    ffn = width * intermediate + intermediate + intermediate * width + width
    return attention + ffn + 2 * 2 * width


def expected_adapter_params(name: str) -> int:
    """Trainable parameters each kind adds (head excluded), from the papers' formulas."""
    if name == "houlsby":  # two adapters per layer + every LayerNorm (2 per layer + embeddings)
        return 2 * LAYERS * bottleneck(H, 8) + (2 * LAYERS + 1) * 2 * H
    if name in ("pfeiffer", "adapter_drop_sampled"):  # one adapter per layer, size H / 16
        return LAYERS * bottleneck(H, H // 16)
    if name == "adapter_drop":  # layer 0 dropped
        return (LAYERS - 1) * bottleneck(H, H // 16)
    if name == "lora":  # rank-4 A and B on query and value
        return LAYERS * 2 * (H * 4 + 4 * H)
    if name == "compacter":  # PHM n=4, rank 1: left/right factors + bias, shared 4x4x4 rules
        n, m = 4, 8
        down = n * (H // n) + n * (m // n) + m
        up = n * (m // n) + n * (H // n) + H
        return LAYERS * (down + up) + 2 * n**3
    if name == "k_adapter":  # attached at layers 0 and 1; down, one block of width 16, up
        a = 16
        per_layer = (H * a + a) + transformer_block(a, 4 * a) + (a * H + H)
        return 2 * per_layer
    raise KeyError(name)


def head_params(feature: int = H) -> int:
    return feature * LABELS + LABELS


def count(variables) -> int:
    return int(sum(np.prod(v.shape) for v in variables))


def tiny_backbone(seed: int = 1, family: str = "bert", **albert):
    """A random tiny backbone (random biases and LayerNorms too, so nothing hides)."""
    import keras

    from classifier.backbones import build_backbone
    from classifier.checkpoints.tiny import randomize_weights, tiny_albert_config, tiny_bert_config

    keras.utils.set_random_seed(seed)
    if family == "bert":
        config = tiny_bert_config(VOCAB, LAYERS, H)
    else:
        config = tiny_albert_config(VOCAB, albert.pop("num_layers", 3), H, 16, **albert)
    backbone = build_backbone(config)
    randomize_weights(backbone, seed)
    return backbone, config


def inputs(seed: int = 0) -> dict[str, np.ndarray]:
    token_ids, segment_ids, mask = padded_batch(VOCAB, seed)
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}


def config_of(name: str, **extra):
    from classifier.adapters import make_adapter_config

    kind, options = KINDS[name]
    return make_adapter_config(kind, **{**options, **extra})


def perturb(variables, seed: int = 3, scale: float = 0.3) -> None:
    """Non-zero values in every given variable (a 'trained' adapter)."""
    rng = np.random.default_rng(seed)
    for v in variables:
        v.assign((scale * rng.standard_normal(tuple(v.shape))).astype(np.float32))


def outputs(model, batch) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in model(batch, training=False).items()}


# === identity at initialisation ===
@pytest.mark.parametrize("name", [n for n in KINDS if n != "k_adapter"])
def test_adapters_leave_the_model_unchanged_at_init(name):
    from classifier.adapters import apply_adapters

    backbone, _ = tiny_backbone()
    batch = inputs()
    base = outputs(backbone, batch)
    adapted = apply_adapters(backbone, config_of(name))
    after = outputs(adapted, batch)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(after[key], base[key], rtol=0, atol=1e-6)
    # and the adapters really are in the graph: non-zero weights change the output
    perturb(adapted.adapter_weights())
    changed = outputs(adapted, batch)
    assert np.abs(changed["sequence_output"] - base["sequence_output"]).max() > 1e-3
    # the bare backbone never keeps the adapters' hooks
    np.testing.assert_array_equal(outputs(backbone, batch)["pooled_output"], base["pooled_output"])


def test_k_adapter_keeps_the_base_feature_and_sums_the_tapped_states_at_init():
    import keras

    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone()
    batch = inputs()
    base = outputs(backbone, batch)
    config = make_adapter_config("k_adapter", size=16, num_transformer_layers=1, count=2)
    adapted = apply_adapters(backbone, config)
    after = outputs(adapted, batch)
    assert after["pooled_output"].shape == (4, 3 * H)  # base + two knowledge adapters
    np.testing.assert_array_equal(after["pooled_output"][:, :H], base["pooled_output"])
    np.testing.assert_array_equal(after["sequence_output"][..., :H], base["sequence_output"])
    # up-projections start at zero: each adapter's output is h_0 + h_1 (its residual chain)
    taps = keras.Model(
        backbone.input, [adapted.sites.layer_output(0), adapted.sites.layer_output(1)]
    )
    h0, h1 = (np.asarray(t) for t in taps(batch, training=False))
    for k in (1, 2):
        np.testing.assert_allclose(
            after["sequence_output"][..., k * H : (k + 1) * H], h0 + h1, atol=1e-6
        )
        np.testing.assert_allclose(after["pooled_output"][:, k * H : (k + 1) * H], (h0 + h1)[:, 0])


# === what trains ===
@pytest.mark.parametrize("name", list(KINDS))
def test_only_adapters_and_head_are_trainable(name):
    from classifier.adapters import apply_adapters
    from classifier.text_classifier import TextClassifier

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(backbone, config_of(name))
    feature = adapted.adapter.feature_size()
    model = TextClassifier(adapted, LABELS)
    assert count(model.trainable_weights) == expected_adapter_params(name) + head_params(feature)
    head = {id(v) for v in model.head.weights}
    own = {id(v) for v in adapted.adapter_weights()} | head
    backbone_trainable = [v for v in model.trainable_weights if id(v) not in own]
    if name == "houlsby":
        assert backbone_trainable and all("layer_norm" in v.path for v in backbone_trainable)
    else:
        assert backbone_trainable == []


def test_houlsby_can_leave_layer_norms_frozen():
    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(backbone, make_adapter_config("houlsby", train_layer_norms=False))
    assert count(adapted.trainable_weights) == 2 * LAYERS * bottleneck(H, 64)


def test_bottleneck_options_select_layers_and_placement():
    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone()
    config = make_adapter_config(
        "pfeiffer", reduction_factor=4, layers=(1,), placement=("attention_output",)
    )
    adapted = apply_adapters(backbone, config)
    assert list(adapted.adapter.named_layers()) == ["p01_attention_output"]
    assert count(adapted.trainable_weights) == bottleneck(H, 8)


# === ALBERT: one shared block, adapters per position ===
def test_adapters_on_albert_shared_blocks_are_per_layer():
    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone(family="albert", num_layers=3)
    assert len(backbone.transformer_blocks) == 1
    batch = inputs()
    base = outputs(backbone, batch)
    adapted = apply_adapters(backbone, make_adapter_config("pfeiffer", size=4))
    assert [s.layer_index for s in adapted.sites.sites] == [0, 1, 2]
    assert list(adapted.adapter.named_layers()) == [f"p0{i}_ffn_output" for i in range(3)]
    np.testing.assert_array_equal(outputs(adapted, batch)["pooled_output"], base["pooled_output"])
    # only layer 1's adapter is non-zero: layer 0's output must stay the base's
    perturb(adapted.adapter.named_layers()["p01_ffn_output"].weights)
    import keras

    layer0 = keras.Model(backbone.input, adapted.sites.layer_output(0))
    before = np.asarray(layer0(batch, training=False))
    with_adapters = adapted.adapter
    from classifier.adapters.module import attached

    with attached(with_adapters):
        during = np.asarray(layer0(batch, training=False))
    np.testing.assert_array_equal(during, before)
    assert np.abs(outputs(adapted, batch)["pooled_output"] - base["pooled_output"]).max() > 1e-4


def test_albert_with_inner_groups_gets_one_site_per_block_call():
    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone(
        family="albert", num_layers=4, num_hidden_groups=2, inner_group_num=2
    )
    adapted = apply_adapters(backbone, make_adapter_config("lora", rank=2))
    assert [s.layer_index for s in adapted.sites.sites] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert count(adapted.trainable_weights) == 8 * 2 * (H * 2 + 2 * H)
    assert not adapted.adapter.mergeable()  # shared blocks: LoRA stays unmerged


# === LoRA merges for inference ===
def test_lora_merged_and_unmerged_agree():
    from classifier.adapters import apply_adapters, make_adapter_config
    from classifier.adapters.adapted_backbone import AdaptedBackbone
    from classifier.text_classifier import TextClassifier
    from classifier.trained_model import inference_model

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(backbone, make_adapter_config("lora", rank=4, alpha=8.0))
    perturb(adapted.adapter_weights(), scale=0.2)
    model = TextClassifier(adapted, LABELS)
    perturb(model.head.weights, seed=5)
    batch = inputs()
    unmerged = np.asarray(model(batch, training=False))
    merged_model = inference_model(model, spec=None)
    assert not isinstance(merged_model.backbone, AdaptedBackbone)
    merged = np.asarray(merged_model(batch, training=False))
    np.testing.assert_allclose(merged, unmerged, rtol=0, atol=1e-5)
    assert np.abs(unmerged - np.asarray(TextClassifier(backbone, LABELS)(batch))).max() > 1e-3
    # the training model is untouched by merging
    np.testing.assert_array_equal(np.asarray(model(batch, training=False)), unmerged)


# === export: hooks run inside a SavedModel ===
def test_adapted_classifier_exports_to_saved_model(tmp_path):
    import tensorflow as tf

    from classifier.adapters import apply_adapters
    from classifier.text_classifier import TextClassifier

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(backbone, config_of("houlsby"))
    perturb(adapted.adapter_weights())
    model = TextClassifier(adapted, LABELS)
    batch = inputs()
    expected = np.asarray(model(batch, training=False))

    spec = tf.TensorSpec([None, None], tf.int32)
    module = tf.Module()
    module.model = model
    module.serve = tf.function(
        lambda t, s, m: model({"token_ids": t, "segment_ids": s, "padding_mask": m}),
        input_signature=[spec, spec, spec],
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    got = reloaded.serve(batch["token_ids"], batch["segment_ids"], batch["padding_mask"])
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)
    base = np.asarray(TextClassifier(backbone, LABELS)(batch))
    assert np.abs(np.asarray(got) - base).max() > 1e-3  # adapters were in the traced graph


# === AdapterDrop ===
def backward_ops_reaching_updates(model, layer_name: str) -> int:
    """Gradient ops of ``layer_name`` that the trainable weights' gradients depend on.

    TensorFlow prunes a traced function to what its outputs need, so these are the backward
    ops a compiled train step really runs in that layer.
    """
    import tensorflow as tf

    batch = {k: tf.constant(v) for k, v in inputs().items()}

    @tf.function
    def grads(features):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(features, training=True))
        return tape.gradient(loss, [v.value for v in model.trainable_weights])

    graph = grads.get_concrete_function(batch).graph
    seen, stack = set(), [t.op for t in graph.outputs]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return sum(1 for name in seen if "gradient" in name and layer_name in name)


def test_adapter_drop_fixed_has_no_backward_pass_below_n():
    from classifier.adapters import apply_adapters, make_adapter_config
    from classifier.text_classifier import TextClassifier

    models = {}
    for n in (0, 1):
        backbone, _ = tiny_backbone()
        adapted = apply_adapters(backbone, make_adapter_config("adapter_drop", drop_layers=n))
        models[n] = TextClassifier(adapted, LABELS)
    assert list(models[1].backbone.adapter.named_layers()) == ["p01_ffn_output"]
    assert backward_ops_reaching_updates(models[0], "transformer_layer_0") > 0
    assert backward_ops_reaching_updates(models[1], "transformer_layer_0") == 0
    assert backward_ops_reaching_updates(models[1], "transformer_layer_1") > 0


def test_adapter_drop_sampled_draws_n_per_training_batch():
    from classifier.adapters import apply_adapters, make_adapter_config

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(
        backbone, make_adapter_config("adapter_drop", sampled=True, drop_layers=0, seed=4)
    )
    perturb(adapted.adapter_weights())
    batch = inputs()
    full = outputs(adapted, batch)["pooled_output"]
    none = outputs(backbone, batch)["pooled_output"]
    module = adapted.adapter
    drawn = set()
    for _ in range(12):
        module.begin_call(True)
        drawn.add(int(module._call.dropped))
    assert drawn == {0, 1}
    # n = 0 at inference (drop_layers): every adapter acts
    np.testing.assert_array_equal(outputs(adapted, batch)["pooled_output"], full)
    assert np.abs(full - none).max() > 1e-4


# === configuration ===
def test_configs_round_trip_through_json_and_reject_bad_options():
    import json

    from classifier.adapters import (
        AdapterConfigError,
        adapter_config_from_dict,
        adapter_kinds,
        make_adapter_config,
    )

    assert set(adapter_kinds()) >= {
        "houlsby",
        "pfeiffer",
        "lora",
        "k_adapter",
        "fusion",
        "adapter_drop",
        "compacter",
    }
    for name in KINDS:
        config = config_of(name)
        again = adapter_config_from_dict(json.loads(json.dumps(config.to_dict())))
        assert again == config
    with pytest.raises(AdapterConfigError, match="unknown adapter kind 'nope'"):
        make_adapter_config("nope")
    with pytest.raises(AdapterConfigError, match="not both"):
        make_adapter_config("pfeiffer", size=8, reduction_factor=4)
    with pytest.raises(AdapterConfigError, match="no option"):
        make_adapter_config("lora", size=8)
    with pytest.raises(AdapterConfigError, match="out of range"):
        from classifier.adapters import apply_adapters

        apply_adapters(tiny_backbone()[0], make_adapter_config("houlsby", layers=(0, 5)))
    assert make_adapter_config("pfeiffer", size=12).reduction_factor is None
    assert make_adapter_config("houlsby").size == 64


def test_flags_map_to_each_kind_and_refuse_foreign_ones():
    from classifier.adapters import AdapterConfigError, adapter_config_from_flags

    lora = adapter_config_from_flags("lora", {"adapter_size": 4, "lora_alpha": 8.0})
    assert (lora.rank, lora.alpha) == (4, 8.0)
    drop = adapter_config_from_flags(
        "adapter_drop", {"adapter_drop_n": 2, "adapter_layers": [2, 3], "adapter_size": None}
    )
    assert (drop.drop_layers, drop.layers, drop.size) == (2, (2, 3), None)
    assert adapter_config_from_flags(None, {"adapter_size": None}) is None
    with pytest.raises(
        AdapterConfigError, match="--lora_alpha does not apply to --adapter=houlsby"
    ):
        adapter_config_from_flags("houlsby", {"lora_alpha": 2.0})
    with pytest.raises(AdapterConfigError, match="need.*--adapter"):
        adapter_config_from_flags(None, {"adapter_size": 8})


def test_train_script_defaults_the_learning_rate_for_adapters():
    from scripts.train import build_parser, options_from_args

    common = ["--output_dir=/tmp/x", "--do_train"]
    full = options_from_args(build_parser().parse_args(common))
    adapter = options_from_args(build_parser().parse_args([*common, "--adapter=pfeiffer"]))
    chosen = options_from_args(
        build_parser().parse_args([*common, "--adapter=lora", "--learning_rate=3e-4"])
    )
    assert full.training.learning_rate == 2e-5 and full.adapter is None
    assert adapter.training.learning_rate == 1e-4 and adapter.adapter.kind == "pfeiffer"
    assert chosen.training.learning_rate == 3e-4


# === padding-free execution: hooks see [tokens, hidden] activations ===
def assert_packed_matches_padded(adapted, atol: float = 2e-5) -> None:
    import tensorflow as tf

    token_ids, segment_ids, mask = padded_batch(VOCAB, seed=1)
    lengths = mask.sum(axis=1)
    ragged_ids = tf.RaggedTensor.from_tensor(token_ids, lengths=lengths)
    ragged_segments = tf.RaggedTensor.from_tensor(segment_ids, lengths=lengths)
    padded = adapted(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, training=False
    )
    packed = adapted.packed_outputs(ragged_ids, ragged_segments)
    np.testing.assert_allclose(packed["pooled_output"], padded["pooled_output"], atol=atol)
    for row, n in enumerate(lengths):
        np.testing.assert_allclose(
            packed["sequence_output"][row],
            np.asarray(padded["sequence_output"])[row, :n],
            atol=atol,
        )


@pytest.mark.parametrize("name", list(KINDS))
def test_adapters_run_in_padding_free_execution(name):
    from classifier.adapters import apply_adapters

    backbone, _ = tiny_backbone()
    adapted = apply_adapters(backbone, config_of(name))
    perturb(adapted.adapter_weights(), scale=0.2)
    assert_packed_matches_padded(adapted)


def test_adapters_run_packed_on_grouped_albert():
    from classifier.adapters import apply_adapters

    backbone, _ = tiny_backbone(
        family="albert", num_layers=4, num_hidden_groups=2, inner_group_num=2
    )
    for name in ("houlsby", "k_adapter"):
        adapted = apply_adapters(backbone, config_of(name))
        perturb(adapted.adapter_weights(), scale=0.2)
        assert_packed_matches_padded(adapted)
