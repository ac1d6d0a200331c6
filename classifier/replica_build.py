"""Two fixes for Keras 3 fit under MultiWorkerMirroredStrategy (both our models need them).

1. The first distributed step with dict inputs.
Before training under a tf.distribute strategy, Keras 3 builds the compiled loss and metrics
from the first batch, which it turns into one batch by ``strategy.reduce("MEAN", batch)``.
MultiWorkerMirroredStrategy's reduce takes one tensor, not a dict of them, so every
multi-worker fit of a model with named inputs stops there. One replica's batch has the same
structure and shapes, which is all the build needs.

2. The step's logs: see fix_multi_worker_logs (applied when that strategy is made).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import tree


class ReplicaBatchBuild:
    """Mixin for keras.Model subclasses: builds from the first local replica's batch (1.)."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is not None and _nothing_to_build(self):
            return None  # no batch drawn: the training iterator starts at the stream's start
        if iterator is not None and strategy is not None:
            for _, _, batches in iterator:
                batch = next(batches)
                data_batch = tree.map_structure(lambda v: _first_local_value(strategy, v), batch)
                break
            iterator = None
        return keras.Model._maybe_symbolic_build(self, iterator=iterator, data_batch=data_batch)


def _nothing_to_build(model) -> bool:
    compiled = [getattr(model, "_compile_loss", None), getattr(model, "_compile_metrics", None)]
    optimizer = getattr(model, "optimizer", None)
    return (
        model.built
        and (optimizer is None or optimizer.built)
        and all(part is None or part.built for part in compiled)
    )


def _first_local_value(strategy: tf.distribute.Strategy, value):
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def fix_multi_worker_logs() -> None:
    """Keras's train step reduces its scalar logs (loss, metrics) over replicas with
    ``strategy.reduce("MEAN", v, axis=0)`` under a multi-worker strategy, which fails on a
    scalar; this averages them with axis=None instead (the global mean). Idempotent."""
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "fixed_for_multi_worker", False):
        return
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.fixed_for_multi_worker = True
    trainer.reduce_per_replica = reduce_per_replica
