"""Which fold holds out each training row, and which labels are too rare to be judged.

Out-of-fold probabilities need every checked row to be predicted by a model that never saw it.
A label carried by fewer rows than there are folds cannot be spread over them: some fold would
train without a single example of it, and its own rows would look mislabelled to that fold's
model merely for being rare. Such a label is skipped rather than the folds reduced for
everyone: multiclass, its rows stay in every fold's training data and are not checked (the
label can still be suggested for other rows); multilabel, its column is left out of the check
(each row keeps its given decision for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNCHECKED = -1  # the fold of a row that is never held out


@dataclass(frozen=True)
class RareLabel:
    """A label given to (multilabel: given to, or missing from) fewer rows than folds."""

    name: str
    rows: int


@dataclass(frozen=True)
class FoldPlan:
    """``fold_of[i]``: the fold that holds out row i (UNCHECKED: always trained on)."""

    fold_of: np.ndarray
    num_folds: int
    rare_labels: tuple[RareLabel, ...]
    checked_columns: np.ndarray  # label ids the check judges (multiclass: all of them)

    def held_out(self, fold: int) -> np.ndarray:
        return np.flatnonzero(self.fold_of == fold)

    def trained_on(self, fold: int) -> np.ndarray:
        return np.flatnonzero(self.fold_of != fold)

    @property
    def checked_rows(self) -> np.ndarray:
        return np.flatnonzero(self.fold_of != UNCHECKED)


class FoldError(ValueError):
    """Data that cannot be split into the folds asked for."""


def plan_folds(targets: np.ndarray, labels: Sequence[str], num_folds: int, seed: int) -> FoldPlan:
    """Folds for label ids [N] (multiclass: stratified) or multi-hot rows [N, L] (multilabel:
    shuffled KFold), the same for the same data and seed."""
    from sklearn.model_selection import KFold, StratifiedKFold

    targets = np.asarray(targets)
    if num_folds < 2:
        raise FoldError(f"--num_folds={num_folds}: at least 2 folds are needed")
    if len(targets) < num_folds:
        raise FoldError(f"{len(targets)} training rows are fewer than --num_folds={num_folds}")
    fold_of = np.full(len(targets), UNCHECKED, np.int64)
    if targets.ndim == 1:
        counts = np.bincount(targets, minlength=len(labels))
        if np.count_nonzero(counts) < 2:
            raise FoldError("every training row has the same label: there is nothing to tell apart")
        rare = [i for i, n in enumerate(counts) if 0 < n < num_folds]
        checked = np.flatnonzero(~np.isin(targets, rare))
        if len(checked) < num_folds:
            raise FoldError(
                f"only {len(checked)} rows carry a label with at least --num_folds={num_folds} "
                "rows: lower --num_folds"
            )
        splitter = StratifiedKFold(num_folds, shuffle=True, random_state=seed)
        split = splitter.split(np.zeros(len(checked)), targets[checked])
        columns = np.arange(len(labels))
    else:
        positives = targets.sum(axis=0).astype(np.int64)
        members = np.minimum(positives, len(targets) - positives)
        rare = [i for i, n in enumerate(members) if n < num_folds]
        checked = np.arange(len(targets))
        split = KFold(num_folds, shuffle=True, random_state=seed).split(checked)
        columns = np.setdiff1d(np.arange(len(labels)), rare)
        if not len(columns):
            raise FoldError(
                f"every label is on (or missing from) fewer than --num_folds={num_folds} rows: "
                "lower --num_folds"
            )
        counts = positives
    for fold, (_, held) in enumerate(split):
        fold_of[checked[held]] = fold
    rare_labels = tuple(RareLabel(labels[i], int(counts[i])) for i in rare)
    return FoldPlan(fold_of, num_folds, rare_labels, columns)


def describe_rare_labels(plan: FoldPlan, multilabel: bool) -> str:
    """One warning line naming the skipped labels and what skipping them means ("" if none)."""
    if not plan.rare_labels:
        return ""
    shown = ", ".join(
        f"{r.name} ({r.rows} {'row' if r.rows == 1 else 'rows'})" for r in plan.rare_labels
    )
    if multilabel:
        what = "are on (or missing from) fewer rows than"
        skip = "they are left out of the check (each row keeps its given decision for them)"
    else:
        what = "have fewer rows than"
        skip = (
            "their rows are not checked (they stay in every fold's training data, and the "
            "labels can still be suggested for other rows)"
        )
    return (
        f"labels {shown} {what} --num_folds={plan.num_folds}: {skip}; lower --num_folds to "
        "check them"
    )
