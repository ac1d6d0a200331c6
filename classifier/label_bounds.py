"""Multilabel bounds: at least ``min_labels`` and at most ``max_labels`` labels per text.

After the thresholds decide, a text with fewer than min_labels labels gains the most probable
labels it lacks, and one with more than max_labels keeps its max_labels most probable ones.
Labels are ranked by (-probability, label index), a stable order, so ties go to the earlier
label, and the numpy rule (reports, in-memory predictions) and the graph rule (the export)
agree exactly. The head that takes bounds (MultilabelHead) applies them; defaults (0, None)
change nothing. Abstention comes first: an abstained text has no decisions to bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

MIN_KEY = "min_labels"
MAX_KEY = "max_labels"


@dataclass(frozen=True)
class LabelBounds:
    """``min_labels`` >= 0 and ``max_labels`` (None: no upper bound) per text."""

    min_labels: int = 0
    max_labels: int | None = None

    @property
    def is_set(self) -> bool:
        return self.min_labels > 0 or self.max_labels is not None

    def flags(self) -> list[str]:
        """The flags that set a bound ("--min_labels", "--max_labels")."""
        names = [f"--{MIN_KEY}"] if self.min_labels > 0 else []
        return names + ([f"--{MAX_KEY}"] if self.max_labels is not None else [])

    def check(self, num_labels: int | None = None) -> LabelBounds:
        """Refuses bounds that cannot hold, naming the flag; returns self."""
        for key, value in ((MIN_KEY, self.min_labels), (MAX_KEY, self.max_labels)):
            if value is None and key == MAX_KEY:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"--{key} must be a non-negative integer, got {value!r}")
        if self.max_labels is not None and self.min_labels > self.max_labels:
            raise ValueError(
                f"--min_labels ({self.min_labels}) must not exceed --max_labels ({self.max_labels})"
            )
        if num_labels is not None and self.min_labels > num_labels:
            raise ValueError(
                f"--min_labels ({self.min_labels}) must not exceed the number of labels "
                f"({num_labels})"
            )
        return self

    def over(self, min_labels: int | None, max_labels: int | None) -> LabelBounds:
        """These bounds with the given ones (None: keep this one) over them."""
        return LabelBounds(
            self.min_labels if min_labels is None else int(min_labels),
            self.max_labels if max_labels is None else int(max_labels),
        )

    def to_dict(self) -> dict[str, Any]:
        return {MIN_KEY: self.min_labels, MAX_KEY: self.max_labels}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LabelBounds:
        data = data or {}
        maximum = data.get(MAX_KEY)
        return cls(int(data.get(MIN_KEY) or 0), None if maximum is None else int(maximum))


def bound_decisions(
    decisions: np.ndarray, probabilities: np.ndarray, bounds: LabelBounds
) -> np.ndarray:
    """0/1 int32 rows [N, L]: ``decisions`` with labels added (most probable first) up to
    min_labels and cut (least probable first) down to max_labels."""
    decisions = np.asarray(decisions).astype(np.int32)
    if not bounds.is_set or decisions.size == 0:
        return decisions
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, axis=-1, kind="stable")  # (-p, index)
    chosen = np.take_along_axis(decisions, order, axis=-1) > 0
    count = chosen.sum(axis=-1, keepdims=True)
    maximum = chosen.shape[-1] if bounds.max_labels is None else bounds.max_labels
    keep = chosen & (np.cumsum(chosen, axis=-1) <= maximum)
    add = ~chosen & (np.cumsum(~chosen, axis=-1) <= bounds.min_labels - count)
    result = np.zeros_like(decisions)
    np.put_along_axis(result, order, (keep | add).astype(np.int32), axis=-1)
    return result


def bound_decisions_graph(
    decisions: tf.Tensor, probabilities: tf.Tensor, bounds: LabelBounds
) -> tf.Tensor:
    """``bound_decisions`` in TensorFlow (int32 [B, L]), for the exported graph."""
    import tensorflow as tf

    decisions = tf.cast(decisions, tf.int32)
    if not bounds.is_set:
        return decisions
    order = tf.argsort(-probabilities, axis=-1, stable=True)
    chosen = tf.gather(decisions, order, batch_dims=1) > 0
    chosen_int = tf.cast(chosen, tf.int32)
    count = tf.reduce_sum(chosen_int, axis=-1, keepdims=True)
    maximum = tf.shape(decisions)[-1] if bounds.max_labels is None else bounds.max_labels
    keep = tf.logical_and(chosen, tf.cumsum(chosen_int, axis=-1) <= maximum)
    missing = bounds.min_labels - count
    add = tf.logical_and(~chosen, tf.cumsum(1 - chosen_int, axis=-1) <= missing)
    sorted_result = tf.cast(tf.logical_or(keep, add), tf.int32)
    inverse = tf.argsort(order, axis=-1, stable=True)
    return tf.gather(sorted_result, inverse, batch_dims=1)
