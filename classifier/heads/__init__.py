"""Heads: one object per kind of labels (multiclass, multilabel, hierarchical) that owns its
task logic.

    make_head(kind, labels, thresholds=None) -> the head registered under ``kind``
    register_head(name): the class decorator a new head kind registers itself with
    head_kind_of(task): the kind a task (a DataProcessor) asks for
    ClassificationHead: the Keras layer (dropout + dense logits) every head kind shares
    LossOptions: the loss and imbalance options a head turns into a Keras loss

See classifier.heads.base.Head for what a head answers. ``spec.head`` gives a classifier's head.
The head objects are numpy and load no TensorFlow; ClassificationHead (Keras) resolves on first
use, so that scripts/baseline.sh reports through heads without TensorFlow.
"""

from __future__ import annotations

from typing import Any

from classifier.head_options import LossOptions, options_from
from classifier.heads.base import Head
from classifier.heads.multiclass import MULTICLASS, MulticlassHead, balanced_class_weights
from classifier.heads.multilabel import (
    MAX_BALANCED_POS_WEIGHT,
    MULTILABEL,
    MultilabelHead,
    balanced_pos_weight,
)

# isort: split
# Registered after the kinds it builds on, so kinds list in the order users meet them.
from classifier.heads.hierarchical import HIERARCHICAL, HierarchicalHead
from classifier.heads.registry import (
    HEADS,
    check_head_kind,
    head_kind_of,
    make_head,
    register_head,
)

HEAD_KINDS = tuple(HEADS)  # the built-in kinds (a kind registered later is in HEADS)


def __getattr__(name: str) -> Any:
    if name == "ClassificationHead":  # the Keras layer: TensorFlow loads here, not on import
        from classifier.heads.layer import ClassificationHead

        return ClassificationHead
    raise AttributeError(f"module 'classifier.heads' has no attribute {name!r}")


__all__ = [
    "HEADS",
    "HEAD_KINDS",
    "HIERARCHICAL",
    "MAX_BALANCED_POS_WEIGHT",
    "MULTICLASS",
    "MULTILABEL",
    "ClassificationHead",
    "Head",
    "HierarchicalHead",
    "LossOptions",
    "MulticlassHead",
    "MultilabelHead",
    "balanced_class_weights",
    "balanced_pos_weight",
    "check_head_kind",
    "head_kind_of",
    "make_head",
    "options_from",
    "register_head",
]
