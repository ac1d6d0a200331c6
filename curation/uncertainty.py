"""How unsure a model is about each text, from its (calibrated) probabilities.

Plain numpy over a [texts, labels] array, so that every score can be checked by hand. A
multiclass model's rows are one distribution over the labels (softmax); a multilabel model's
columns are independent yes/no decisions (sigmoid), each made at its own threshold, so each
score has a multilabel reading of its own. ``thresholds`` tells them apart: None for a
multiclass model, the per-label decision thresholds (the export's) for a multilabel one.

The scores follow Settles' survey of active learning (2009): entropy and least confidence are
higher for a more uncertain text, the margin is lower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ENTROPY = "entropy"
MARGIN = "margin"
LEAST_CONFIDENCE = "least_confidence"
# Whether a higher score means a text more worth labelling.
HIGHER_FIRST = {ENTROPY: True, MARGIN: False, LEAST_CONFIDENCE: True}


def entropy(probabilities: np.ndarray, thresholds: Sequence[float] | None = None) -> np.ndarray:
    """Predictive entropy in nats: multiclass -sum p log p over the labels; multilabel the sum
    over labels of each decision's binary entropy (the thresholds' values are not used: a
    probability of 0.5 is the most uncertain whatever the cut-off)."""
    p = _checked(probabilities, thresholds)
    if thresholds is None:
        return _plogp(p).sum(axis=1)
    return (_plogp(p) + _plogp(1.0 - p)).sum(axis=1)


def margin(probabilities: np.ndarray, thresholds: Sequence[float] | None = None) -> np.ndarray:
    """Multiclass: the gap between the two most probable labels (the probability itself for a
    one-label model). Multilabel: the smallest |p - threshold| over the labels, how close the
    text's closest call came to going the other way. Lower is more uncertain."""
    p = _checked(probabilities, thresholds)
    if thresholds is None:
        if p.shape[1] < 2:
            return p[:, 0].copy()
        top_two = -np.partition(-p, 1, axis=1)[:, :2]
        return top_two[:, 0] - top_two[:, 1]
    return np.abs(p - np.asarray(thresholds, dtype=np.float64)).min(axis=1)


def least_confidence(
    probabilities: np.ndarray, thresholds: Sequence[float] | None = None
) -> np.ndarray:
    """Multiclass: 1 - the top probability. Multilabel: 1 - the confidence of the least
    confident decision, a decision's confidence being its distance from the threshold over the
    room on that side ((p - t) / (1 - t) for a yes, (t - p) / t for a no), so that a label cut
    at 0.2 is judged on the same 0-to-1 scale as one cut at 0.5. Higher is more uncertain.

    With every threshold at 0.5 this orders texts as ``margin`` does; with tuned thresholds
    it differs: 0.25 against a cut-off of 0.2 is a near miss for the margin (0.05), while
    least confidence sees it as 6% of the way to certainty."""
    p = _checked(probabilities, thresholds)
    if thresholds is None:
        return 1.0 - p.max(axis=1)
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-12, 1.0 - 1e-12)
    confidence = np.where(p >= t, (p - t) / (1.0 - t), (t - p) / t)
    return 1.0 - confidence.min(axis=1)


SCORES = {ENTROPY: entropy, MARGIN: margin, LEAST_CONFIDENCE: least_confidence}


def uncertainty(
    strategy: str, probabilities: np.ndarray, thresholds: Sequence[float] | None = None
) -> np.ndarray:
    """The scores of ``strategy`` (entropy, margin or least_confidence), one per row."""
    if strategy not in SCORES:
        raise ValueError(f"unknown strategy {strategy!r} (one of {', '.join(SCORES)})")
    return SCORES[strategy](probabilities, thresholds)


def _checked(probabilities: np.ndarray, thresholds: Sequence[float] | None) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"probabilities must be [texts, labels], got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if thresholds is not None and len(thresholds) != p.shape[1]:
        raise ValueError(f"{len(thresholds)} thresholds for {p.shape[1]} labels")
    return p


def _plogp(p: np.ndarray) -> np.ndarray:
    """-p log p, 0 where p is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
