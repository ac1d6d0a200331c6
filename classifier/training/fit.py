"""Step 3 of training: Keras fit with dev evaluation each epoch (best epoch kept, early
stopping), a CSV log and TensorBoard."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from classifier.batching import steps_per_epoch, training_dataset
from classifier.heads.base import Head
from classifier.inference import predict_logits
from classifier.training.data import TrainingData
from classifier.training.dev_evaluator import DevEvaluator, StopAtStep
from classifier.training.training_config import TrainingConfig


@dataclass(frozen=True)
class Schedule:
    steps_per_epoch: int
    total_steps: int
    epochs: int


def schedule_for(num_examples: int, config: TrainingConfig) -> Schedule:
    steps = steps_per_epoch(num_examples, config.train_batch_size)
    total = max(1, int(round(steps * config.num_train_epochs)))
    return Schedule(steps, total, math.ceil(total / steps))


@dataclass
class FitOutcome:
    history: keras.callbacks.History
    evaluator: DevEvaluator | None


def fit(
    model: keras.Model,
    head: Head,
    config: TrainingConfig,
    data: TrainingData,
    schedule: Schedule,
    metric: str,
    out: Path,
) -> FitOutcome:
    """Trains for ``schedule``; with dev data, the best epoch's weights are restored."""

    def evaluate_dev() -> dict[str, Any]:
        logits = predict_logits(model, data.dev, config.eval_batch_size)
        # Multilabel: each epoch is judged at the thresholds it would get if it were the last.
        targets = data.dev.document_labels
        return head.finalize(logits, targets).report(logits, targets)

    callbacks: list[keras.callbacks.Callback] = [StopAtStep(schedule.total_steps)]
    evaluator = None
    if data.dev is not None:
        evaluator = DevEvaluator(
            evaluate_dev,
            metric,
            config.early_stopping_patience,
            weights=lambda: averaged_weights(model),
        )
        callbacks.append(evaluator)
    callbacks += [
        keras.callbacks.CSVLogger(str(out / "training_log.csv")),
        keras.callbacks.TensorBoard(log_dir=str(out / "logs"), update_freq="epoch"),
    ]
    history = model.fit(
        training_dataset(data.train, config.train_batch_size, config.seed, config.group_by_length),
        epochs=schedule.epochs,
        steps_per_epoch=schedule.steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=1 if sys.stdout.isatty() else 2,  # a live bar on a terminal, a line per epoch
    )
    return FitOutcome(history, evaluator)


@contextmanager
def averaged_weights(model: keras.Model) -> Iterator[None]:
    """Inside: the model holds its optimizer's moving averages (--ema_decay), as Keras will
    leave them when training ends; outside: the raw weights training continues from."""
    optimizer = model.optimizer
    if not getattr(optimizer, "use_ema", False) or not optimizer.built:
        yield
        return
    variables = optimizer._trainable_variables  # Keras pairs the averages with these
    raw = [v.numpy() for v in variables]
    for variable, average in zip(variables, optimizer._model_variables_moving_average, strict=True):
        if average is not None:
            variable.assign(average)
    try:
        yield
    finally:
        for variable, value in zip(variables, raw, strict=True):
            variable.assign(value)
