"""Predicting with a trained classifier in Python: logits for encoded examples, in order.

Below training (training's dev evaluation and reports use it) and above the model; the
exported SavedModel does the same in its own graph (export.serving_module).
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from classifier.batching import EncodedExamples, inference_batches, steps_per_epoch


def predict_logits(model: keras.Model, data: EncodedExamples, batch_size: int) -> np.ndarray:
    """Logits for every document of ``data``, in its order (batches are length-sorted inside;
    the logits of a document's sliding windows are pooled into one row)."""
    if len(data) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    dataset, restore = inference_batches(data, batch_size)
    if model.distribute_strategy.num_replicas_in_sync > 1:
        logits = _forward_outside_strategy(model, dataset)
    else:
        logits = model.predict(dataset, steps=steps_per_epoch(len(data), batch_size), verbose=0)
    return data.pool(np.asarray(logits, np.float32)[restore])


_FORWARD = weakref.WeakKeyDictionary()


def _forward_outside_strategy(model: keras.Model, dataset) -> np.ndarray:
    """The whole forward pass on one device, in every worker alike: Keras's predict would
    split the batches over replicas (and, across workers, shard them), while evaluation
    wants every process to see all the logits."""
    forward = _FORWARD.get(model)
    if forward is None:
        forward = tf.function(
            lambda features: model(features, training=False),
            input_signature=[dataset.element_spec],
        )
        _FORWARD[model] = forward
    return np.concatenate([forward(features).numpy() for features in dataset])
