"""Step 4 of training: what is fitted after the weights, on dev: the temperature(s) that
calibrate the probabilities, then the head's decision thresholds (multilabel) on the calibrated
probabilities."""

from __future__ import annotations

import logging
from dataclasses import replace

import keras

from classifier.classifier_spec import ClassifierSpec
from classifier.inference import predict_logits
from classifier.training.data import TrainingData
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


def finalize(
    model: keras.Model, spec: ClassifierSpec, config: TrainingConfig, data: TrainingData
) -> ClassifierSpec:
    """The spec with the head's settings fitted on dev: temperatures (--calibration) and
    multilabel thresholds by the spec's threshold policy (0.5 each without dev data); unchanged
    for what a head lacks."""
    head = spec.head
    logits = targets = None
    if data.dev is not None:
        logits = predict_logits(model, data.dev, config.eval_batch_size)
        targets = data.dev.document_labels
        if config.calibration == "temperature" and len(targets):
            head = head.calibrate(logits, targets)
            figures = head.calibration_report(logits, targets)
            if figures:  # a kind without calibration is served as it is
                logger.info(
                    "calibration on dev: temperature %s, ECE %.4f -> %.4f",
                    _short(head.temperatures),
                    figures["ece_before_calibration"],
                    figures["ece"],
                )
    head = head.finalize(logits, targets, spec.threshold_policy)
    return replace(spec, thresholds=head.thresholds, temperatures=head.temperatures)


def _short(values) -> str:
    if values is None:
        return "none"
    shown = ", ".join(f"{v:.3f}" for v in values[:8])
    return shown + (f" ... ({len(values)} labels)" if len(values) > 8 else "")
