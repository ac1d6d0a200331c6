"""The Markdown tables of error analysis (classifier.error_analysis), each head kind's own.

Label names and shortened texts in Markdown tables, so that they read in a terminal, an editor
or on GitHub alike. A head's ``error_tables`` method picks its section:

- multiclass: the most confused (true -> predicted) label pairs with example texts, the most
  confident wrong predictions and the least confident right ones;
- multilabel: per label its false positives and false negatives (with the labels they come with
  and the most confident examples), and the rows whose predicted label set is most confidently
  wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.heads.base import Example

if TYPE_CHECKING:  # no import at run time: the explain package sits above the heads
    from classifier.explain.mistakes import ExplainRows, RowExplanation

TOP_EXAMPLES = 10  # rows in the "most confident wrong" / "least confident right" tables
TOP_GROUPS = 10  # confused label pairs (multiclass) or labels (multilabel) listed
EXAMPLES_PER_GROUP = 3  # example texts per confused pair / per label and error kind
TEXT_CHARS = 120  # texts longer than this are cut, ending in "…"
TOP_WORDS = 5  # words shown per explained mistake

NONE = "(none)"  # an empty multilabel label set


def shorten(text: str | None, limit: int = TEXT_CHARS) -> str:
    """``text`` on one line (line breaks shown as "↵") and at most ``limit`` characters, cut
    ones ending in "…": enough to recognise a row without drowning the table."""
    text = " ↵ ".join((text or "").splitlines())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def cell(value: Any) -> str:
    """Any value as Markdown table cell text: backslashes and pipes escaped (a bare "|" would
    split the cell), line breaks shown as "↵" (a newline would end the row)."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ↵ ".join(text.splitlines()) or " "


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table (and the blank line after it); every cell is escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _percent(part: int | float, whole: int | float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _prob(value: float) -> str:
    return f"{value:.4f}"


class Texts:
    """The text column(s) of an example: one for single texts, text_a and text_b for pairs.

    ``explain`` (classifier.explain.mistakes.ExplainRows, optional): says why rows were
    predicted as they were; the heads ask it about the mistakes their tables show."""

    def __init__(
        self,
        examples: Sequence[Example],
        is_pair: bool | None,
        explain: ExplainRows | None = None,
    ) -> None:
        self.examples = examples
        self.is_pair = (
            any(getattr(e, "text_b", None) for e in examples) if is_pair is None else is_pair
        )
        self.header = ["guid", "text_a", "text_b"] if self.is_pair else ["guid", "text"]
        self.explain = explain

    def __call__(self, row: int) -> list[str]:
        example = self.examples[row]
        texts = [example.text_a, example.text_b] if self.is_pair else [example.text_a]
        return [str(example.guid), *(shorten(t) for t in texts)]

    def guid(self, row: int) -> str:
        return str(self.examples[row].guid)

    def explained(self, rows: Sequence[int], labels: Sequence[str]) -> list[RowExplanation] | None:
        """Each row's explanation of its label; None without an ``explain`` (or when it gave
        no answer)."""
        if self.explain is None or not len(rows):
            return None
        found = self.explain([self.examples[i] for i in rows], list(labels))
        return found if len(found) == len(rows) else None


def why_section(
    texts: Texts,
    rows: Sequence[int],
    labels: Sequence[str],
    titles: Sequence[str],
    against: Sequence[bool] | None = None,
) -> list[str]:
    """Under a table of mistakes: per row (``titles[i]`` names it), the top words for
    ``labels[i]`` (``against[i]``: the words that held a missed label down) and the training
    rows nearest to it; nothing without an explain function."""
    explained = texts.explained(rows, labels)
    if explained is None:
        return []
    against = list(against) if against is not None else [False] * len(rows)
    lines = [
        "### Why: top words and supporting training rows",
        "",
        f"Top words: integrated gradients of the label's logit summed over jieba words, the "
        f"{TOP_WORDS} that pushed it up most (for a missed label: the {TOP_WORDS} that held it "
        "down most). Supporting rows: the training rows whose pooled representations are "
        "nearest to the text (cosine similarity), as scripts/explain.sh lists them.",
        "",
    ]
    if all(e.supporting is None for e in explained):
        lines += [
            "No supporting rows: the run has no up-to-date support index "
            "(`scripts/explain.sh --output_dir=RUN --index` builds it).",
            "",
        ]
    for title, explanation, down in zip(titles, explained, against, strict=True):
        words = explanation.top_words(TOP_WORDS, down)
        shown = ", ".join(f"{word} ({score:+.3g})" for word, score in words) or "-"
        kind = "against" if down else "for"
        lines += [f"**{title}**: words {kind} {explanation.label}: {shown}", ""]
        if explanation.supporting:
            header = ["line", "label", "similarity", "text_a", "text_b"]
            if not texts.is_pair:
                header = [*header[:3], "text"]
            lines += _table(
                header,
                [
                    (
                        r.line if r.line is not None else r.guid,
                        r.label_text,
                        _prob(r.similarity),
                        shorten(r.text),
                        *([shorten(r.text_b)] if texts.is_pair else []),
                    )
                    for r in explanation.supporting
                ],
            )
    return lines


# === Multiclass ===
def multiclass_tables(
    labels: Sequence[str],
    probs: np.ndarray,
    predicted: np.ndarray,
    gold: np.ndarray,
    texts: Texts,
) -> list[str]:
    n, k = probs.shape
    rows = np.arange(n)
    p_pred = probs[rows, predicted]
    p_gold = probs[rows, gold]
    wrong = predicted != gold
    lines = [
        f"{int(wrong.sum())} of {n} predictions are wrong ({_percent(int(wrong.sum()), n)}); "
        "probabilities are the softmax outputs test_predictions.tsv shows (calibrated, if so).",
        "",
    ]

    counts = np.zeros((k, k), int)
    np.add.at(counts, (gold[wrong], predicted[wrong]), 1)
    support = np.bincount(gold, minlength=k)
    pairs = sorted(
        ((int(counts[t, p]), t, p) for t, p in zip(*np.nonzero(counts), strict=True)),
        key=lambda item: (-item[0], -item[0] / support[item[1]], item[1], item[2]),
    )
    lines += ["## Most confused label pairs", ""]
    if not pairs:
        lines += ["No wrong predictions.", ""]
    else:
        shown = pairs[:TOP_GROUPS]
        lines += _table(
            ["true", "predicted", "count", "share of the true label's rows"],
            [(labels[t], labels[p], count, _percent(count, support[t])) for count, t, p in shown],
        )
        if len(pairs) > len(shown):
            lines += [f"({len(pairs) - len(shown)} more confused pairs not shown)", ""]
        lines += [
            f"Up to {EXAMPLES_PER_GROUP} examples per pair, the most confident first:",
            "",
        ]
        example_rows = []
        for _, t, p in shown:
            members = np.flatnonzero((gold == t) & (predicted == p))
            members = members[np.argsort(-p_pred[members], kind="stable")][:EXAMPLES_PER_GROUP]
            example_rows += [(labels[t], labels[p], _prob(p_pred[i]), *texts(i)) for i in members]
        lines += _table(["true", "predicted", "p(predicted)", *texts.header], example_rows)

    lines += [f"## Most confident wrong predictions (top {TOP_EXAMPLES})", ""]
    order = np.flatnonzero(wrong)
    order = order[np.argsort(-p_pred[order], kind="stable")][:TOP_EXAMPLES]
    lines += _examples_table(order, labels, gold, predicted, p_pred, p_gold, texts)
    lines += why_section(
        texts,
        order,
        [labels[predicted[i]] for i in order],
        [
            f"{texts.guid(i)}, predicted {labels[predicted[i]]}, gold {labels[gold[i]]}"
            for i in order
        ],
    )

    lines += [f"## Least confident right predictions (top {TOP_EXAMPLES})", ""]
    order = np.flatnonzero(~wrong)
    order = order[np.argsort(p_pred[order], kind="stable")][:TOP_EXAMPLES]
    lines += _examples_table(order, labels, gold, predicted, p_pred, p_gold, texts)
    return lines


def _examples_table(
    order: np.ndarray,
    labels: Sequence[str],
    gold: np.ndarray,
    predicted: np.ndarray,
    p_pred: np.ndarray,
    p_gold: np.ndarray,
    texts: Texts,
) -> list[str]:
    if not len(order):
        return ["None.", ""]
    return _table(
        [*texts.header, "gold", "predicted", "p(predicted)", "p(gold)"],
        [
            (*texts(i), labels[gold[i]], labels[predicted[i]], _prob(p_pred[i]), _prob(p_gold[i]))
            for i in order
        ],
    )


# === Multilabel ===
def _names(labels: Sequence[str], row: np.ndarray) -> str:
    return ", ".join(labels[j] for j in np.flatnonzero(row)) or NONE


def _top_counts(counter: Counter, limit: int = 2) -> str:
    return ", ".join(f"{name} ({count})" for name, count in counter.most_common(limit)) or "-"


def multilabel_tables(
    labels: Sequence[str],
    probs: np.ndarray,
    predicted: np.ndarray,
    gold: np.ndarray,
    thresholds: np.ndarray,
    texts: Texts,
) -> list[str]:
    n, k = probs.shape
    false_pos = predicted & ~gold
    false_neg = ~predicted & gold
    wrong_rows = (false_pos | false_neg).any(axis=1)
    lines = [
        f"{int(wrong_rows.sum())} of {n} rows have a predicted label set that differs from gold "
        f"({_percent(int(wrong_rows.sum()), n)}); a label is predicted when its sigmoid "
        "probability reaches its threshold.",
        "",
        "## False positives and false negatives per label",
        "",
    ]
    errors = false_pos.sum(axis=0) + false_neg.sum(axis=0)
    order = [j for j in np.argsort(-errors, kind="stable") if errors[j] > 0]
    if not order:
        lines += ["No wrong decisions.", ""]
    else:
        shown = order[:TOP_GROUPS]
        summary = []
        for j in shown:
            fp_rows, fn_rows = np.flatnonzero(false_pos[:, j]), np.flatnonzero(false_neg[:, j])
            # Which gold labels the false positives stood in for, which predicted labels took
            # the place of the false negatives: the multilabel counterpart of a confusion.
            with_gold = Counter(labels[m] for i in fp_rows for m in np.flatnonzero(gold[i]))
            with_pred = Counter(labels[m] for i in fn_rows for m in np.flatnonzero(predicted[i]))
            summary.append(
                (
                    labels[j],
                    f"{thresholds[j]:.2f}",
                    int(gold[:, j].sum()),
                    len(fp_rows),
                    _top_counts(with_gold),
                    len(fn_rows),
                    _top_counts(with_pred),
                )
            )
        lines += _table(
            [
                "label",
                "threshold",
                "gold rows",
                "false positives",
                "their gold labels",
                "false negatives",
                "predicted instead",
            ],
            summary,
        )
        if len(order) > len(shown):
            lines += [f"({len(order) - len(shown)} more labels with errors not shown)", ""]
        lines += [
            f"Up to {EXAMPLES_PER_GROUP} examples per label and kind of error, the most confident "
            "first (false positive: highest p(label); false negative: lowest p(label)):",
            "",
        ]
        example_rows = []
        for j in shown:
            fp_rows = np.flatnonzero(false_pos[:, j])
            fp_rows = fp_rows[np.argsort(-probs[fp_rows, j], kind="stable")]
            fn_rows = np.flatnonzero(false_neg[:, j])
            fn_rows = fn_rows[np.argsort(probs[fn_rows, j], kind="stable")]
            for kind, members in (("false positive", fp_rows), ("false negative", fn_rows)):
                example_rows += [
                    (
                        labels[j],
                        kind,
                        _prob(probs[i, j]),
                        *texts(i),
                        _names(labels, gold[i]),
                        _names(labels, predicted[i]),
                    )
                    for i in members[:EXAMPLES_PER_GROUP]
                ]
        lines += _table(
            ["label", "error", "p(label)", *texts.header, "gold", "predicted"], example_rows
        )

    # A row is as confidently wrong as its most confident wrong decision: p(label) for a false
    # positive, 1 - p(label) for a false negative.
    wrong_confidence = np.where(false_pos, probs, np.where(false_neg, 1.0 - probs, -1.0))
    worst_label = wrong_confidence.argmax(axis=1)
    confidence = wrong_confidence[np.arange(n), worst_label]
    lines += [f"## Most confident wrong rows (top {TOP_EXAMPLES})", ""]
    rows = np.flatnonzero(wrong_rows)
    rows = rows[np.argsort(-confidence[rows], kind="stable")][:TOP_EXAMPLES]
    if not len(rows):
        return [*lines, "None.", ""]
    table_rows = []
    for i in rows:
        j = worst_label[i]
        sign = "+" if false_pos[i, j] else "-"
        table_rows.append(
            (
                *texts(i),
                _names(labels, gold[i]),
                _names(labels, predicted[i]),
                f"{sign}{labels[j]} (p={probs[i, j]:.4f})",
                _prob(confidence[i]),
            )
        )
    lines += _table(
        [*texts.header, "gold", "predicted", "most confident wrong decision", "confidence"],
        table_rows,
    )
    missed = [bool(false_neg[i, worst_label[i]]) for i in rows]
    lines += why_section(
        texts,
        rows,
        [labels[worst_label[i]] for i in rows],
        [
            f"{texts.guid(i)}, {'missed' if miss else 'wrongly predicted'} "
            f"{labels[worst_label[i]]} (gold: {_names(labels, gold[i])})"
            for i, miss in zip(rows, missed, strict=True)
        ],
        missed,
    )
    return lines
