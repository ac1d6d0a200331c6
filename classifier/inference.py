"""Predicting with a trained classifier in Python: logits for encoded examples, in order.

Below training (training's dev evaluation and reports use it) and above the model; the
exported SavedModel does the same in its own graph (export.serving_module).
"""

from __future__ import annotations

import keras
import numpy as np

from classifier.batching import EncodedExamples, inference_batches, steps_per_epoch


def predict_logits(model: keras.Model, data: EncodedExamples, batch_size: int) -> np.ndarray:
    """Logits for every document of ``data``, in its order (batches are length-sorted inside;
    the logits of a document's sliding windows are pooled into one row)."""
    if len(data) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    dataset, restore = inference_batches(data, batch_size)
    logits = model.predict(dataset, steps=steps_per_epoch(len(data), batch_size), verbose=0)
    return data.pool(np.asarray(logits, np.float32)[restore])
