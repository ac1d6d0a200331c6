"""TensorBoard for a run: the training loss and learning rate at every step, the epoch figures,
and the dev figures beside them under the same names (logs/train, logs/dev), so TensorBoard
draws train and dev on one chart. One event file per split for the whole run (Keras's own
callback opens new files at every fit call; the loop may call fit more than once), a new one
only when a killed run resumes; steps count the run's batches, resumed ones included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from classifier.training.progress import current_learning_rate

DEV_PREFIX = "dev_"  # DevEvaluator's figures in the epoch logs


class TensorBoardLog(keras.callbacks.Callback):
    """Writes ``loss`` and ``learning_rate`` every ``every_steps`` batches (the loss is the
    epoch's running mean, as Keras reports it), ``epoch_<figure>`` at each epoch end: train
    figures to logs/train, dev figures (``dev_accuracy`` -> ``epoch_accuracy``) to logs/dev."""

    def __init__(self, log_dir: str | Path, start_step: int = 0, every_steps: int = 1) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self.step = start_step
        self.every = max(1, every_steps)
        self._writers: dict[str, Any] = {}

    def writer(self, split: str) -> Any:
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(self.log_dir / split))
        return self._writers[split]

    def write(self, split: str, values: dict[str, float]) -> None:
        with self.writer(split).as_default(step=self.step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        if self.step % self.every == 0 and logs and "loss" in logs:
            rate = current_learning_rate(self.model)
            self.write("train", {"loss": float(logs["loss"]), "learning_rate": rate})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train, dev = {}, {}
        for name, value in (logs or {}).items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if name.startswith(DEV_PREFIX):
                dev[f"epoch_{name[len(DEV_PREFIX) :]}"] = number
            else:
                train[f"epoch_{name}"] = number
        for split, values in (("train", train), ("dev", dev)):
            if values:
                self.write(split, values)
                self.writer(split).flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for writer in self._writers.values():
            writer.flush()
