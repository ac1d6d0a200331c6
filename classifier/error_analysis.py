"""Error analysis beside the reports: which labels the model mixes up, and on which texts.

Metrics say how often a model is wrong; this file says where to look. evaluate writes it next
to the classification report (error_analysis.md for dev, test_error_analysis.md for test) as
Markdown tables with label names and shortened texts. What the tables are is the head's to say
(``Head.error_tables``; classifier.heads.error_tables):

- multiclass: the most confused (true -> predicted) label pairs with example texts, the most
  confident wrong predictions and the least confident right ones;
- multilabel: per label its false positives and false negatives (with the labels they come with
  and the most confident examples), and the rows whose predicted label set is most confidently
  wrong.

With an ``explain`` function (train.sh passes one: classifier.explain.mistakes) each head adds,
under its most confident mistakes, why they were made: the words that drove the label and the
nearest training rows. Without one (the TF-IDF baseline) the file is as above.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.files import atomic_write_text
from classifier.heads.base import Example, Head
from classifier.heads.error_tables import NONE, TEXT_CHARS, TOP_EXAMPLES, Texts, shorten

if TYPE_CHECKING:
    from classifier.explain.mistakes import ExplainRows

__all__ = [
    "NONE",
    "TEXT_CHARS",
    "TOP_EXAMPLES",
    "error_analysis_markdown",
    "shorten",
    "write_error_analysis",
]


def _split_name(split: str) -> str:
    """evaluate's report prefix as people say it ("eval" is the dev set)."""
    return "dev" if split == "eval" else split


def error_analysis_markdown(
    head: Head,
    examples: Sequence[Example],
    logits: np.ndarray,
    targets: np.ndarray,
    split: str = "eval",
    is_pair: bool | None = None,
    explain: ExplainRows | None = None,
) -> str:
    """The error analysis of one evaluated split as Markdown.

    ``logits`` and ``targets`` are evaluate's: one row per example in ``examples``' order,
    targets as the head encodes them (label ids [N] multiclass, multi-hot rows [N, L]
    multilabel). ``is_pair`` (whether to show text_a and text_b) defaults to whether any
    example has a text_b; ``explain``: see the module doc."""
    logits = np.asarray(logits)
    if len(examples) != len(logits) or len(logits) != len(targets):
        raise ValueError(
            f"error analysis needs one logits row and one target per example; got "
            f"{len(examples)} examples, {len(logits)} logits rows, {len(targets)} targets"
        )
    title = [f"# Error analysis ({_split_name(split)}, {len(examples)} examples)", ""]
    if not len(examples):
        return "\n".join([*title, "No examples.", ""])
    body = head.error_tables(logits, np.asarray(targets), Texts(examples, is_pair, explain))
    return "\n".join(title + body)


def write_error_analysis(
    path: str | Path,
    head: Head,
    examples: Sequence[Example],
    logits: np.ndarray,
    targets: np.ndarray,
    split: str = "eval",
    is_pair: bool | None = None,
    explain: ExplainRows | None = None,
) -> None:
    """Writes error_analysis_markdown to ``path`` (atomically, like the other reports)."""
    markdown = error_analysis_markdown(head, examples, logits, targets, split, is_pair, explain)
    atomic_write_text(path, markdown)
