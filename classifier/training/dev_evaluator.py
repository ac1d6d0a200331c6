"""Per-epoch dev evaluation: logs the metrics, keeps the best weights, stops early."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import keras

from classifier.training.checkpointing import BestWeights

logger = logging.getLogger(__name__)

LOWER_IS_BETTER = {"loss"}


class DevEvaluator(keras.callbacks.Callback):
    """Runs ``evaluate()`` at the end of every epoch and acts on ``metric``.

    The dev figures are added to Keras' logs as dev_<name> (so the progress bar, CSV and
    TensorBoard logs show them). The trainable weights of the best epoch are copied into
    ``best`` (BestWeights, checkpointed with the run) and put back by ``restore_best`` when
    training ends; with ``patience``, training stops after that many epochs without
    improvement. Only trainable weights are copied: frozen ones cannot change. With an EMA of
    the weights, ``weights`` swaps the averages in while an epoch is judged. ``state`` and
    ``load_state`` carry the rest across a resumed run.
    """

    def __init__(
        self,
        evaluate: Callable[[], dict[str, Any]],
        metric: str,
        patience: int | None = None,
        weights: Callable[[], AbstractContextManager] | None = None,
        best: BestWeights | None = None,
    ):
        super().__init__()
        self.evaluate = evaluate
        # The weights an epoch is judged (and kept) by: the averaged ones with EMA.
        self.weights = weights or nullcontext
        self.metric = metric
        self.patience = patience
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.history: list[dict[str, Any]] = []
        self.best = best
        self._epochs_without_improvement = 0

    def state(self) -> dict[str, Any]:
        return {
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "epochs_without_improvement": self._epochs_without_improvement,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.best_value = state.get("best_value")
        self.best_epoch = state.get("best_epoch")
        self.history = list(state.get("history", []))
        self._epochs_without_improvement = int(state.get("epochs_without_improvement", 0))

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.metric in LOWER_IS_BETTER:
            return value < self.best_value
        return value > self.best_value

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        with self.weights():
            self._judge(epoch, logs)

    def _judge(self, epoch: int, logs: dict | None) -> None:
        results = self.evaluate()
        value = float(results[self.metric])
        self.history.append({"epoch": epoch + 1, **_scalars(results)})
        if logs is not None:
            logs.update({f"dev_{k}": v for k, v in _scalars(results).items()})
        if self._improved(value) and not math.isnan(value):
            self.best_value, self.best_epoch = value, epoch + 1
            if self.best is not None:
                self.best.keep(self.model.trainable_weights)
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        logger.info(
            "epoch %d dev %s = %.4f (best %.4f at epoch %d)",
            epoch + 1,
            self.metric,
            value,
            self.best_value,
            self.best_epoch,
        )
        if self.patience is not None and self._epochs_without_improvement >= self.patience:
            logger.info("early stopping: no dev improvement for %d epochs", self.patience)
            self.model.stop_training = True

    def restore_best(self, model: keras.Model) -> None:
        """Puts the best epoch's trainable weights back into ``model``."""
        if self.best is not None and self.best_epoch is not None:
            self.best.restore_into(model.trainable_weights)
            logger.info("restored the weights of epoch %d", self.best_epoch)


def _scalars(results: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in results.items() if isinstance(v, int | float)}
