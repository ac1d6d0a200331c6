"""Multilabel bounds in serving: which bounds a request is answered at, and the rule.

An export of a multilabel run holds its labels between min_labels and max_labels in its graph
(after the thresholds: the most probable missing labels added, the least probable chosen ones
dropped, ties in label order) and records them in its metadata as ``label_bounds``; a model
without that key takes none (multiclass). A request (predict.sh's flags, an HTTP body) may
name its own bounds; the decisions are then recomputed from the outputs' probabilities and the
export's thresholds. Serving imports no training code, so the head's rule
(classifier.label_bounds) is written here once more, with the same stable order; an
abstained text keeps no decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

METADATA_KEY = "label_bounds"
MIN_KEY = "min_labels"
MAX_KEY = "max_labels"


class BoundsError(ValueError):
    """Bounds a model cannot take; ``field`` names the flag / request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Bounds:
    min_labels: int = 0
    max_labels: int | None = None

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Bounds | None:
        """The export's bounds; None when the model takes none (no ``label_bounds`` key)."""
        data = metadata.get(METADATA_KEY)
        if data is None:
            return None
        maximum = data.get(MAX_KEY)
        return cls(int(data.get(MIN_KEY) or 0), None if maximum is None else int(maximum))

    def to_metadata(self) -> dict[str, Any]:
        return {METADATA_KEY: {MIN_KEY: self.min_labels, MAX_KEY: self.max_labels}}


def resolve(
    exported: Bounds | None,
    min_labels: int | None,
    max_labels: int | None,
    num_labels: int,
) -> Bounds | None:
    """The bounds a request is answered at: the export's, with the request's over them.
    Refuses (BoundsError naming the field) bounds for a model that takes none, a minimum over
    the maximum or over the number of labels."""
    if min_labels is None and max_labels is None:
        return exported
    if exported is None:
        field = MIN_KEY if min_labels is not None else MAX_KEY
        raise BoundsError(field, f"{field} applies to multilabel models; this one takes none")
    bounds = Bounds(
        exported.min_labels if min_labels is None else int(min_labels),
        exported.max_labels if max_labels is None else int(max_labels),
    )
    for field, value in ((MIN_KEY, bounds.min_labels), (MAX_KEY, bounds.max_labels)):
        if value is not None and value < 0:
            raise BoundsError(field, f"{field} must be a non-negative integer, got {value}")
    if bounds.max_labels is not None and bounds.min_labels > bounds.max_labels:
        field = MIN_KEY if min_labels is not None else MAX_KEY
        raise BoundsError(
            field,
            f"min_labels ({bounds.min_labels}) must not exceed max_labels ({bounds.max_labels})",
        )
    if bounds.min_labels > num_labels:
        raise BoundsError(
            MIN_KEY, f"min_labels ({bounds.min_labels}) exceeds the {num_labels} labels"
        )
    return bounds


def bound_rows(decisions: np.ndarray, probabilities: np.ndarray, bounds: Bounds) -> np.ndarray:
    """0/1 int32 rows: labels added (most probable first) up to min_labels, chosen ones cut
    (least probable first) down to max_labels; order (-probability, label index)."""
    decisions = np.asarray(decisions).astype(np.int32)
    if decisions.size == 0:
        return decisions
    order = np.argsort(-np.asarray(probabilities), axis=-1, kind="stable")
    chosen = np.take_along_axis(decisions, order, axis=-1) > 0
    count = chosen.sum(axis=-1, keepdims=True)
    maximum = chosen.shape[-1] if bounds.max_labels is None else bounds.max_labels
    keep = chosen & (np.cumsum(chosen, axis=-1) <= maximum)
    add = ~chosen & (np.cumsum(~chosen, axis=-1) <= bounds.min_labels - count)
    result = np.zeros_like(decisions)
    np.put_along_axis(result, order, (keep | add).astype(np.int32), axis=-1)
    return result


def apply_bounds(
    outputs: Mapping[str, np.ndarray],
    bounds: Bounds,
    thresholds: Sequence[float],
    labels: Sequence[str],
) -> dict[str, np.ndarray]:
    """serving_default's (numpy) outputs decided at ``bounds``: the thresholds as the graph
    compares them (float32), then the bounds; abstained rows keep no decisions."""
    probabilities = np.asarray(outputs["probabilities"], np.float32)
    passed = (probabilities >= np.asarray(thresholds, np.float32)).astype(np.int32)
    predicted = bound_rows(passed, probabilities, bounds)
    abstained = outputs.get("abstained")
    if abstained is not None and len(predicted):
        predicted[np.asarray(abstained, bool)] = 0
    result = dict(outputs)
    result["predicted"] = predicted
    result["labels"] = np.where(predicted > 0, np.array(labels, dtype=object), "").astype(object)
    return result
