"""Multilabel decision thresholds fitted for the metric a run optimises, with an honest
(cross-validated) estimate of what they score.

Strategies (train.sh ``--threshold_strategy``):

  fixed      0.5 for every label.
  global     one cut-off for every label: the one that maximises the metric on dev.
  per_label  start from the global cut-off, then move one label's threshold at a time, keeping
             a move only where it raises the overall metric; each move is shrunk toward the
             global cut-off by the label's number of dev positives (n / (n + 10)), so a label
             seen a handful of times barely moves.

Maximising each label's own F1 (what this project did before) is not among them: a label the
model barely learnt then gets a threshold near 0, and its flood of false positives costs
micro-F1 far more than that label's F1 gains.

Thresholds fitted on dev score optimistically on dev. ``choose_thresholds`` therefore also fits
each strategy on k-1 folds of dev and decides the held-out fold, k times: the pooled
out-of-fold decisions are the dev figures a run reports. The requested strategy is shipped
unless cross-validation says otherwise: per_label must beat global by more than the
fold-to-fold noise of their difference (its extra freedom has to pay; on People's Daily it
did not, while on labels calibrated unlike each other it does), and any strategy must not fall
below the 0.5 cut-off by more than the noise; otherwise the next simpler one is shipped, and
the summary says why. Pure numpy: the head (classifier.heads.multilabel) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

STRATEGIES = ("per_label", "global", "fixed")
DEFAULT_STRATEGY = "per_label"
# The metrics decisions change; the first is used when a run selects epochs by another (loss).
DECISION_METRICS = ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy")
FIXED_THRESHOLD = 0.5
DEFAULT_FOLDS = 5
# per_label: a label with n dev positives moves n / (n + SHRINK_POSITIVES) of the way from the
# global cut-off to its own best one.
SHRINK_POSITIVES = 10.0
MAX_LABEL_CANDIDATES = 64
MAX_GLOBAL_CANDIDATES = 100  # micro-F1 (one sort); the other metrics try half as many

PER_LABEL_PASSES = 2
SEED = 0  # the folds are the same in every run over the same dev rows


@dataclass(frozen=True)
class ThresholdPolicy:
    """How a multilabel run fits its thresholds: a strategy, for a metric, checked by k folds."""

    strategy: str = DEFAULT_STRATEGY
    metric: str = DECISION_METRICS[0]
    folds: int = DEFAULT_FOLDS

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"--threshold_strategy must be one of {STRATEGIES}, got {self.strategy!r}"
            )
        if self.metric not in DECISION_METRICS:
            raise ValueError(f"threshold metric must be one of {DECISION_METRICS}")
        if self.folds < 2:
            raise ValueError("threshold cross-validation needs at least 2 folds")


@dataclass
class ThresholdChoice:
    """The shipped thresholds, the out-of-fold decisions of their strategy on every dev row
    (what the dev report is computed from) and the figures behind the choice."""

    thresholds: np.ndarray
    strategy: str
    out_of_fold: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


# === Metrics of 0/1 decisions (equal to scikit-learn's with zero_division=0) ===
def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, np.float64)
    denominator = np.asarray(denominator, np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def decision_metric(name: str, predictions: np.ndarray, targets: np.ndarray) -> float:
    """``name`` (one of DECISION_METRICS) of 0/1 ``predictions`` against multi-hot targets."""
    pred = np.asarray(predictions).astype(bool)
    true = np.asarray(targets).astype(bool)
    if len(true) == 0:
        return 0.0
    if name == "subset_accuracy":
        return float((pred == true).all(axis=1).mean())
    tp = pred & true
    if name == "micro_f1":
        return float(_safe_ratio(2 * tp.sum(), pred.sum() + true.sum()))
    if name == "macro_f1":
        return float(_safe_ratio(2 * tp.sum(axis=0), pred.sum(axis=0) + true.sum(axis=0)).mean())
    if name == "samples_f1":
        return float(_safe_ratio(2 * tp.sum(axis=1), pred.sum(axis=1) + true.sum(axis=1)).mean())
    raise ValueError(f"unknown decision metric {name!r}; choose one of {DECISION_METRICS}")


class _Decisions:
    """0/1 decisions [N, L] with the per-label and per-row counts every metric needs, kept up
    to date as one column changes, so scoring C candidates for a column costs O(C x N), not
    O(C x N x L)."""

    def __init__(self, pred: np.ndarray, true: np.ndarray) -> None:
        self.pred, self.true = pred, true
        hits = pred & true
        self.tp, self.pp, self.pos = hits.sum(axis=0), pred.sum(axis=0), true.sum(axis=0)
        self.row_tp, self.row_pred = hits.sum(axis=1), pred.sum(axis=1)
        self.row_true = true.sum(axis=1)
        self.row_wrong = (pred != true).sum(axis=1)

    def set_column(self, j: int, column: np.ndarray) -> None:
        old, y = self.pred[:, j], self.true[:, j]
        self.row_tp += (column & y).astype(np.int64) - (old & y)
        self.row_pred += column.astype(np.int64) - old
        self.row_wrong += (column != y).astype(np.int64) - (old != y)
        self.tp[j], self.pp[j] = (column & y).sum(), column.sum()
        self.pred[:, j] = column

    def cut_scores(self, metric: str, j: int, probs: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """The metric with label j decided at each of ``cuts`` (its probabilities ``probs``);
        micro- and macro-F1 need only label j's counts, from one sort."""
        if metric not in ("micro_f1", "macro_f1"):
            return self.column_scores(metric, j, probs[None, :] >= cuts[:, None])
        y = self.true[:, j]
        pp_j = len(probs) - np.searchsorted(np.sort(probs), cuts, side="left")
        tp_j = int(y.sum()) - np.searchsorted(np.sort(probs[y]), cuts, side="left")
        return self._count_scores(metric, j, tp_j, pp_j)

    def column_scores(self, metric: str, j: int, column: np.ndarray) -> np.ndarray:
        """The metric with column j replaced by each row of ``column`` [C, N]."""
        old, y = self.pred[:, j], self.true[:, j]
        if metric in ("micro_f1", "macro_f1"):
            tp_j = (column & y[None, :]).sum(axis=1)
            return self._count_scores(metric, j, tp_j, column.sum(axis=1))
        if metric == "samples_f1":
            row_tp = (self.row_tp - (old & y))[None, :] + (column & y[None, :])
            row_pred = (self.row_pred - old)[None, :] + column
            return _safe_ratio(2 * row_tp, row_pred + self.row_true[None, :]).mean(axis=1)
        if metric == "subset_accuracy":
            rest_ok = (self.row_wrong - (old != y)) == 0
            return (rest_ok[None, :] & (column == y[None, :])).mean(axis=1)
        raise ValueError(f"unknown decision metric {metric!r}; choose one of {DECISION_METRICS}")

    def _count_scores(self, metric: str, j: int, tp_j: np.ndarray, pp_j: np.ndarray) -> np.ndarray:
        if metric == "micro_f1":
            tp = self.tp.sum() - self.tp[j] + tp_j
            return _safe_ratio(2 * tp, self.pp.sum() - self.pp[j] + pp_j + self.pos.sum())
        f1 = _safe_ratio(2 * self.tp, self.pp + self.pos)
        rest = f1.sum() - f1[j]
        return (rest + _safe_ratio(2 * tp_j, pp_j + self.pos[j])) / self.pred.shape[1]


def _column_scores(
    metric: str, pred: np.ndarray, true: np.ndarray, j: int, column: np.ndarray
) -> np.ndarray:
    """The metric of ``pred`` with its column j replaced by each row of ``column`` [C, N]."""
    return _Decisions(pred.copy(), true).column_scores(metric, j, column)


# === Fitting ===
def _midpoints(values: np.ndarray, limit: int) -> np.ndarray:
    """Cut-offs halfway between neighbouring distinct values (at most ``limit``, spread by
    quantile), plus one above the largest: a cut never hugs a dev example."""
    distinct = np.unique(values)
    above = (distinct[-1] + 1.0) / 2 if len(distinct) else FIXED_THRESHOLD
    if len(distinct) < 2:
        return np.array([above])
    cuts = (distinct[:-1] + distinct[1:]) / 2
    if len(cuts) > limit:
        cuts = cuts[np.unique(np.linspace(0, len(cuts) - 1, limit).round().astype(int))]
    return np.append(cuts, above)


def _best(candidates: np.ndarray, scores: np.ndarray, prefer: float) -> tuple[float, float]:
    """The best-scoring candidate; among ties (to 1e-12) the one nearest ``prefer``."""
    top = scores.max()
    tied = np.flatnonzero(scores >= top - 1e-12)
    pick = tied[np.argmin(np.abs(candidates[tied] - prefer))]
    return float(candidates[pick]), float(scores[pick])


def global_threshold(probabilities: np.ndarray, targets: np.ndarray, metric: str) -> float:
    """The single cut-off that maximises ``metric``; 0.5 wins ties."""
    probs = np.asarray(probabilities, np.float64)
    true = np.asarray(targets).astype(bool)
    limit = MAX_GLOBAL_CANDIDATES if metric == "micro_f1" else MAX_GLOBAL_CANDIDATES // 2
    candidates = np.append(_midpoints(probs.ravel(), limit), FIXED_THRESHOLD)
    if metric == "micro_f1":  # counts at every cut-off from one sort
        order = np.sort(probs.ravel())
        positives = np.sort(probs[true])
        predicted = len(order) - np.searchsorted(order, candidates, side="left")
        hits = len(positives) - np.searchsorted(positives, candidates, side="left")
        scores = _safe_ratio(2 * hits, predicted + len(positives))
    else:
        scores = np.array([decision_metric(metric, probs >= t, true) for t in candidates])
    return _best(candidates, scores, FIXED_THRESHOLD)[0]


def per_label_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, metric: str, start: float
) -> np.ndarray:
    """Coordinate ascent on the overall metric from ``start`` (the global cut-off), each
    label's candidates shrunk toward ``start`` by its number of positives."""
    probs = np.asarray(probabilities, np.float64)
    true = np.asarray(targets).astype(bool)
    num_labels = probs.shape[1]
    thresholds = np.full(num_labels, float(start))
    decisions = _Decisions(probs >= thresholds[None, :], true)
    positives = true.sum(axis=0)
    weights = positives / (positives + SHRINK_POSITIVES)
    current = decision_metric(metric, decisions.pred, true)
    order = np.argsort(-positives, kind="stable")  # the best-supported labels move first
    for _ in range(PER_LABEL_PASSES):
        moved = False
        for j in order:
            if weights[j] == 0:
                continue
            raw = _midpoints(probs[:, j], MAX_LABEL_CANDIDATES)
            candidates = np.append(start + weights[j] * (raw - start), thresholds[j])
            scores = decisions.cut_scores(metric, j, probs[:, j], candidates)
            value, score = _best(candidates, scores, thresholds[j])
            if score > current + 1e-12 and value != thresholds[j]:
                thresholds[j], current, moved = value, score, True
                decisions.set_column(j, probs[:, j] >= value)
        if not moved:
            break
    return thresholds


def fit_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, strategy: str, metric: str
) -> np.ndarray:
    """One threshold per label by ``strategy`` (STRATEGIES) for ``metric`` on these rows."""
    num_labels = np.asarray(probabilities).shape[1]
    if strategy == "fixed" or len(targets) == 0:
        return np.full(num_labels, FIXED_THRESHOLD)
    start = global_threshold(probabilities, targets, metric)
    if strategy == "global":
        return np.full(num_labels, start)
    if strategy == "per_label":
        return per_label_thresholds(probabilities, targets, metric, start)
    raise ValueError(f"--threshold_strategy must be one of {STRATEGIES}, got {strategy!r}")


# === Cross-validation and the choice ===
def _folds(num_rows: int, folds: int) -> list[np.ndarray]:
    order = np.random.default_rng(SEED).permutation(num_rows)
    return [np.sort(order[f::folds]) for f in range(folds)]


def _cross_validate(
    probs: np.ndarray, true: np.ndarray, strategy: str, metric: str, folds: list[np.ndarray]
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold decisions of every row and the metric of each held-out fold."""
    out_of_fold = np.zeros(true.shape, np.int32)
    scores = []
    for held_out in folds:
        fitting = np.ones(len(true), bool)
        fitting[held_out] = False
        thresholds = fit_thresholds(probs[fitting], true[fitting], strategy, metric)
        decided = probs[held_out] >= thresholds[None, :]
        out_of_fold[held_out] = decided
        scores.append(decision_metric(metric, decided, true[held_out]))
    return out_of_fold, scores


def _noise(scores: list[float], baseline: list[float]) -> float:
    """Standard error of the mean per-fold difference from ``baseline``'s scores."""
    differences = np.asarray(scores) - np.asarray(baseline)
    if len(differences) < 2:
        return 0.0
    return float(differences.std(ddof=1) / np.sqrt(len(differences)))


def choose_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, policy: ThresholdPolicy
) -> ThresholdChoice:
    """Thresholds fitted on all rows by the policy's strategy, unless cross-validation says it
    does not beat the next simpler one by more than the fold-to-fold noise (per_label against
    global), or it falls below the 0.5 cut-off by more than the noise: then the next simpler
    strategy (global, else fixed) that passes. The summary records every figure and, when it
    falls back, why."""
    probs = np.asarray(probabilities, np.float64)
    true = np.asarray(targets).astype(bool)
    num_rows, num_labels = true.shape if true.ndim == 2 else (0, probs.shape[1])
    fixed = np.full(num_labels, FIXED_THRESHOLD)
    metric = policy.metric
    if num_rows < 2:  # nothing to cross-validate on: the 0.5 cut-off, said so
        return ThresholdChoice(
            fixed,
            "fixed",
            (probs >= FIXED_THRESHOLD).astype(np.int32),
            {
                "metric": metric,
                "requested_strategy": policy.strategy,
                "strategy": "fixed",
                "note": f"{num_rows} dev rows: too few to fit thresholds",
            },
        )
    folds = _folds(num_rows, min(policy.folds, num_rows))
    tried = [policy.strategy] + [s for s in ("global", "fixed") if s != policy.strategy]
    tried = tried[: tried.index("fixed") + 1]
    out_of_fold, fold_scores, pooled = {}, {}, {}
    for strategy in tried:
        out_of_fold[strategy], fold_scores[strategy] = _cross_validate(
            probs, true, strategy, metric, folds
        )
        pooled[strategy] = decision_metric(metric, out_of_fold[strategy], true)
    noise = {s: _noise(fold_scores[s], fold_scores["fixed"]) for s in tried}
    # What a strategy must gain over the next simpler one before its freedom is trusted.
    gain_noise = {
        s: _noise(fold_scores[s], fold_scores[simpler])
        for s, simpler in zip(tried, tried[1:], strict=False)
    }
    shipped, reasons = "fixed", []
    for position, strategy in enumerate(tried[:-1]):
        simpler = tried[position + 1]
        if pooled[strategy] < pooled["fixed"] - noise[strategy]:
            reasons.append(
                f"{strategy} scored {pooled[strategy]:.4f} {metric} in cross-validation, below "
                f"the 0.5 cut-off's {pooled['fixed']:.4f} by more than the noise "
                f"({noise[strategy]:.4f})"
            )
        elif simpler != "fixed" and pooled[strategy] <= pooled[simpler] + gain_noise[strategy]:
            reasons.append(
                f"{strategy} scored {pooled[strategy]:.4f} {metric} in cross-validation against "
                f"{simpler}'s {pooled[simpler]:.4f}, not more than the noise "
                f"({gain_noise[strategy]:.4f}): its extra freedom did not pay"
            )
        else:
            shipped = strategy
            break
    thresholds = fit_thresholds(probs, true, shipped, metric)
    summary: dict[str, Any] = {
        "metric": metric,
        "requested_strategy": policy.strategy,
        "strategy": shipped,
        "folds": len(folds),
        "cross_validated": {s: round(pooled[s], 6) for s in tried},
        "fold_scores": {s: [round(v, 6) for v in fold_scores[s]] for s in tried},
        "noise": {s: round(noise[s], 6) for s in tried},
        "noise_over_simpler": {s: round(v, 6) for s, v in gain_noise.items()},
        "in_sample": round(decision_metric(metric, probs >= thresholds[None, :], true), 6),
        "global_threshold": round(global_threshold(probs, true, metric), 6),
    }
    if shipped != policy.strategy:
        summary["note"] = "; ".join(reasons) + f": shipping {shipped}"
    return ThresholdChoice(thresholds, shipped, out_of_fold[shipped], summary)
