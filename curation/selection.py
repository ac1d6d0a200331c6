"""Which texts of a pool to label next, best first, and the file that lists them.

``entropy``, ``margin`` and ``least_confidence`` rank every text by its uncertainty
(curation.uncertainty); ties keep the pool's order. ``diverse`` weighs uncertainty (entropy)
by how far a text lies from those already chosen, so that the list is not filled with
near-copies of one confusing text: a greedy pass takes, at each step, the text maximising

    entropy x (1 - its largest cosine similarity to the texts chosen so far)

in the TF-IDF space of curation.text_space. Greedy rather than k-means++-style seeding
(sampling proportional to uncertainty x distance) because it is deterministic (the same pool
gives the same list, no seed), because every prefix of its list is itself a spread-out choice
(label the first 50 of 200 and those 50 are not near-copies either), and because it steers
away from near-duplicates directly, where sampling only makes them unlikely. Its score, the
product at the step a text was taken, never rises down the list.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from classifier.files import atomic_write
from curation.uncertainty import ENTROPY, HIGHER_FIRST, LEAST_CONFIDENCE, MARGIN, uncertainty
from serving.prediction import Prediction
from serving.text_io import label_and_score

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

DIVERSE = "diverse"
STRATEGIES = (ENTROPY, MARGIN, LEAST_CONFIDENCE, DIVERSE)
HEADER = ("rank", "line", "text", "predicted_label", "probability", "score")


@dataclass(frozen=True)
class Selection:
    """The chosen rows of the pool (indices, best first) and each one's score."""

    indices: np.ndarray
    scores: np.ndarray


def ranked(scores: np.ndarray, higher_first: bool, n: int) -> Selection:
    """The ``n`` best rows by ``scores``; equal scores keep the pool's order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores if higher_first else scores, kind="stable")[:n]
    return Selection(order, scores[order])


def diverse(space: csr_matrix | np.ndarray, uncertainties: np.ndarray, n: int) -> Selection:
    """The greedy spread-out choice of ``n`` rows (see the module's docstring). ``space``:
    [rows, features] with unit-length rows (a scipy sparse matrix or an array). Equal products
    go to the row farthest from those chosen, then to the first in the pool, so that a pool
    the model is sure of everywhere (every product 0) is still chosen for coverage."""
    u = np.asarray(uncertainties, dtype=np.float64)
    if space.shape[0] != len(u):
        raise ValueError(f"{space.shape[0]} vectors for {len(u)} uncertainties")
    closest = np.zeros(len(u))  # each row's largest similarity to a chosen row
    open_rows = np.ones(len(u), dtype=bool)
    indices, scores = [], []
    for _ in range(min(n, len(u))):
        gain = np.where(open_rows, u * (1.0 - closest), -np.inf)
        best = gain.max()
        tied = np.flatnonzero(gain == best)
        pick = int(tied[np.argmin(closest[tied])])  # argmin: the first of equals
        indices.append(pick)
        scores.append(best)
        open_rows[pick] = False
        similarity = space @ space[pick].T
        if hasattr(similarity, "toarray"):  # sparse
            similarity = similarity.toarray()
        similarity = np.asarray(similarity, dtype=np.float64).ravel()
        closest = np.maximum(closest, np.clip(similarity, 0.0, 1.0))
    return Selection(np.array(indices, dtype=np.int64), np.array(scores, dtype=np.float64))


def select(
    strategy: str,
    probabilities: np.ndarray,
    n: int,
    thresholds: Sequence[float] | None = None,
    texts: Sequence[str] | None = None,
) -> Selection:
    """The ``n`` rows ``strategy`` puts first. ``thresholds``: a multilabel model's decision
    thresholds (None: multiclass; see curation.uncertainty); ``texts``: the rows' texts, which
    ``diverse`` needs for its TF-IDF space."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if strategy == DIVERSE:
        if texts is None or len(texts) != len(probabilities):
            raise ValueError("diverse selection needs the text of every row")
        from curation.text_space import text_space

        return diverse(text_space(texts), uncertainty(ENTROPY, probabilities, thresholds), n)
    if strategy not in HIGHER_FIRST:
        raise ValueError(f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
    scores = uncertainty(strategy, probabilities, thresholds)
    return ranked(scores, HIGHER_FIRST[strategy], n)


# === The output file ===
@dataclass(frozen=True)
class SelectedRow:
    """One line of the selection file: the text, where it is in the pool (1-based line), the
    model's current guess (multilabel: the decided labels and their probabilities, "|"-joined)
    and the strategy's score."""

    rank: int
    line: int
    text: str
    predicted_label: str
    probability: str
    score: float

    def fields(self) -> list[str]:
        return [
            str(self.rank),
            str(self.line),
            self.text,
            self.predicted_label,
            self.probability,
            f"{self.score:.6f}",
        ]


def selected_rows(
    selection: Selection,
    lines: Sequence[int],
    texts: Sequence[str],
    predictions: Sequence[Prediction],
    multilabel: bool,
) -> list[SelectedRow]:
    """The selection as file rows; ``predictions``: those of the selected rows, in order."""
    rows = []
    for rank, (index, score, prediction) in enumerate(
        zip(selection.indices, selection.scores, predictions, strict=True), 1
    ):
        label, probability = label_and_score(prediction, multilabel)
        rows.append(SelectedRow(rank, lines[index], texts[index], label, probability, score))
    return rows


def write_selection(path: str, rows: Sequence[SelectedRow]) -> None:
    """The TSV (HEADER, then the rows) written atomically: a temporary file beside ``path``,
    renamed when complete. A text holding a tab or a quote is quoted as predict.sh's TSV does."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            table = csv.writer(out, delimiter="\t", lineterminator="\n")
            table.writerow(HEADER)
            table.writerows(row.fields() for row in rows)

    atomic_write(path, write)
