"""Confident learning (cleanlab) over out-of-fold probabilities: which rows look mislabelled,
in what order, and what the out-of-fold model believes instead.

cleanlab does the judging (``cleanlab.filter.find_label_issues`` and, multilabel,
``cleanlab.multilabel_classification.filter.find_label_issues``, ranked by label quality) and
the scoring (their ``rank.get_label_quality_scores``); this module only feeds them the rows and
label columns the fold plan checks and turns their answers back into label names.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from curation.folds import FoldPlan

INSTALL_HINT = "pip install 'zh-textclf[data]'"
# cleanlab's label quality scores (lower = more likely mislabelled); the first is the default.
RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
MULTILABEL_CUTOFF = 0.5  # the per-label decision of an out-of-fold probability


class CleanlabMissing(ImportError):
    """cleanlab is not installed (it is an optional extra)."""


def require_cleanlab() -> None:
    """Raises CleanlabMissing, with the install line, when cleanlab cannot be imported."""
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        raise CleanlabMissing(
            f"finding label issues needs cleanlab, which is not installed: {INSTALL_HINT}"
        ) from None


@dataclass(frozen=True)
class LabelIssue:
    """A row judged mislabelled: ``row`` indexes the checked examples; ``score`` is its label
    quality (lower = more suspect); ``given`` and ``suggested`` are label-name sets (one name
    each for multiclass)."""

    row: int
    score: float
    given: tuple[str, ...]
    suggested: tuple[str, ...]

    @property
    def labels_to_add(self) -> tuple[str, ...]:
        return tuple(name for name in self.suggested if name not in self.given)

    @property
    def labels_to_remove(self) -> tuple[str, ...]:
        return tuple(name for name in self.given if name not in self.suggested)


def find_label_issues(
    targets: np.ndarray,
    probabilities: np.ndarray,
    plan: FoldPlan,
    labels: Sequence[str],
    rank_by: str = RANKINGS[0],
) -> list[LabelIssue]:
    """The issues among the plan's checked rows, most suspect first. ``targets``: label ids [N]
    (multiclass) or multi-hot rows [N, L] (multilabel); ``probabilities``: out-of-fold [N, L]."""
    require_cleanlab()
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by must be one of {RANKINGS}, not {rank_by!r}")
    targets = np.asarray(targets)
    with warnings.catch_warnings():  # a class with few rows is expected and reported already
        warnings.filterwarnings("ignore", message="May not flag all label issues")
        if targets.ndim == 1:
            return _multiclass_issues(targets, probabilities, plan, labels, rank_by)
        return _multilabel_issues(targets, probabilities, plan, labels, rank_by)


def _multiclass_issues(targets, probabilities, plan, labels, rank_by) -> list[LabelIssue]:
    from cleanlab.filter import find_label_issues as cleanlab_issues
    from cleanlab.rank import get_label_quality_scores

    rows = plan.checked_rows
    given = targets[rows].astype(np.int64)
    predicted = np.asarray(probabilities[rows], np.float64)
    # n_jobs=1: cleanlab's worker processes would fork a process that may hold TensorFlow.
    ranked = cleanlab_issues(given, predicted, return_indices_ranked_by=rank_by, n_jobs=1)
    scores = get_label_quality_scores(given, predicted, method=rank_by)
    believed = predicted.argmax(axis=1)
    return [
        LabelIssue(int(rows[i]), float(scores[i]), (labels[given[i]],), (labels[believed[i]],))
        for i in ranked
    ]


def _multilabel_issues(targets, probabilities, plan, labels, rank_by) -> list[LabelIssue]:
    from cleanlab.multilabel_classification.filter import find_label_issues as cleanlab_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    columns = plan.checked_columns
    rows = plan.checked_rows
    given = targets[rows] > 0.5
    predicted = np.asarray(probabilities[rows][:, columns], np.float64)
    given_ids = [np.flatnonzero(row[columns]).tolist() for row in given]
    ranked = cleanlab_issues(given_ids, predicted, return_indices_ranked_by=rank_by, n_jobs=1)
    scores = get_label_quality_scores(given_ids, predicted, method=rank_by)
    decided = given.copy()  # the skipped columns keep their given decisions
    decided[:, columns] = predicted >= MULTILABEL_CUTOFF

    def names(row: np.ndarray) -> tuple[str, ...]:
        return tuple(labels[j] for j in np.flatnonzero(row))

    return [
        LabelIssue(int(rows[i]), float(scores[i]), names(given[i]), names(decided[i]))
        for i in ranked
    ]
