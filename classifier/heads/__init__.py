"""Heads: one object per kind of labels (multiclass, multilabel) that owns its task logic.

    make_head(kind, labels, thresholds=None) -> MulticlassHead | MultilabelHead
    ClassificationHead: the Keras layer (dropout + dense logits) every head kind shares
    LossOptions: the loss and imbalance options a head turns into a Keras loss

See classifier.heads.base.Head for what a head answers. ``spec.head`` gives a classifier's head.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifier.heads.base import Head, LossOptions, options_from
from classifier.heads.layer import ClassificationHead
from classifier.heads.multiclass import MULTICLASS, MulticlassHead, balanced_class_weights
from classifier.heads.multilabel import (
    MAX_BALANCED_POS_WEIGHT,
    MULTILABEL,
    MultilabelHead,
    balanced_pos_weight,
)

HEADS: dict[str, type[Head]] = {MULTICLASS: MulticlassHead, MULTILABEL: MultilabelHead}
HEAD_KINDS = tuple(HEADS)


def check_head_kind(kind: str) -> str:
    if kind not in HEADS:
        raise ValueError(f"head kind must be one of {HEAD_KINDS}, got {kind!r}")
    return kind


def kind_for(is_multilabel: bool) -> str:
    """The head kind of a task whose processor says whether it is multilabel."""
    return MULTILABEL if is_multilabel else MULTICLASS


def make_head(
    kind: str,
    labels: Sequence[str],
    thresholds: Sequence[float] | None = None,
    temperatures: Sequence[float] | None = None,
) -> Head:
    return HEADS[check_head_kind(kind)](labels, thresholds, temperatures)


__all__ = [
    "HEADS",
    "HEAD_KINDS",
    "MAX_BALANCED_POS_WEIGHT",
    "MULTICLASS",
    "MULTILABEL",
    "ClassificationHead",
    "Head",
    "LossOptions",
    "MulticlassHead",
    "MultilabelHead",
    "balanced_class_weights",
    "balanced_pos_weight",
    "check_head_kind",
    "kind_for",
    "make_head",
    "options_from",
]
