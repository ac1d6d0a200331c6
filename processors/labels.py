"""labels.txt: the label order, kept in a plain file next to the data and the trained weights.

One label per line, in the order the model's output units use. A plain text file rather than a
pickle or a dict inside a checkpoint, so a person can read and edit it and any tool can use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from processors.data_error import DataError
from processors.tsv_reader import read_tsv


def read_labels(path: str | os.PathLike[str], separator: str | None = None) -> list[str]:
    """Read a label list: one label per line, order kept, surrounding whitespace and blank lines
    ignored. A duplicate, a tab inside a label, a non-UTF-8 line or an empty file is a DataError;
    so is a label holding ``separator`` (a multilabel task's, which splits it in the data: such a
    label could never be produced by a row)."""
    labels: list[str] = []
    first_line: dict[str, int] = {}
    for row in read_tsv(path):
        if isinstance(row, DataError):
            raise row
        if len(row.fields) != 1:
            raise DataError(path, row.line, "a label must not contain a tab (one label per line)")
        label = row.fields[0].strip()
        if not label:
            continue
        if separator and separator in label:
            raise DataError(
                path,
                row.line,
                f"label {label!r} contains the label separator {separator!r}, which splits "
                f"labels in the data files: no row could carry it (one label per line)",
            )
        if label in first_line:
            raise DataError(
                path, row.line, f"duplicate label {label!r} (first on line {first_line[label]})"
            )
        first_line[label] = row.line
        labels.append(label)
    if not labels:
        raise DataError(path, None, "no labels in file")
    return labels


def write_labels(path: str | os.PathLike[str], labels: Iterable[str]) -> Path:
    """Write ``labels`` one per line (UTF-8, "\\n") so that read_labels gives them back unchanged.

    Refuses labels that would not survive the round trip (empty, surrounding whitespace, tabs or
    line breaks, duplicates) rather than write a file that reads back differently.
    """
    labels = list(labels)
    if not labels:
        raise ValueError("no labels to write")
    seen: set[str] = set()
    for label in labels:
        if not isinstance(label, str) or not label or label != label.strip():
            raise ValueError(f"invalid label {label!r}: labels are non-empty, unpadded strings")
        if any(char in label for char in "\t\n\r"):
            raise ValueError(f"invalid label {label!r}: labels hold no tabs or line breaks")
        if label in seen:
            raise ValueError(f"duplicate label {label!r}")
        seen.add(label)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(f"{label}\n" for label in labels).encode("utf-8"))
    return path


def numerically_equal(labels: Sequence[str]) -> list[list[str]]:
    """Groups of distinct labels that read as the same number ("1" and "1.0", "0" and "00"):
    separate classes to the model, probably one class to the person who wrote them."""
    groups: dict[float, list[str]] = {}
    for label in labels:
        try:
            value = float(label)
        except ValueError:
            continue
        if math.isfinite(value):
            groups.setdefault(value, []).append(label)
    return [group for group in groups.values() if len(group) > 1]
