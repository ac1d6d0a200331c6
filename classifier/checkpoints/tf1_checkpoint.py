"""Reading and writing TF1 name-based checkpoints (what google-research/bert and ALBERT ship).

Reading goes through tf.train.load_checkpoint, which needs only the .index and .data files.
Writing uses a TF1 graph and Saver so that the result is byte-for-byte the same kind of file as
the real releases, .meta graph included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf


class DamagedCheckpointError(ValueError):
    """A checkpoint whose index reads but whose data does not (a truncated download)."""


class TF1Checkpoint(Mapping):
    """Read-only, lazy name -> numpy array view of a TF1 checkpoint."""

    def __init__(self, prefix: str | Path):
        self.prefix = str(prefix)
        index = Path(f"{self.prefix}.index")
        try:
            self._reader = tf.train.load_checkpoint(self.prefix)
            self._shapes = self._reader.get_variable_to_shape_map()
        except (tf.errors.OpError, ValueError) as err:
            reason = getattr(err, "message", None) or str(err)
            if index.is_file():  # the files are there but do not read: damaged, not missing
                raise DamagedCheckpointError(
                    f"{index} cannot be read ({reason.strip().splitlines()[0]}); the checkpoint "
                    "is truncated or damaged, download or copy it again"
                ) from None
            raise FileNotFoundError(
                f"cannot read a TF1 checkpoint at prefix {self.prefix!r} "
                f"(expected {self.prefix}.index and {self.prefix}.data-*): {reason}"
            ) from None

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._shapes:
            raise KeyError(name)
        try:
            return np.asarray(self._reader.get_tensor(name))
        except (IndexError, ValueError, tf.errors.OpError) as err:
            raise DamagedCheckpointError(
                f"{self.prefix}.data-*: tensor {name} cannot be read ({err}); the checkpoint "
                "is truncated or damaged, download or copy it again"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._shapes))

    def __len__(self) -> int:
        return len(self._shapes)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._shapes[name])


def write_tf1_checkpoint(prefix: str | Path, tensors: Mapping[str, np.ndarray]) -> str:
    """Writes ``tensors`` under their names as a TF1 checkpoint (.index, .data, .meta).

    Returns the checkpoint prefix. The directory is created if needed.
    """
    prefix = str(prefix)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        variables = []
        for name, value in tensors.items():
            value = np.asarray(value)
            variables.append(
                tf.compat.v1.Variable(value, name=name, dtype=tf.as_dtype(value.dtype))
            )
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, prefix, write_meta_graph=True)
    # The releases ship no "checkpoint" state file; loaders must not depend on one.
    state_file = os.path.join(os.path.dirname(os.path.abspath(prefix)), "checkpoint")
    if os.path.exists(state_file):
        os.remove(state_file)
    return prefix
