"""A data file as its rows of fields, read and checked by the task's processor.

Augmented rows keep every field of their original but the texts (the label exactly as
written, and any other column a user's processor declares), so the rows are kept as fields
rather than as InputExamples. The processor reads the file first: a malformed row stops it
with the file and line (processors.DataError), as train.sh would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import processors
from classifier.files import atomic_write_text

Row = tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """The header line's fields (None: no header), the rows, and where the texts are."""

    header: Row | None
    rows: list[Row]
    text_columns: tuple[int, ...]  # text (or text_a), then text_b for a pair task


def read_table(path: str | Path, task_name: str = "tsv", header: str | bool = "auto") -> Table:
    """The labelled rows of ``path`` as ``task_name``'s processor reads a train.tsv."""
    path = Path(path)
    processor = processors.get_processor(task_name)(path.parent, header=header)
    examples = processor.read_examples(path.name, "train", labelled=True)
    fields = {row.line: row.fields for row in processors.read_tsv(path) if _is_row(row)}
    first = next(iter(fields.values()), None)
    has_header = first is not None and (
        processor.header is True or (processor.header == "auto" and processor.is_header(first))
    )
    # read_examples names each example "<split>-<line>": the line its fields are on.
    rows = [fields[int(example.guid.rpartition("-")[2])] for example in examples]
    return Table(first if has_header else None, rows, text_columns(processor.columns))


def _is_row(row: processors.TsvRow | processors.DataError) -> bool:
    return isinstance(row, processors.TsvRow)


def text_columns(columns: tuple[str, ...]) -> tuple[int, ...]:
    """The indices of the text (or text_a) column and of text_b when there is one."""
    first = columns.index("text_a") if "text_a" in columns else columns.index("text")
    return (first, columns.index("text_b")) if "text_b" in columns else (first,)


def write_table(path: str | Path, header: Row | None, rows: list[Row]) -> None:
    """Writes the rows tab-separated, the header first, atomically (nothing half-written)."""
    lines = ([header] if header is not None else []) + rows
    atomic_write_text(path, "".join("\t".join(fields) + "\n" for fields in lines))
