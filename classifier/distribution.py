"""tf.distribute for training: which strategy, who writes, and how batches reach replicas.

``--distribution_strategy``: ``default`` (one device), ``mirrored`` (MirroredStrategy over the
GPUs of this machine, or its logical CPU devices when it has no GPU) and ``multi_worker``
(MultiWorkerMirroredStrategy across the machines that TF_CONFIG lists; docs/distributed.md).
``--train_batch_size`` is per replica; a step's global batch is that times the replicas.

Training batches are drawn as global batches (classifier.training.example_cache, so the data
order is that of a one-device run with the same global batch) and each input pipeline (one
per worker) hands its replicas their consecutive slices. Only the chief writes the output
folder; the other workers write into a scratch folder that is removed when they finish.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # TensorFlow loads with the first strategy, not with the flag parser
    import tensorflow as tf

    from classifier.training.example_cache import CachedSplit

STRATEGIES = ("default", "mirrored", "multi_worker")


class DistributionError(ValueError):
    """A strategy that cannot be set up as asked: says what is missing."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy ``name`` names; create it before any model or dataset (TensorFlow asks
    that of MultiWorkerMirroredStrategy)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    if name == "multi_worker":
        cluster = tf_config()
        if not cluster:
            raise DistributionError(
                "--distribution_strategy=multi_worker needs the TF_CONFIG environment variable "
                "(the cluster and this worker's task); see docs/distributed.md"
            )
        from classifier.replica_build import fix_multi_worker_logs

        fix_multi_worker_logs()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise DistributionError(f"--distribution_strategy must be one of {STRATEGIES}, got {name!r}")


def tf_config() -> dict:
    """TF_CONFIG as a dict ({} when unset); a malformed one is a clear error."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise DistributionError(f"TF_CONFIG is not valid JSON: {err}") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise DistributionError('TF_CONFIG must hold "cluster" and "task" (docs/distributed.md)')
    return config


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the one process that writes: the only one, or the chief of a cluster (the
    "chief" task, or worker 0 when the cluster has no chief)."""
    import tensorflow as tf

    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_name(strategy: tf.distribute.Strategy) -> str:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return "chief"
    return f"{resolver.task_type}_{resolver.task_id}"


def replicas(strategy: tf.distribute.Strategy | None = None) -> int:
    import tensorflow as tf

    return (strategy or tf.distribute.get_strategy()).num_replicas_in_sync


def distributed_training_dataset(
    strategy: tf.distribute.Strategy,
    split: CachedSplit,
    batch_size: int,
    seed: int,
    group_by_length: bool,
    skip_batches: int,
):
    """The fine-tuning stream for ``strategy``: the cached split's global batches (those of a
    one-device run), each replica fed its slice."""
    from classifier.training.example_cache import training_stream

    count = strategy.num_replicas_in_sync
    batches = training_stream(split, batch_size * count, seed, group_by_length, skip_batches)
    return distribute_global_batches(strategy, batches)


def distribute_global_batches(strategy: tf.distribute.Strategy, batches: tf.data.Dataset):
    """Global batches -> what ``model.fit`` under ``strategy`` takes: the dataset itself on one
    replica, else one input pipeline per worker, each feeding its replicas their consecutive
    slices of every global batch (so the data order is that of one device)."""
    count = strategy.num_replicas_in_sync
    if count == 1:
        return batches
    from classifier.training.example_cache import replica_slices

    return strategy.distribute_datasets_from_function(
        lambda context: replica_slices(
            batches, count, context.input_pipeline_id, context.num_input_pipelines
        )
    )


@contextmanager
def worker_folder(strategy: tf.distribute.Strategy, prefix: str) -> Iterator[Path | None]:
    """None for the process that writes the output folder (the only one, or the chief); for
    another worker, a scratch folder that it writes instead, removed however the run ends."""
    if is_chief(strategy):
        yield None
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"{prefix}_{worker_name(strategy)}_"))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
