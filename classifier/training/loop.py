"""The one training loop: fine-tuning, distillation and pretraining all train through it.

A run is ``total`` batches of a stream that can be reopened at any batch (its order is a
function of the seed and the position alone), cut into Keras epochs of ``segment`` batches:
an epoch of the data for fine-tuning and distillation, a checkpoint interval for pretraining.
What ends an epoch (dev evaluation, early stopping, checkpoint, logs) is the callbacks' work;
the loop only decides which batches each ``model.fit`` call trains:

- a run that starts inside an epoch (it was resumed after a kill) first trains that epoch's
  remaining batches in their own call, under the epoch's own number, since Keras epochs all have
  the same length;
- then one call trains the remaining epochs, the last one ended early when ``total`` is not a
  whole number of epochs.

The loop counts batches itself (``StepCounter``): Keras's ``optimizer.iterations`` counts
updates, which differ from batches under --gradient_accumulation_steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras


def epoch_end(epoch: int, segment: int, total: int) -> int:
    """The run's batch count when Keras epoch ``epoch`` (0-based) ends."""
    return min((epoch + 1) * segment, total)


class StepCounter(keras.callbacks.Callback):
    """The batches trained over the whole run, resumes included; stops fit at ``total``."""

    def __init__(self, start: int, total: int) -> None:
        super().__init__()
        self.step = start
        self.total = total

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        if self.step >= self.total:
            self.model.stop_training = True


def train_steps(
    model: keras.Model,
    stream: Callable[[int], Any],
    start: int,
    total: int,
    segment: int,
    callbacks: list[keras.callbacks.Callback],
    verbose: int | str = 0,
) -> int:
    """Trains batches ``start + 1`` .. ``total`` of ``stream(start)`` (a dataset, or a
    distributed one, whose first batch is the run's batch ``start + 1``); returns the batches
    done, fewer than ``total`` when a callback stopped training (early stopping)."""
    counter = StepCounter(start, total)
    step = start
    while step < total:
        epoch = step // segment
        if step % segment:  # inside an epoch: only its remaining batches, in its own call
            epochs, steps = epoch + 1, epoch_end(epoch, segment, total) - step
        else:
            epochs, steps = math.ceil(total / segment), segment
        model.fit(
            stream(step),
            initial_epoch=epoch,
            epochs=epochs,
            steps_per_epoch=steps,
            callbacks=[counter, *callbacks],
            shuffle=False,  # the stream shuffles itself
            verbose=verbose,
        )
        stopped_early = model.stop_training and counter.step < total
        if counter.step == step or stopped_early:
            break
        step = counter.step
    return counter.step
