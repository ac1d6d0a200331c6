"""The whole state of a fine-tuning run, checkpointed so that a killed run resumes exactly.

One tf.train.Checkpoint holds the model, the optimizer (its moments, step and so the
learning-rate schedule position, EMA averages, gradient accumulators), the dropout seed
states, the best epoch's weights and a JSON record of everything else (batches done, dev
history, early-stopping counter).
tf.train.CheckpointManager writes it under OUT/checkpoints: TensorFlow writes the files first and
the ``checkpoint`` index last and atomically, so a kill during a save leaves the previous
checkpoint as the latest, and only the last few are kept.

Why not keras.callbacks.BackupAndRestore: it restarts an interrupted epoch from its first batch
with mid-epoch weights (so a resumed run sees some batches twice), writes weights and metadata
as two files that a kill can leave out of step, and has no place for the best weights or the
dev history. The data position needs no saving: the batches of pass k are a function of the
seed and k alone (classifier.batching.epoch_batches), so the batch count says where to go on.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

CHECKPOINT_DIR = "checkpoints"

logger = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss): says why; the last good state is kept."""


class RunRecord(tf.train.experimental.PythonState):
    """A JSON-ready dict saved inside the checkpoint, so it always matches the weights."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def serialize(self) -> str:
        return json.dumps(self.values)

    def deserialize(self, string_value) -> None:
        text = string_value.decode() if isinstance(string_value, bytes) else string_value
        self.values = json.loads(text)


class BestWeights(tf.Module):
    """Copies of the trainable weights of the best dev epoch (saved with the checkpoint)."""

    def __init__(self, weights: list) -> None:
        super().__init__(name="best_weights")
        self.copies = [
            tf.Variable(tf.zeros(w.shape, w.dtype), trainable=False, name=f"best_{i}")
            for i, w in enumerate(weights)
        ]

    def keep(self, weights: list) -> None:
        for copy, weight in zip(self.copies, weights, strict=True):
            copy.assign(weight.value if isinstance(weight, keras.Variable) else weight)

    def restore_into(self, weights: list) -> None:
        for weight, copy in zip(weights, self.copies, strict=True):
            weight.assign(copy)


class RandomStates(tf.Module):
    """The states of the model's random seed generators (dropout): Keras leaves them out of
    ``model.weights``, but a resumed run must draw the masks the killed one would have."""

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name="random_states")
        weights = {id(w) for w in model.weights}
        self.states = [v.value for v in model.variables if id(v) not in weights]


class TrainingCheckpoint:
    """The run's checkpoint: ``save`` after a step or an epoch, ``restore`` the latest."""

    def __init__(
        self,
        model: keras.Model,
        directory: Path,
        max_to_keep: int,
        best: BestWeights | None,
        optimizer: keras.optimizers.Optimizer | None = None,
    ) -> None:
        """``optimizer``: the one training ``model`` (default: its own; a Distiller's trains
        the student it holds)."""
        self.record = RunRecord()
        self.restored: str | None = None
        parts: dict[str, Any] = {
            "model": model,
            "optimizer": optimizer or model.optimizer,
            "random": RandomStates(model),
            "run": self.record,
        }
        if best is not None:
            parts["best"] = best
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(directory), max_to_keep=max_to_keep
        )

    @property
    def values(self) -> dict[str, Any]:
        return self.record.values

    def restore(self, directory: Path | None = None) -> bool:
        """Loads the latest checkpoint (of ``directory``, default this run's); False when there
        is none. A damaged latest checkpoint falls back, with a warning, to the one before it
        (the manager keeps --keep_checkpoints); when none can be read, the error names the
        damaged file and the command that discards the checkpoints."""
        folder = Path(directory) if directory is not None else Path(self.manager.directory)
        state = tf.train.get_checkpoint_state(str(folder))
        candidates = list(state.all_model_checkpoint_paths) if state else []
        latest = state.model_checkpoint_path if state else None
        if latest and latest not in candidates:
            candidates.append(latest)
        if not candidates:
            return False
        failures = []
        for path in reversed(candidates):
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (tf.errors.OpError, ValueError, AssertionError, IndexError) as err:
                failures.append(f"{path} ({type(err).__name__}: {str(err).splitlines()[0][:200]})")
                continue
            if failures:
                logger.warning(
                    "checkpoint %s cannot be read (damaged); resuming from %s instead",
                    "; ".join(failures),
                    path,
                )
            self.restored = path
            return True
        raise TrainingError(
            f"cannot resume from {failures[0]}: the checkpoint is damaged or from another model"
            + (f", and so are the older ones ({'; '.join(failures[1:])})" if failures[1:] else "")
            + f". Discard the checkpoints with `rm -r {folder}` and run the same command to "
            "start this run again from the beginning, or pass --overwrite to start a new run"
        )

    def save(self, batches_done: int) -> None:
        self.values["batches_done"] = batches_done
        self.manager.save(checkpoint_number=batches_done)

    @property
    def latest(self) -> str | None:
        return self.restored or self.manager.latest_checkpoint


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises TrainingError as soon as a batch's loss is NaN or infinite, before anything (a
    checkpoint, the saved model) can take the broken weights in."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingError(
                f"the training loss became {float(loss)} at batch {batch + 1} of this epoch; "
                "the run stopped and its last good checkpoint is kept. Lower --learning_rate "
                "or raise --warmup_proportion, then start again with --overwrite"
            )


class SaveTrainingState(keras.callbacks.Callback):
    """Checkpoints every ``every`` batches and at each epoch end (after the dev evaluation).

    ``batches_done`` counts batches over the whole run (resumes included); ``epoch_end(e)`` is
    the count at which Keras epoch ``e`` ends. A batch that ends an epoch is saved by the epoch
    end instead, so a checkpoint at an epoch boundary always holds that epoch's dev result.

    Keras' training figures (loss, accuracy) are running means since the epoch's first batch
    *in this process*: after a mid-epoch resume they would cover only the batches since the
    resume. So every mid-epoch checkpoint records the means so far (``partial_epoch``: the
    epoch, its batches and their means), a resumed run carries them in (``carried``, from
    ``carried_epoch``), and at the epoch end the figures Keras reports (history, CSV,
    TensorBoard, train_loss_history) are the batch-weighted means over the whole epoch.
    """

    def __init__(
        self,
        checkpoint: TrainingCheckpoint,
        every: int,
        batches_done: int,
        epoch_end: Callable[[int], int],
        epoch_state: Callable[[int, dict], dict[str, Any]],
        carried: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.every = every
        self.batches_done = batches_done
        self.epoch_end = epoch_end
        self.epoch_state = epoch_state  # (epoch, logs) -> what the epoch end adds to the record
        self.to_carry = carried
        self.epoch_end_batch = 0
        self.carried: dict[str, Any] = {"batches": 0, "means": {}}
        self.seen = 0
        self.running: dict[str, float] = {}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_end_batch = self.epoch_end(epoch)
        self.carried = self.to_carry or {"batches": 0, "means": {}}  # the resumed epoch only
        self.to_carry = None
        self.seen = 0
        self.running = {}

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.batches_done += 1
        self.seen += 1
        self.running = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
        if self.batches_done % self.every == 0 and self.batches_done != self.epoch_end_batch:
            self.checkpoint.values["partial_epoch"] = {
                "end_batch": self.epoch_end_batch,
                "batches_done": self.batches_done,
                **self.merged(),
            }
            self.checkpoint.save(self.batches_done)

    def merged(self) -> dict[str, Any]:
        """The epoch's batch count and running means, the batches before a resume included."""
        before, now = int(self.carried["batches"]), self.seen
        means = dict(self.running)
        if before:
            for name, value in self.carried["means"].items():
                if name in means and now:
                    means[name] = (before * value + now * means[name]) / (before + now)
                else:
                    means.setdefault(name, value)
        return {"batches": before + now, "means": means}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        if self.carried["batches"]:  # the figures of the whole epoch, not of this process's part
            for name, value in self.merged()["means"].items():
                if name in logs:
                    logs[name] = value
        self.checkpoint.values.pop("partial_epoch", None)
        self.checkpoint.values.update(self.epoch_state(epoch, logs))
        self.checkpoint.save(self.batches_done)


def carried_epoch(record: dict[str, Any], batches_done: int, epoch_end_batch: int) -> dict | None:
    """The running means a resumed run takes over: those the checkpoint it resumes from
    recorded for the epoch it interrupted (None at an epoch boundary)."""
    partial = record.get("partial_epoch")
    if (
        partial
        and partial.get("batches_done") == batches_done
        and partial.get("end_batch") == epoch_end_batch
    ):
        return {"batches": int(partial["batches"]), "means": dict(partial["means"])}
    return None


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
