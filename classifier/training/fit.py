"""Step 3 of training: Keras fit with dev evaluation each epoch (best epoch kept, early
stopping), a CSV log and TensorBoard; checkpointed so that a killed run resumes exactly.

The batches go through the one training loop (classifier.training.loop), epochs of the data
as its Keras epochs; what ends an epoch (dev evaluation, early stopping, checkpoint, logs) are
the callbacks given to it here.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from classifier.batching import steps_per_epoch
from classifier.distribution import distributed_training_dataset
from classifier.heads.base import Head
from classifier.inference import predict_logits
from classifier.training.checkpointing import (
    CHECKPOINT_DIR,
    BestWeights,
    SaveTrainingState,
    StopOnNonFiniteLoss,
    TrainingCheckpoint,
    carried_epoch,
)
from classifier.training.data import TrainingData
from classifier.training.dev_evaluator import DevEvaluator
from classifier.training.loop import epoch_end, train_steps
from classifier.training.progress import ProgressLog
from classifier.training.tensorboard_log import TensorBoardLog
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    steps_per_epoch: int
    total_steps: int
    epochs: int


def schedule_for(num_examples: int, config: TrainingConfig, replicas: int = 1) -> Schedule:
    """Steps of ``train_batch_size`` per replica times ``replicas`` (the global batch)."""
    steps = steps_per_epoch(num_examples, config.train_batch_size * replicas)
    total = max(1, int(round(steps * config.num_train_epochs)))
    return Schedule(steps, total, math.ceil(total / steps))


@dataclass
class FitOutcome:
    evaluator: DevEvaluator | None
    train_loss_history: list[float]
    resumed_from_step: int
    steps_done: int
    resumes: list[int]  # the step of every resume of this run, in order
    train_history: dict[str, list[float]]  # each training figure's value at each epoch end


def fit(
    model: keras.Model,
    head: Head,
    config: TrainingConfig,
    data: TrainingData,
    schedule: Schedule,
    metric: str,
    out: Path,
    resume: bool = False,
    restore_from: Path | None = None,
    judged: keras.Model | None = None,
) -> FitOutcome:
    """Trains for ``schedule``; with dev data, the best epoch's weights are restored. With
    ``resume`` the latest checkpoint in OUT/checkpoints (or ``restore_from``) is where training
    goes on.

    ``model`` is what ``model.fit`` trains (compiled); ``judged`` is the classifier inside it
    whose dev logits pick the best epoch and whose weights the checkpoints hold (default: the
    model itself; distillation trains a Distiller around the student)."""
    judged = model if judged is None else judged
    evaluator = dev_evaluator(model, judged, head, config, data, metric)
    model.optimizer.build(model.trainable_variables)  # its slots exist before a restore
    checkpoint = TrainingCheckpoint(
        judged,
        out / CHECKPOINT_DIR,
        config.keep_checkpoints,
        evaluator.best if evaluator else None,
        model.optimizer,
    )
    record = resumed_record(checkpoint, evaluator, schedule, resume, restore_from)
    batches_done = resumed_from = int(record.get("batches_done", 0))
    if not record.get("stopped"):  # not ended by early stopping before a kill
        callbacks = epoch_callbacks(model, config, schedule, checkpoint, evaluator, out)
        with deferred_ema_finalize(model.optimizer):
            batches_done = train_steps(
                model,
                training_stream(model, data, config),
                batches_done,
                schedule.total_steps,
                schedule.steps_per_epoch,
                callbacks,
                verbose=1 if sys.stdout.isatty() else 0,  # a bar on a terminal, else ProgressLog
            )
    if getattr(model.optimizer, "use_ema", False):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    if evaluator is not None:
        evaluator.restore_best(model)
    return FitOutcome(
        evaluator,
        list(record["train_loss_history"]),
        resumed_from,
        batches_done,
        list(record["resumes"]),
        {name: list(values) for name, values in record["train_history"].items()},
    )


def resumed_record(
    checkpoint: TrainingCheckpoint,
    evaluator: DevEvaluator | None,
    schedule: Schedule,
    resume: bool,
    restore_from: Path | None,
) -> dict[str, Any]:
    """The checkpoint's record after restoring the latest checkpoint (with ``resume``), the
    dev history included; a fresh run's record is empty."""
    if resume and checkpoint.restore(restore_from):
        logger.info(
            "resuming from step %d of %d (%s)",
            checkpoint.values["batches_done"],
            schedule.total_steps,
            checkpoint.latest,
        )
        if evaluator is not None:
            evaluator.load_state(checkpoint.values.get("dev", {}))
    record = checkpoint.values
    for key, empty in (("train_loss_history", []), ("resumes", []), ("train_history", {})):
        record.setdefault(key, empty)
    if record.get("batches_done"):
        record["resumes"].append(int(record["batches_done"]))
    return record


def training_stream(model: keras.Model, data: TrainingData, config: TrainingConfig):
    """batches done -> the training batches from there on, fed to the model's replicas."""
    return lambda skip: distributed_training_dataset(
        model.distribute_strategy,
        data.train,
        config.train_batch_size,
        config.seed,
        config.group_by_length,
        skip_batches=skip,
    )


def dev_evaluator(
    model: keras.Model,
    judged: keras.Model,
    head: Head,
    config: TrainingConfig,
    data: TrainingData,
    metric: str,
) -> DevEvaluator | None:
    """Judges ``judged`` on dev at each epoch end (None without dev data). Multilabel: each
    epoch is judged by decisions at the thresholds it would get if it were the last,
    cross-fitted (no dev row decided by thresholds fitted on it)."""
    if data.dev is None:
        return None
    policy = head.threshold_policy(config.threshold_strategy, metric)

    def evaluate_dev() -> dict[str, Any]:
        logits = predict_logits(judged, data.dev, config.eval_batch_size)
        return head.dev_report(logits, data.dev.document_labels, policy)

    return DevEvaluator(
        evaluate_dev,
        metric,
        config.early_stopping_patience,
        weights=lambda: averaged_weights(model),
        best=BestWeights(model.trainable_weights),
    )


def epoch_callbacks(
    model: keras.Model,
    config: TrainingConfig,
    schedule: Schedule,
    checkpoint: TrainingCheckpoint,
    evaluator: DevEvaluator | None,
    out: Path,
) -> list[keras.callbacks.Callback]:
    """What runs at each batch and epoch end, in order: the loss check, the log line, the dev
    evaluation (early stopping), the checkpoint, the CSV log and TensorBoard."""
    record = checkpoint.values
    batches_done = int(record.get("batches_done", 0))

    def ends(epoch: int) -> int:
        return epoch_end(epoch, schedule.steps_per_epoch, schedule.total_steps)

    def epoch_state(epoch: int, logs: dict[str, Any]) -> dict[str, Any]:
        state = {
            "epochs_done": epoch + 1,
            "train_loss_history": [*record["train_loss_history"], float(logs.get("loss", "nan"))],
            "train_history": _appended(record["train_history"], logs),
            "stopped": bool(model.stop_training) and ends(epoch) < schedule.total_steps,
        }
        if evaluator is not None:
            state["dev"] = evaluator.state()
        return state

    saver = SaveTrainingState(
        checkpoint,
        config.save_checkpoints_steps,
        batches_done,
        ends,
        epoch_state,
        carried_epoch(record, batches_done, ends(batches_done // schedule.steps_per_epoch)),
    )
    total, per_epoch = schedule.total_steps, schedule.steps_per_epoch
    progress = [] if sys.stdout.isatty() else [ProgressLog(batches_done, total, per_epoch)]
    return [
        StopOnNonFiniteLoss(),
        EpochStart(ends, schedule, batches_done),
        *progress,
        *([evaluator] if evaluator else []),
        saver,
        TrainingLog(str(out / "training_log.csv"), append=True),
        TensorBoardLog(out / "logs", batches_done),
    ]


class TrainingLog(keras.callbacks.CSVLogger):
    """training_log.csv: a row per epoch, epochs counted from 1 as the log lines count them,
    a column per figure the epoch has (Keras's CSVLogger adds an always-NA ``val_`` column per
    figure when fit has no validation_data: dev figures are ``dev_*`` here)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        super().on_epoch_end(epoch + 1, logs)


class EpochStart(keras.callbacks.Callback):
    """Says which batches an epoch trains, in the log (Keras's own line may be elsewhere)."""

    def __init__(self, ends: Callable[[int], int], schedule: Schedule, start: int) -> None:
        super().__init__()
        self.ends = ends
        self.schedule = schedule
        self.start = start  # the first epoch of a resumed run starts inside it

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        first = max(epoch * self.schedule.steps_per_epoch, self.start) + 1
        logger.info(
            "epoch %d of %d: steps %d-%d", epoch + 1, self.schedule.epochs, first, self.ends(epoch)
        )


def _appended(history: dict[str, list[float]], logs: dict[str, Any]) -> dict[str, list[float]]:
    """``history`` with this epoch's figures added (the dev ones have their own history)."""
    grown = {name: list(values) for name, values in history.items()}
    for name, value in logs.items():
        if name.startswith("dev_"):
            continue
        try:
            grown.setdefault(name, []).append(float(value))
        except (TypeError, ValueError):
            continue
    return grown


@contextmanager
def deferred_ema_finalize(optimizer: keras.optimizers.Optimizer) -> Iterator[None]:
    """Keras ends every fit by replacing the weights with their moving averages (--ema_decay);
    with one fit per epoch that must wait until the last, so it is held back inside."""
    optimizer.finalize_variable_values = lambda variables: None
    try:
        yield
    finally:
        del optimizer.finalize_variable_values


@contextmanager
def averaged_weights(model: keras.Model) -> Iterator[None]:
    """Inside: the model holds its optimizer's moving averages (--ema_decay), as Keras will
    leave them when training ends; outside: the raw weights training continues from."""
    optimizer = model.optimizer
    if not getattr(optimizer, "use_ema", False) or not optimizer.built:
        yield
        return
    variables = model.trainable_weights  # the optimizer was built on these, in this order
    raw = [v.numpy() for v in variables]
    # The class's method: deferred_ema_finalize holds the instance's back during training.
    type(optimizer).finalize_variable_values(optimizer, variables)
    try:
        yield
    finally:
        for variable, value in zip(variables, raw, strict=True):
            variable.assign(value)
