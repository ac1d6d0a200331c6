"""Applying a name mapping between checkpoint tensors and backbone variables.

Each naming scheme (Google BERT TF1, Google ALBERT TF1, brightmart ALBERT, Hugging Face) only
says which checkpoint name feeds which variable and how the tensor is transformed on the way
(for example a transpose for PyTorch Linear weights). This module does the rest the same way for
all of them: assert every shape, skip what a pretraining checkpoint legitimately carries beyond
the backbone, and report by name whatever is missing or left over.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

Transform = Callable[[np.ndarray], np.ndarray]

# Optimizer state and bookkeeping that pretraining checkpoints carry (LAMB/Adam slots, steps).
_OPTIMIZER_STATE = re.compile(r"(/adam_[mv]$|/Adam(_\d+)?$|/lamb_[mv]$|^global_step$|/Momentum$)")
# Heads (masked LM, next sentence / sentence order prediction, transformers' task heads) and
# buffers: not part of a backbone.
_PRETRAINING_HEADS = re.compile(
    r"^(cls[/.]|predictions[/.]|sop_classifier[.]|classifier[.]|qa_outputs[.])|position_ids$"
)


class CheckpointMismatchError(ValueError):
    """A checkpoint whose tensors do not fit the backbone: missing names or wrong shapes."""


@dataclass(frozen=True)
class MappedWeight:
    """One backbone variable, the checkpoint name that feeds it, and the transform between."""

    name: str
    variable: object  # keras.Variable
    to_model: Transform | None = None  # checkpoint layout -> model layout
    to_checkpoint: Transform | None = None  # model layout -> checkpoint layout
    # The value (in checkpoint layout) a scheme implies when it has no such tensor, e.g. the
    # identity projection of a Google ALBERT whose embedding_size equals hidden_size. Export
    # leaves the tensor out while the variable still holds exactly this value.
    default: Callable[[], np.ndarray] | None = None
    # May be absent, leaving the variable as initialised: transformers' *ForMaskedLM models
    # save no pooler (transformers then initialises it randomly too, with a warning).
    optional: bool = False


@dataclass
class LoadReport:
    """What a load did, for logs and tests."""

    loaded: list[str] = field(default_factory=list)
    skipped_optimizer: list[str] = field(default_factory=list)
    skipped_heads: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    left_initialised: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"loaded {len(self.loaded)} tensors; skipped {len(self.skipped_optimizer)} "
            f"optimizer slots and {len(self.skipped_heads)} pretraining-head tensors"
        )
        if self.defaulted:
            text += f"; {len(self.defaulted)} implied by the scheme: {', '.join(self.defaulted)}"
        if self.left_initialised:
            text += (
                f"; {len(self.left_initialised)} not in the checkpoint, left as initialised: "
                f"{', '.join(self.left_initialised)}"
            )
        if self.unexpected:
            text += f"; {len(self.unexpected)} unexpected: {', '.join(self.unexpected[:20])}"
        return text


def is_optimizer_state(name: str) -> bool:
    return bool(_OPTIMIZER_STATE.search(name))


def is_pretraining_head(name: str) -> bool:
    return bool(_PRETRAINING_HEADS.search(name))


def load_mapped_weights(
    mapping: list[MappedWeight],
    tensors: Mapping[str, np.ndarray],
    source: str,
    allow_unexpected: bool = True,
) -> LoadReport:
    """Assigns every mapped variable from ``tensors``; all-or-nothing.

    Every tensor is read and checked before any variable is assigned, so a mismatching
    checkpoint leaves the backbone untouched. Raises CheckpointMismatchError naming missing
    tensors and shape mismatches; optimizer slots and pretraining heads are skipped; other
    leftover names are reported (and fail the load when allow_unexpected is False).
    """
    report = LoadReport()
    missing, wrong_shape, staged = [], [], []
    for item in mapping:
        if item.name in tensors:
            value = np.asarray(tensors[item.name])
        elif item.default is not None:
            value = item.default()
        elif item.optional:
            report.left_initialised.append(item.name)
            continue
        else:
            missing.append(item.name)
            continue
        if item.to_model is not None:
            value = item.to_model(value)
        expected = tuple(item.variable.shape)
        if tuple(value.shape) != expected:
            wrong_shape.append(
                f"{item.name}: checkpoint {tuple(value.shape)} vs model {expected} "
                f"({item.variable.path})"
            )
            continue
        staged.append((item, value))
    used = {item.name for item in mapping}
    for name in tensors:
        if name in used:
            continue
        if is_optimizer_state(name):
            report.skipped_optimizer.append(name)
        elif is_pretraining_head(name):
            report.skipped_heads.append(name)
        else:
            report.unexpected.append(name)
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors: {', '.join(missing[:30])}")
    if wrong_shape:
        problems.append("shape mismatches:\n  " + "\n  ".join(wrong_shape[:30]))
    if report.unexpected and not allow_unexpected:
        problems.append(f"unexpected tensors: {', '.join(report.unexpected[:30])}")
    if problems:
        raise CheckpointMismatchError(f"{source}: " + "\n".join(problems))
    for item, value in staged:
        item.variable.assign(value.astype(item.variable.dtype))
        if item.name in tensors:
            report.loaded.append(item.name)
        else:
            report.defaulted.append(item.name)
    if report.left_initialised:
        logger.warning(
            "%s: no %s in the checkpoint; left randomly initialised (fine-tuning trains it)",
            source,
            ", ".join(report.left_initialised),
        )
    if report.unexpected:
        logger.warning(
            "%s: %d tensors not used by the backbone: %s",
            source,
            len(report.unexpected),
            ", ".join(report.unexpected[:20]),
        )
    return report


def export_mapped_weights(mapping: list[MappedWeight]) -> dict[str, np.ndarray]:
    """The inverse of loading: backbone variables as checkpoint-named arrays."""
    tensors = {}
    for item in mapping:
        value = np.asarray(item.variable.numpy())
        if item.to_checkpoint is not None:
            value = item.to_checkpoint(value)
        if item.default is not None:
            if np.array_equal(value, item.default()):
                continue
            raise CheckpointMismatchError(
                f"{item.name}: this naming scheme has no such tensor, and the model's value "
                f"({item.variable.path}) is not the {tuple(value.shape)} value it implies"
            )
        tensors[item.name] = value
    return tensors
