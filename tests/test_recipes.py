"""Fine-tuning recipes do what they say: per-layer learning rates, FGM's adversarial gradient,
R-Drop's loss, and an EMA of the weights that becomes the model's weights."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from classifier.training.layer_rates import LayerRates
from classifier.training.training_config import TrainingConfig

LABELS = ("a", "b", "c")


def tiny_model(dropout: float = 0.0, kind: str = "multiclass", seed: int = 0):
    from classifier.checkpoints.tiny import tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier

    keras.utils.set_random_seed(seed)
    config = dataclasses.replace(
        tiny_bert_config(40, num_layers=2, hidden_size=32),
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    spec = ClassifierSpec(config, LABELS, kind, head_dropout=dropout)
    return build_classifier(spec), spec


def batch(seed: int = 0, kind: str = "multiclass"):
    rng = np.random.default_rng(seed)
    lengths = [9, 6, 4, 7]
    token_ids = np.zeros((4, 9), np.int32)
    mask = np.zeros_like(token_ids)
    for row, n in enumerate(lengths):
        token_ids[row, :n] = rng.integers(5, 40, n)
        mask[row, :n] = 1
    x = {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": mask}
    if kind == "multiclass":
        return x, np.array([0, 1, 2, 1], np.int32)
    return x, (rng.random((4, 3)) < 0.5).astype(np.float32)


# === Layer-wise learning rates ===
def test_layer_depths_and_multipliers():
    rates = LayerRates(num_layers=2, decay=0.5, head_multiplier=4.0)
    expected = {
        "embeddings/word_embeddings/embeddings": 0.5**3,
        "embeddings/layer_norm/gamma": 0.5**3,
        "transformer_layer_0/query/kernel": 0.5**2,
        "transformer_layer_1/output/bias": 0.5,
        "p01_query/lora_a/kernel": 0.5,  # an adapter follows its layer
        "knowledge0_layer0_at00/down/kernel": 0.5**2,
        "pooler/kernel": 1.0,
        "classification_head/logits/kernel": 4.0,
    }
    for path, multiplier in expected.items():
        assert rates.multiplier(path) == pytest.approx(multiplier), path
    # ALBERT, 3 layers in 2 shared groups: group 0 serves layers 0-1, group 1 layer 2.
    albert = LayerRates(num_layers=3, num_groups=2, decay=0.5)
    assert albert.multiplier("transformer_group_0_inner_0/query/kernel") == pytest.approx(0.25)
    assert albert.multiplier("transformer_group_1_inner_0/query/kernel") == pytest.approx(0.5)
    assert albert.multiplier("embeddings/projection/kernel") == pytest.approx(0.5**4)
    assert not LayerRates(num_layers=2).active


def test_each_layer_moves_at_its_own_rate():
    """Adam's first step moves every weight by about lr * sign(g): the largest move of each
    variable is its learning rate."""
    from classifier.heads import make_head
    from classifier.training.compile import compile_for_training

    model, spec = tiny_model()
    x, y = batch()
    config = TrainingConfig(
        learning_rate=1e-3,
        warmup_proportion=0.0,
        weight_decay=0.0,
        layerwise_lr_decay=0.5,
        head_learning_rate=4e-3,
        head_bias_init="zeros",
        adam_epsilon=1e-15,  # so that even tiny gradients move by the full rate
    )
    compile_for_training(model, make_head("multiclass", LABELS), config, 10, y)
    before = {v.path: v.numpy() for v in model.trainable_weights}
    model.train_on_batch(x, y)
    moved = {v.path: np.abs(v.numpy() - before[v.path]).max() for v in model.trainable_weights}
    assert moved["classification_head/logits/kernel"] == pytest.approx(4e-3, rel=1e-2)
    assert moved["pooler/kernel"] == pytest.approx(1e-3, rel=1e-2)
    assert moved["transformer_layer_1/query/kernel"] == pytest.approx(5e-4, rel=1e-2)
    assert moved["transformer_layer_0/query/kernel"] == pytest.approx(2.5e-4, rel=1e-2)
    assert moved["embeddings/word_embeddings/embeddings"] == pytest.approx(1.25e-4, rel=1e-2)


def test_bad_recipe_values_name_the_flag():
    for kwargs, flag in (
        ({"layerwise_lr_decay": 1.5}, "--layerwise_lr_decay"),
        ({"head_learning_rate": 0.0}, "--head_learning_rate"),
        ({"adversarial": "pgd"}, "--adversarial"),
        ({"adv_epsilon": 0.0}, "--adv_epsilon"),
        ({"rdrop_alpha": -1.0}, "--rdrop_alpha"),
        ({"ema_decay": 1.0}, "--ema_decay"),
    ):
        with pytest.raises(ValueError, match=flag):
            TrainingConfig(**kwargs)


# === FGM ===
def loss_and_grads(model, loss_fn, x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    return loss, tape.gradient(loss, model.trainable_weights)


def test_fgm_applies_the_gradients_at_the_clean_and_the_perturbed_embeddings():
    from classifier.heads import LossOptions, make_head
    from classifier.step_regularizers import StepRegularizers, word_embedding_variable

    model, _ = tiny_model()
    head = make_head("multiclass", LABELS)
    loss_fn = head.loss(LossOptions(), np.zeros(1, np.int32))
    x, y = batch()
    embedding = word_embedding_variable(model)
    index = next(i for i, v in enumerate(model.trainable_weights) if v is embedding)
    start = [v.numpy() for v in model.trainable_weights]

    # Reference: g1 at the weights, the embeddings moved by eps g1 / |g1|, g2 there.
    epsilon = 0.5
    _, clean = loss_and_grads(model, loss_fn, x, y)
    g = tf.convert_to_tensor(clean[index])
    delta = epsilon * g / tf.norm(g)
    embedding.assign_add(delta)
    _, adversarial = loss_and_grads(model, loss_fn, x, y)
    embedding.assign_sub(delta)
    expected = [
        w - (tf.convert_to_tensor(a) + tf.convert_to_tensor(b)).numpy()
        for w, a, b in zip(start, clean, adversarial, strict=True)
    ]

    model.step_regularizers = StepRegularizers(fgm_epsilon=epsilon, embedding=embedding)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=loss_fn)
    model.train_on_batch(x, y)
    for variable, want in zip(model.trainable_weights, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), want, atol=2e-6, err_msg=variable.path)


# === R-Drop ===
def test_symmetric_kl_equals_the_two_kl_divergences():
    from classifier.losses import symmetric_kl_sigmoid, symmetric_kl_softmax

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 2, (5, 4)), rng.normal(0, 2, (5, 4))

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    la, lb = log_softmax(a), log_softmax(b)
    kl_ab = (np.exp(la) * (la - lb)).sum(axis=1)
    kl_ba = (np.exp(lb) * (lb - la)).sum(axis=1)
    expected = (0.5 * (kl_ab + kl_ba)).mean()
    assert float(symmetric_kl_softmax(a, b)) == pytest.approx(expected, rel=1e-5)

    pa, pb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))

    def bernoulli_kl(p, q):
        return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))

    expected = (0.5 * (bernoulli_kl(pa, pb) + bernoulli_kl(pb, pa))).mean()
    assert float(symmetric_kl_sigmoid(a, b)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_rdrop_loss_is_the_mean_loss_plus_alpha_times_the_consistency(kind, monkeypatch):
    """Two passes that differ by a known shift stand in for two dropout masks."""
    from classifier.heads import LossOptions, make_head
    from classifier.step_regularizers import StepRegularizers

    model, _ = tiny_model(kind=kind)
    head = make_head(kind, LABELS)
    x, y = batch(kind=kind)
    loss_fn = head.loss(LossOptions(), y)
    shift = tf.constant([[0.7, -0.4, 0.2]])
    plain = model.training_logits
    calls = []

    def two_passes(inputs):
        calls.append(1)
        return plain(inputs) + (shift if len(calls) % 2 else -shift)

    monkeypatch.setattr(model, "training_logits", two_passes)
    alpha = 2.0
    model.step_regularizers = StepRegularizers(rdrop_alpha=alpha, consistency=head.consistency_loss)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss_fn)
    reported = model.train_on_batch(x, y, return_dict=True)["loss"]
    logits = plain(x)
    a, b = logits + shift, logits - shift
    expected = 0.5 * (loss_fn(y, a) + loss_fn(y, b)) + alpha * head.consistency_loss(a, b)
    assert reported == pytest.approx(float(expected), rel=1e-5)


def test_rdrop_without_dropout_is_the_plain_step():
    from classifier.heads import LossOptions, make_head
    from classifier.step_regularizers import StepRegularizers

    head = make_head("multiclass", LABELS)
    x, y = batch()
    loss_fn = head.loss(LossOptions(), y)
    results = []
    for alpha in (0.0, 3.0):
        model, _ = tiny_model()
        model.step_regularizers = StepRegularizers(
            rdrop_alpha=alpha, consistency=head.consistency_loss
        )
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss=loss_fn)
        model.train_on_batch(x, y)
        results.append([v.numpy() for v in model.trainable_weights])
    for plain, rdrop in zip(*results, strict=True):
        np.testing.assert_allclose(rdrop, plain, atol=1e-6)


# === EMA ===
def test_training_ends_on_the_moving_average_of_the_weights():
    from classifier.heads import make_head
    from classifier.training.compile import compile_for_training

    model, _ = tiny_model()
    x, y = batch()
    decay = 0.6
    config = TrainingConfig(learning_rate=1e-2, ema_decay=decay, head_bias_init="zeros")
    compile_for_training(model, make_head("multiclass", LABELS), config, 20, y)
    raw_steps = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda *_, **__: raw_steps.append(
            [v.numpy() for v in model.trainable_weights]
        )
    )
    data = tf.data.Dataset.from_tensors((x, y)).repeat(5)
    model.fit(data, epochs=1, callbacks=[record], verbose=0, shuffle=False)
    average = raw_steps[0]  # Keras starts the average at the first step's weights
    for step in raw_steps[1:]:
        average = [decay * a + (1 - decay) * w for a, w in zip(average, step, strict=True)]
    for variable, want in zip(model.trainable_weights, average, strict=True):
        np.testing.assert_allclose(variable.numpy(), want, atol=1e-6, err_msg=variable.path)
    assert not np.allclose(raw_steps[-1][-2], average[-2])  # the average is not the last step


def test_dev_judges_the_averaged_weights_and_training_continues_from_the_raw_ones():
    from classifier.heads import make_head
    from classifier.training.compile import compile_for_training
    from classifier.training.fit import averaged_weights

    model, _ = tiny_model()
    x, y = batch()
    config = TrainingConfig(learning_rate=1e-2, ema_decay=0.9, head_bias_init="zeros")
    compile_for_training(model, make_head("multiclass", LABELS), config, 20, y)
    for _ in range(3):
        model.train_on_batch(x, y)
    raw = [v.numpy() for v in model.trainable_weights]
    averages = [a.numpy() for a in model.optimizer._model_variables_moving_average]
    with averaged_weights(model):
        inside = [v.numpy() for v in model.trainable_weights]
    for got, want in zip(inside, averages, strict=True):
        np.testing.assert_array_equal(got, want)
    for variable, want in zip(model.trainable_weights, raw, strict=True):
        np.testing.assert_array_equal(variable.numpy(), want)


def test_an_ema_too_slow_for_the_run_is_warned_about(caplog):
    from classifier.heads import make_head
    from classifier.training.compile import compile_for_training

    model, _ = tiny_model()
    _, y = batch()
    config = TrainingConfig(ema_decay=0.999)
    with caplog.at_level("WARNING"):
        compile_for_training(model, make_head("multiclass", LABELS), config, 100, y)
    assert "--ema_decay 0.999 over 100 steps" in caplog.text and "0.9000" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        compile_for_training(model, make_head("multiclass", LABELS), config, 5000, y)
    assert "--ema_decay" not in caplog.text
