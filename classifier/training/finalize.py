"""Step 4 of training: what is fitted after the weights (the head's thresholds on dev)."""

from __future__ import annotations

from dataclasses import replace

import keras

from classifier.classifier_spec import ClassifierSpec
from classifier.inference import predict_logits
from classifier.training.data import TrainingData
from classifier.training.training_config import TrainingConfig


def finalize(
    model: keras.Model, spec: ClassifierSpec, config: TrainingConfig, data: TrainingData
) -> ClassifierSpec:
    """The spec with the head's decision settings fitted on dev (multilabel thresholds; 0.5
    each without dev data); unchanged for heads that have none."""
    logits = targets = None
    if data.dev is not None:
        logits = predict_logits(model, data.dev, config.eval_batch_size)
        targets = data.dev.document_labels
    head = spec.head.finalize(logits, targets)
    return replace(spec, thresholds=head.thresholds)
