"""Heads by name: a head kind registers its class once, and everything else asks for it by name.

    @register_head("multiclass")
    class MulticlassHead(Head): ...

    make_head("multiclass", labels)  # an unknown name lists the known ones

A task (any object with the DataProcessor contract) names its head with a ``head_kind``
attribute; a processor that only says ``is_multilabel`` (google-research/bert's contract, and
every processor written before head kinds had names) gets "multilabel" or "multiclass".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from classifier.heads.base import Head
from classifier.label_bounds import LabelBounds
from classifier.registry import registrar

HEADS: dict[str, type[Head]] = {}


def register_head(name: str) -> Callable[[type[Head]], type[Head]]:
    """Class decorator: makes ``name`` select the head class (and sets its ``kind``)."""
    return _register(name)


_register = registrar(HEADS, "head kind", "kind")


def check_head_kind(kind: str) -> str:
    if kind not in HEADS:
        raise ValueError(f"head kind must be one of {tuple(HEADS)}, got {kind!r}")
    return kind


def head_kind_of(task: Any) -> str:
    """The head kind a task asks for: its ``head_kind``, else what ``is_multilabel`` says."""
    kind = getattr(task, "head_kind", None)
    if kind is None:
        kind = "multilabel" if getattr(task, "is_multilabel", False) else "multiclass"
    return check_head_kind(kind)


def make_head(
    kind: str,
    labels: Sequence[str],
    thresholds: Sequence[float] | None = None,
    temperatures: Sequence[float] | None = None,
    label_bounds: LabelBounds | None = None,
) -> Head:
    return HEADS[check_head_kind(kind)](labels, thresholds, temperatures, label_bounds)
