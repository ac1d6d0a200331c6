"""The project's label-text TSV (``label<TAB>text``, multilabel fields joined by ``|``), the
tables the sibling data tools write, and plain text files, to AnnotatedText and back.

Rows are read by processors.read_tsv, as train.sh reads them (split at tabs only, no quoting,
line numbers counted as an editor counts them), and written so that it reads them back
unchanged. A first line naming a text column is a header (find_label_issues.sh's
``line given_label suggested_label score text``, select_for_labeling.sh's ``rank line text
predicted_label probability score``): its label column gives the labels and its other columns
travel as metadata, so ``line`` and ``rank`` reach the annotators and come back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from curation.annotation_record import (
    LABEL_SEPARATOR,
    AnnotatedText,
    AnnotationError,
    check_labels,
    check_text,
    meta_value,
)
from processors import HEADER_WORDS, DataError, read_tsv

HEADER_CHOICES = ("auto", "yes", "no")
# The columns a header may name for the text and the labels, the first one present winning.
TEXT_COLUMNS = ("text", "text_a", "sentence", "content", "文本", "句子", "内容")
LABEL_COLUMNS = ("label", "labels", "given_label", "标签", "类别")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BREAKS = re.compile(r"[\t\r\n]+")


@dataclass(frozen=True)
class TsvLayout:
    """How to read a table: whether its first line is a header (``auto``: when it names a
    text column and every field looks like a column name), and which columns hold the text
    and the labels (None: the first of TEXT_COLUMNS / LABEL_COLUMNS the header names)."""

    header: str = "auto"
    text_column: str | None = None
    label_column: str | None = None


def read_tsv_file(
    path: str | os.PathLike[str], task: str, layout: TsvLayout = TsvLayout()
) -> list[AnnotatedText]:
    """The rows of a TSV file. Without a header a row is ``label<TAB>text`` or a text alone
    (unlabelled); an empty label field means no label."""
    records: list[AnnotatedText] = []
    columns: _Columns | None = None
    for index, row in enumerate(read_tsv(path)):
        if isinstance(row, DataError):
            raise AnnotationError(f"{row.path}:{row.line}", row.message)
        where = f"{os.fspath(path)}:{row.line}"
        if index == 0:
            columns = _header_columns(row.fields, layout, where)
            if columns is not None:
                continue
        try:
            records.append(_record(row.fields, columns, task, where))
        except ValueError as err:
            raise AnnotationError(where, str(err)) from None
    return records


def read_text_file(path: str | os.PathLike[str]) -> list[AnnotatedText]:
    """A plain text file: every non-blank line is one unlabelled text, tabs and all."""
    records = []
    for row in read_tsv(path):
        if isinstance(row, DataError):
            raise AnnotationError(f"{row.path}:{row.line}", row.message)
        where = f"{os.fspath(path)}:{row.line}"
        try:
            records.append(AnnotatedText(check_text("\t".join(row.fields)), where=where))
        except ValueError as err:
            raise AnnotationError(where, str(err)) from None
    return records


def tsv_text(records: Iterable[AnnotatedText], flatten: bool = False) -> str:
    """``label<TAB>text`` lines of labelled records, as processors/ reads them."""
    return "".join(
        f"{LABEL_SEPARATOR.join(record.labels)}\t{_one_line(record, flatten)}\n"
        for record in records
    )


def text_lines(records: Iterable[AnnotatedText], flatten: bool = False) -> str:
    """One text per line: what --from=text, predict.sh and an unlabelled test.tsv read."""
    return "".join(f"{_one_line(record, flatten)}\n" for record in records)


# === Columns ===
@dataclass(frozen=True)
class _Columns:
    names: tuple[str, ...]
    text: int
    label: int | None


def _header_columns(fields: Sequence[str], layout: TsvLayout, where: str) -> _Columns | None:
    """The header's columns when the first row is one (see TsvLayout); None when it is data."""
    names = tuple(field.strip() for field in fields)
    if not _is_header(names, layout):
        if layout.text_column or layout.label_column:
            flag = "--text_column" if layout.text_column else "--label_column"
            raise AnnotationError(where, f"{flag} names a column, but there is no header line")
        return None
    folded = [name.lower() for name in names]
    for position, name in enumerate(folded):
        if name in folded[:position]:
            raise AnnotationError(where, f"the header names column {names[position]!r} twice")
    text = _find(folded, layout.text_column, TEXT_COLUMNS, "--text_column", names, where)
    if text is None:
        raise AnnotationError(
            where,
            f"the header ({', '.join(names)}) names no text column ({', '.join(TEXT_COLUMNS)}); "
            "--text_column names it",
        )
    label = _find(folded, layout.label_column, LABEL_COLUMNS, "--label_column", names, where)
    return _Columns(names, text, label)


def _is_header(names: Sequence[str], layout: TsvLayout) -> bool:
    if layout.header != "auto":
        return layout.header == "yes"
    wanted = (layout.text_column.lower(),) if layout.text_column else TEXT_COLUMNS
    folded = [name.lower() for name in names]
    return any(name in wanted for name in folded) and all(
        name in HEADER_WORDS or name in wanted or _COLUMN_NAME.match(name) for name in folded
    )


def _find(
    folded: list[str],
    asked: str | None,
    defaults: Sequence[str],
    flag: str,
    names: Sequence[str],
    where: str,
) -> int | None:
    if asked is not None:
        if asked.lower() not in folded:
            raise AnnotationError(
                where, f"{flag}={asked}: the header has no such column ({', '.join(names)})"
            )
        return folded.index(asked.lower())
    return next((folded.index(name) for name in defaults if name in folded), None)


# === Rows ===
def _record(
    fields: Sequence[str], columns: _Columns | None, task: str, where: str
) -> AnnotatedText:
    if columns is None:
        if len(fields) > 2:
            raise ValueError(
                f"{len(fields)} tab-separated fields: a row is label<TAB>text, or a text alone "
                "(a tab inside a text? --from=text reads every line as one text)"
            )
        label_field = fields[0] if len(fields) == 2 else ""
        return AnnotatedText(check_text(fields[-1]), _parse_labels(label_field, task), where=where)
    if len(fields) != len(columns.names):
        raise ValueError(
            f"{len(fields)} tab-separated fields, but the header names {len(columns.names)} "
            "(a tab inside a text?)"
        )
    others = [i for i in range(len(fields)) if i not in (columns.text, columns.label)]
    meta = {columns.names[i]: meta_value(fields[i]) for i in others}
    labels = () if columns.label is None else _parse_labels(fields[columns.label], task)
    return AnnotatedText(check_text(fields[columns.text]), labels, meta, where)


def _parse_labels(field: str, task: str) -> tuple[str, ...]:
    """A label field as processors/ reads it: blank is no label, ``a|b`` two labels, each
    stripped."""
    if not field.strip():
        return ()
    labels = [part.strip() for part in field.split(LABEL_SEPARATOR)]
    if not all(labels):
        raise ValueError(f"empty label in {field!r} (labels are joined by {LABEL_SEPARATOR!r})")
    return check_labels(labels, task)


def _one_line(record: AnnotatedText, flatten: bool) -> str:
    """The text as one TSV field: a tab or line break would split the row, so it is refused,
    or with ``flatten`` each run of them becomes one space."""
    if not _BREAKS.search(record.text):
        return record.text
    if flatten:
        return _BREAKS.sub(" ", record.text)
    raise AnnotationError(
        record.where,
        "the text holds a tab or a line break, which a TSV row cannot carry (--flatten_text "
        "replaces each run of them by a space)",
    )
