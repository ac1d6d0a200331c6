"""The label-issues TSV: one row per suspect training row, most suspect first, naming the line
a user opens in an editor."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from classifier.files import atomic_write_text
from curation.label_issues import LabelIssue

COLUMNS = ("line", "given_label", "suggested_label", "score", "text")
PAIR_COLUMNS = ("text_b",)
MULTILABEL_COLUMNS = ("labels_to_add", "labels_to_remove")
LABEL_SEPARATOR = "|"

# The guid a processor gives the row on a 1-based physical line of train.tsv (processors'
# read_examples: "<split>-<line>", a header line counted).
_TRAIN_GUID = re.compile(r"train-(\d+)")


def train_lines(examples: Sequence, train_file: str) -> list[int]:
    """The train.tsv line of each example, read from its guid; a processor that names its rows
    otherwise cannot be traced back to lines (ValueError)."""
    lines = []
    for example in examples:
        match = _TRAIN_GUID.fullmatch(example.guid)
        if match is None:
            raise ValueError(
                f"the processor names its training rows {example.guid!r}, not train-<line>: "
                f"the lines of {train_file} cannot be reported"
            )
        lines.append(int(match.group(1)))
    return lines


def issue_columns(pair: bool, multilabel: bool) -> tuple[str, ...]:
    """The header: pair tasks add text_b, multilabel tasks the label sets that differ."""
    return COLUMNS + (PAIR_COLUMNS if pair else ()) + (MULTILABEL_COLUMNS if multilabel else ())


def issue_row(
    issue: LabelIssue, example, line: int, pair: bool, multilabel: bool
) -> tuple[str, ...]:
    join = LABEL_SEPARATOR.join
    row = (str(line), join(issue.given), join(issue.suggested), f"{issue.score:.6g}")
    row += (example.text_a,) + ((example.text_b or "",) if pair else ())
    if multilabel:
        row += (join(issue.labels_to_add), join(issue.labels_to_remove))
    return row


def write_issues_file(
    path: str | Path,
    issues: Sequence[LabelIssue],
    examples: Sequence,
    lines: Sequence[int],
    pair: bool,
    multilabel: bool,
) -> None:
    """Writes the TSV atomically (nothing half-written is left behind)."""
    rows = [issue_columns(pair, multilabel)]
    rows += [issue_row(i, examples[i.row], lines[i.row], pair, multilabel) for i in issues]
    atomic_write_text(path, "".join("\t".join(row) + "\n" for row in rows))
