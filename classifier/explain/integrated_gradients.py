"""Integrated gradients over the word embeddings (Sundararajan et al. 2017), in TensorFlow.

A token's attribution is (its word vector - the baseline's) times the gradient of the
target label's logit, averaged along the straight line from the baseline to the input. The
attributions of a row add up to logit(input) - logit(baseline) as the steps grow
(completeness); with the midpoint rule used here 50 steps keep the gap to a few percent.

Only the word vectors move: position and token-type embeddings, [CLS] and [SEP] stay, so the
baseline is the same sentence shape with its words blanked (to [PAD] or [MASK], the caller's
choice, given as ``baseline_ids``). The model runs its padded forward pass in inference mode,
any backbone family, adapters included: the vectors enter through every family's embeddings
(classifier.backbones.bert_embeddings.WordVectorOverride).

Written with graph-safe ops only, so the export traces the same code into its
``explain_ids`` signature and a served model explains without the training code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

from classifier.backbones.bert_embeddings import BertEmbeddings
from classifier.explain.explanation import TOKENS_PER_PASS


def word_embeddings_of(model: keras.Model) -> BertEmbeddings:
    """The one BertEmbeddings layer inside ``model`` (every backbone family has one)."""
    found = [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, BertEmbeddings)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one word-embedding layer in the model, found {len(found)}")
    return found[0]


@contextlib.contextmanager
def replaced_word_vectors(embeddings: BertEmbeddings, vectors: tf.Tensor) -> Iterator[None]:
    """While inside, the model reads ``vectors`` instead of looking its word vectors up."""
    override = embeddings.word_vector_override
    override.replacement = vectors
    try:
        yield
    finally:
        override.replacement = None


def _logits(model: keras.Model, token_ids, segment_ids, padding_mask) -> tf.Tensor:
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    return tf.cast(model(inputs, training=False), tf.float32)


def _target_logits(logits: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    return tf.gather(logits, targets, batch_dims=1)


def integrated_gradients(
    model: keras.Model,
    token_ids: tf.Tensor,
    segment_ids: tf.Tensor,
    padding_mask: tf.Tensor,
    targets: tf.Tensor,
    baseline_ids: tf.Tensor,
    steps: tf.Tensor | int,
) -> dict[str, tf.Tensor]:
    """Attributions [B, L] of each row's ``targets`` logit (label index [B]).

    Returns ``attributions`` (0 at padding), ``logit`` (the target's at the input) and
    ``baseline_logit`` (at ``baseline_ids``), all float32.
    """
    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    segment_ids = tf.convert_to_tensor(segment_ids, tf.int32)
    padding_mask = tf.convert_to_tensor(padding_mask, tf.int32)
    targets = tf.convert_to_tensor(targets, tf.int32)
    steps = tf.maximum(tf.convert_to_tensor(steps, tf.int32), 1)
    embeddings = word_embeddings_of(model)
    table = embeddings.word_embeddings.embeddings
    inputs = tf.cast(tf.gather(table, token_ids), tf.float32)  # [B, L, E]
    baseline = tf.cast(tf.gather(table, tf.convert_to_tensor(baseline_ids, tf.int32)), tf.float32)
    difference = inputs - baseline
    rows = tf.shape(token_ids)[0]

    def tiled(x: tf.Tensor, times: tf.Tensor) -> tf.Tensor:  # [B, ...] -> [times * B, ...]
        return tf.reshape(
            tf.tile(x[None], tf.concat([[times], tf.ones([tf.rank(x)], tf.int32)], 0)),
            tf.concat([[times * rows], tf.shape(x)[1:]], 0),
        )

    per_pass = tf.maximum(1, TOKENS_PER_PASS // tf.maximum(1, tf.size(token_ids)))

    def gradient_sum(start: tf.Tensor) -> tf.Tensor:
        """The gradients at midpoints start .. start + per_pass - 1, summed: [B, L, E]."""
        count = tf.minimum(per_pass, steps - start)
        alphas = (tf.cast(tf.range(start, start + count), tf.float32) + 0.5) / tf.cast(
            steps, tf.float32
        )
        points = baseline[None] + alphas[:, None, None, None] * difference[None]  # [C, B, L, E]
        points = tf.reshape(points, tf.concat([[count * rows], tf.shape(inputs)[1:]], 0))
        with tf.GradientTape() as tape:
            tape.watch(points)
            with replaced_word_vectors(embeddings, points):
                logits = _logits(
                    model,
                    tiled(token_ids, count),
                    tiled(segment_ids, count),
                    tiled(padding_mask, count),
                )
            chosen = tf.reduce_sum(_target_logits(logits, tiled(targets, count)))
        gradients = tape.gradient(chosen, points)
        return tf.reduce_sum(tf.reshape(gradients, tf.concat([[count], tf.shape(inputs)], 0)), 0)

    def body(start, total):
        return start + per_pass, total + gradient_sum(start)

    _, total = tf.while_loop(
        lambda start, _: start < steps, body, (tf.constant(0), tf.zeros_like(inputs))
    )
    average = total / tf.cast(steps, tf.float32)
    mask = tf.cast(padding_mask, tf.float32)
    attributions = tf.reduce_sum(difference * average, axis=-1) * mask
    logit = _target_logits(_logits(model, token_ids, segment_ids, padding_mask), targets)
    baseline_ids = tf.convert_to_tensor(baseline_ids, tf.int32)
    baseline_logit = _target_logits(
        _logits(model, baseline_ids, segment_ids, padding_mask), targets
    )
    return {"attributions": attributions, "logit": logit, "baseline_logit": baseline_logit}


def gradient_times_input(
    model: keras.Model,
    token_ids: tf.Tensor,
    segment_ids: tf.Tensor,
    padding_mask: tf.Tensor,
    targets: tf.Tensor,
) -> tf.Tensor:
    """Plain gradient x input [B, L] (Shrikumar et al.): the gradient of the target logit at
    the input, times the word vectors; the one-step method integrated gradients improves on
    (benchmarks/bench_faithfulness.py compares them)."""
    embeddings = word_embeddings_of(model)
    vectors = tf.cast(tf.gather(embeddings.word_embeddings.embeddings, token_ids), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        with replaced_word_vectors(embeddings, vectors):
            logits = _logits(model, token_ids, segment_ids, padding_mask)
        chosen = tf.reduce_sum(_target_logits(logits, tf.convert_to_tensor(targets, tf.int32)))
    gradients = tape.gradient(chosen, vectors)
    return tf.reduce_sum(vectors * gradients, -1) * tf.cast(padding_mask, tf.float32)


def model_attribution(model: keras.Model):
    """An ``AttributeRows`` function (classifier.explain.explanation) over a Keras model in
    memory: integrated gradients traced once for every batch shape."""
    ids = tf.TensorSpec([None, None], tf.int32)
    traced = tf.function(
        lambda input_ids, input_mask, segment_ids, target, baseline_ids, steps: (
            integrated_gradients(
                model, input_ids, segment_ids, input_mask, target, baseline_ids, steps
            )
        ),
        input_signature=[
            ids,
            ids,
            ids,
            tf.TensorSpec([None], tf.int32),
            ids,
            tf.TensorSpec([], tf.int32),
        ],
        autograph=False,
    )

    def attribute(input_ids, input_mask, segment_ids, target, baseline_ids, steps):
        out = traced(
            tf.constant(input_ids, tf.int32),
            tf.constant(input_mask, tf.int32),
            tf.constant(segment_ids, tf.int32),
            tf.constant(target, tf.int32),
            tf.constant(baseline_ids, tf.int32),
            tf.constant(steps, tf.int32),
        )
        return {key: value.numpy() for key, value in out.items()}

    return attribute
