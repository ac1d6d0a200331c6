"""Why the error analysis's confident mistakes were made: for each, the words that drove the
label (integrated gradients) and the training rows nearest to it (the support index).

classifier.error_analysis takes an optional ``ExplainRows`` function and hands it the rows a
head's tables show as its most confident mistakes (``Texts.explained``); the head lays the
answers out. Training passes one (classifier.explain.run_support); the TF-IDF baseline passes
none, so its error analysis stays as it is and nothing here loads TensorFlow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from classifier.explain.explanation import DEFAULT_BASELINE, DEFAULT_IG_STEPS, TextExplainer
from classifier.explain.support_index import (
    DEFAULT_TOP_K,
    Represent,
    SupportIndex,
    SupportingRow,
)

if TYPE_CHECKING:
    from classifier.heads.base import Example


@dataclass(frozen=True)
class RowExplanation:
    """One row's explanation of ``label``: every jieba word with its score (text order; a
    pair's text_b words after text_a's) and the nearest training rows (None: no index)."""

    label: str
    words: tuple[tuple[str, float], ...]
    supporting: tuple[SupportingRow, ...] | None

    def top_words(self, count: int, against: bool = False) -> list[tuple[str, float]]:
        """The ``count`` words that pushed the label's logit up most (``against``: down
        most), strongest first; words scoring 0 (cut by truncation) are left out."""
        sign = -1.0 if against else 1.0
        ranked = sorted((w for w in self.words if sign * w[1] > 0), key=lambda w: -sign * w[1])
        return ranked[:count]


# (examples, the label to explain for each) -> one RowExplanation per example
ExplainRows = Callable[[Sequence["Example"], Sequence[str]], list[RowExplanation]]


class MistakeExplainer:
    """ExplainRows over a TextExplainer (words) and, when the run has a support index, the
    representation function and the index (supporting rows)."""

    def __init__(
        self,
        explainer: TextExplainer,
        is_pair: bool,
        represent: Represent | None = None,
        index: SupportIndex | None = None,
        top_k: int = DEFAULT_TOP_K,
        steps: int = DEFAULT_IG_STEPS,
        baseline: str = DEFAULT_BASELINE,
    ) -> None:
        self.explainer = explainer
        self.is_pair = is_pair
        self.represent = represent
        self.index = index if represent is not None else None
        self.top_k = top_k
        self.steps = steps
        self.baseline = baseline

    def __call__(self, examples: Sequence[Example], labels: Sequence[str]) -> list[RowExplanation]:
        if len(examples) != len(labels):
            raise ValueError(f"{len(examples)} rows to explain but {len(labels)} labels")
        if not examples:
            return []
        supporting: list[tuple[SupportingRow, ...] | None] = [None] * len(examples)
        if self.index is not None and self.represent is not None:
            texts_b = [e.text_b or "" for e in examples] if self.is_pair else None
            queries = self.represent([e.text_a for e in examples], texts_b)
            supporting = [tuple(rows) for rows in self.index.nearest(queries, self.top_k)]
        explained = []
        for example, label, rows in zip(examples, labels, supporting, strict=True):
            attribution = self.explainer.explain(
                example.text_a,
                [label],
                example.text_b if self.is_pair else None,
                self.steps,
                self.baseline,
            )[0]
            words = [*attribution.words, *(attribution.words_b or ())]
            explained.append(RowExplanation(label, tuple((w.word, w.score) for w in words), rows))
        return explained


def never_failing(explain: ExplainRows, log: logging.Logger) -> ExplainRows:
    """``explain``, whose failure is logged and leaves the error analysis without its "why"
    section rather than failing a finished training run."""

    def guarded(examples: Sequence[Example], labels: Sequence[str]) -> list[RowExplanation]:
        try:
            return explain(examples, labels)
        except Exception as err:  # noqa: BLE001 (a report must not cost the trained model)
            log.warning("error analysis: could not explain the mistakes (%s)", err)
            return []

    return guarded
