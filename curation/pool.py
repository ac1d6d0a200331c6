"""The unlabelled pool: its distinct texts and the lines they came from.

Read through serving.text_io (plain lines, or TSV / CSV / JSONL with a text column, as
predict.sh reads them), with blank texts skipped and a text met again counted once, at its
first line: labelling the same text twice teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.text_io import Columns, InputTextError, read_text_rows


@dataclass(frozen=True)
class Pool:
    """Distinct non-blank texts in file order, each with its 1-based line; how many blank
    texts and repeated texts were skipped."""

    texts: list[str]
    lines: list[int]
    blank: int
    duplicates: int


def read_pool(path: str, input_format: str = "lines", text_column: str | None = None) -> Pool:
    """The pool in ``path`` (``input_format`` as serving.text_io.read_text_rows takes it).
    InputTextError (naming the file and line) for a row that does not fit, or a pool with no
    text at all."""
    texts: list[str] = []
    lines: list[int] = []
    seen: set[str] = set()
    blank = duplicates = 0
    with open(path, "rb") as stream:
        for row in read_text_rows(stream, path, input_format, False, Columns(text_column)):
            if not row.text.strip():
                blank += 1
            elif row.text in seen:
                duplicates += 1
            else:
                seen.add(row.text)
                texts.append(row.text)
                lines.append(row.line)
    if not texts:
        raise InputTextError(path, None, "no texts to choose from (blank lines are skipped)")
    return Pool(texts, lines, blank, duplicates)
