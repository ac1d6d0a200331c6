"""The one training loop (classifier.training.loop): which batches each Keras epoch trains,
from a fresh start and from a resume inside an epoch, and where it stops."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from classifier.training.loop import epoch_end, train_steps


class Seen(keras.callbacks.Callback):
    """Records (epoch, batch count of the run) for every batch and the epochs begun."""

    def __init__(self, start: int, stop_after_epoch: int | None = None) -> None:
        super().__init__()
        self.step = start
        self.batches: list[tuple[int, int]] = []
        self.epochs: list[int] = []
        self.epoch = -1
        self.stop_after_epoch = stop_after_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.batches.append((self.epoch, self.step))

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.stop_after_epoch:
            self.model.stop_training = True


def model_and_stream():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    opened: list[int] = []

    def stream(skip: int):
        opened.append(skip)
        x = np.arange(1000, dtype=np.float32)[:, None]
        return tf.data.Dataset.from_tensor_slices((x, x)).batch(2).skip(skip)

    return model, stream, opened


def test_epoch_end_caps_the_last_short_epoch():
    assert [epoch_end(e, 4, 10) for e in range(3)] == [4, 8, 10]


def test_a_fresh_run_trains_every_batch_once_in_epochs_of_the_segment():
    model, stream, opened = model_and_stream()
    seen = Seen(0)
    assert train_steps(model, stream, 0, 10, 4, [seen]) == 10
    assert opened == [0]  # one fit for the whole run
    assert seen.batches == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7), (1, 8)] + [
        (2, 9),
        (2, 10),
    ]


def test_a_run_resumed_inside_an_epoch_finishes_it_under_its_own_number():
    model, stream, opened = model_and_stream()
    seen = Seen(5)
    assert train_steps(model, stream, 5, 10, 4, [seen]) == 10
    assert opened == [5, 8]  # the rest of epoch 2, then the epochs after it
    assert seen.batches == [(1, 6), (1, 7), (1, 8), (2, 9), (2, 10)]
    assert seen.epochs == [1, 2]


@pytest.mark.parametrize("start", [0, 2])
def test_a_callback_that_stops_training_ends_the_run_at_its_epoch(start):
    model, stream, _ = model_and_stream()
    seen = Seen(start, stop_after_epoch=1)
    assert train_steps(model, stream, start, 20, 4, [seen]) == 8
    assert seen.batches[-1] == (1, 8)


def test_nothing_left_trains_nothing():
    model, stream, opened = model_and_stream()
    assert train_steps(model, stream, 10, 10, 4, []) == 10
    assert opened == []


def test_the_training_log_counts_epochs_from_one_and_has_no_empty_columns(tmp_path):
    from classifier.training.fit import TrainingLog

    model, stream, _ = model_and_stream()
    path = tmp_path / "training_log.csv"
    train_steps(model, stream, 0, 6, 3, [TrainingLog(str(path), append=True)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,loss"
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2"]
    # A resumed run appends under the same header.
    train_steps(model, stream, 6, 9, 3, [TrainingLog(str(path), append=True)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,loss" and [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]


def test_progress_in_a_log_file_says_step_loss_rate_and_time_left(caplog):
    from classifier.training.progress import ProgressLog, duration

    assert [duration(s) for s in (12, 125, 7300)] == ["12s", "2m05s", "2h01m"]
    ticks = iter(range(0, 1000, 10))  # ten seconds per reading of the clock
    model, stream, _ = model_and_stream()
    progress = ProgressLog(0, 6, 3, every_seconds=25, clock=lambda: float(next(ticks)))
    with caplog.at_level("INFO", logger="classifier.training.progress"):
        train_steps(model, stream, 0, 6, 3, [progress])
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("step 3/6, loss ")  # 30 s after the start: the first line
    assert "steps/s" in lines[0] and "ETA " in lines[0] and "lr 0.01" in lines[0]
    assert any(line.startswith("epoch 1 of 2 ended: step 3/6") for line in lines)
    assert lines[-1].startswith("epoch 2 of 2 ended: step 6/6") and "ETA" not in lines[-1]
