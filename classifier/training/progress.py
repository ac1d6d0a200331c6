"""Progress that reads well in a log file: when output is not a terminal (a server, CI, nohup),
Keras's bar is off and this logs a line every ``every_seconds`` (and at each epoch end) with the
run's step, the epoch's running loss, the learning rate, the speed and the time left."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import keras

logger = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """12 -> '12s', 125 -> '2m05s', 7300 -> '2h01m'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def current_learning_rate(model: keras.Model) -> float:
    """The optimizer's learning rate at its current step (its schedule evaluated); NaN when the
    model has no optimizer with one."""
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return math.nan


class ProgressLog(keras.callbacks.Callback):
    """A log line every ``every_seconds`` of training and at every epoch end."""

    def __init__(
        self,
        start: int,
        total: int,
        steps_per_epoch: int,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.step = start
        self.total = total
        self.steps_per_epoch = steps_per_epoch
        self.every = every_seconds
        self.clock = clock
        self.epochs = math.ceil(total / steps_per_epoch)
        self.began = self.last = 0.0
        self.first_step = start

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.began = self.last = self.clock()
        self.first_step = self.step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        now = self.clock()
        if now - self.last >= self.every and self.step < self.total:
            self.last = now
            logger.info("%s", self.line(logs or {}, now))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = self.clock()
        self.last = now
        logger.info("epoch %d of %d ended: %s", epoch + 1, self.epochs, self.line(logs or {}, now))

    def line(self, logs: dict, now: float) -> str:
        done = self.step - self.first_step
        rate = done / (now - self.began) if now > self.began else 0.0
        parts = [f"step {self.step}/{self.total}"]
        if "loss" in logs:
            parts.append(f"loss {float(logs['loss']):.4f}")
        rate_text = f"{rate:.2f} steps/s" if rate else "- steps/s"
        parts.append(f"lr {current_learning_rate(self.model):.3g}")
        parts.append(rate_text)
        if rate and self.step < self.total:
            parts.append(f"ETA {duration((self.total - self.step) / rate)}")
        return ", ".join(parts)
