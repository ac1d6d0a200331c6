"""A gradient tape that watches only the weights being trained.

Keras fixes each tf.Variable's trainable flag when it is created, so a backbone frozen
afterwards (adapters, knowledge adapters) still holds trainable tf.Variables. A default tape
watches every one it reads and TensorFlow then computes each frozen kernel's gradient, only to
drop it: adapter training cost as much as full fine-tuning. Watching just the trainable weights
lets the backward pass skip those matmuls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import tensorflow as tf


@contextmanager
def trainable_tape(variables: Sequence) -> Iterator[tf.GradientTape]:
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for variable in variables:
            tape.watch(getattr(variable, "value", variable))
        yield tape
