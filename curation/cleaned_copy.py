"""A cleaned copy of a data set: train.tsv without its issue rows (or with them relabelled),
the other files copied unchanged; the input folder is never written.

train.tsv is edited as bytes, line by line as processors.read_tsv counts lines (split on
b"\\n" only), so every untouched line, its line ending and a header stay exactly as they were.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from classifier.files import atomic_write
from curation.label_issues import LabelIssue
from processors.tsv_reader import UTF8_BOM

CLEANINGS = ("remove", "relabel")


def label_column(columns: Sequence[str]) -> int:
    """Where a processor's rows hold their label field ("label" or "labels")."""
    for name in ("label", "labels"):
        if name in columns:
            return list(columns).index(name)
    raise ValueError(f"the processor's columns {tuple(columns)} name no label column")


def changes_for(
    issues: Sequence[LabelIssue], lines: Sequence[int], cleaning: str, separator: str
) -> dict[int, str | None]:
    """{train.tsv line: the new label field (relabel) or None (remove)} of the issue rows;
    ``lines`` are the examples' lines, ``separator`` joins a multilabel set."""
    if cleaning not in CLEANINGS:
        raise ValueError(f"--cleaning must be one of {CLEANINGS}, not {cleaning!r}")
    relabel = cleaning == "relabel"
    return {lines[i.row]: separator.join(i.suggested) if relabel else None for i in issues}


def cleaned_train_bytes(raw: bytes, changes: Mapping[int, str | None], column: int) -> bytes:
    """``raw`` (a train.tsv) with the lines in ``changes`` removed (None) or given a new label
    field; line numbers are 1-based, as the issues file gives them."""
    lines = raw.split(b"\n")
    kept = []
    for index, line in enumerate(lines):
        number = index + 1
        if number not in changes:
            kept.append(line)
        elif changes[number] is not None:
            kept.append(_relabelled(line, changes[number], column, first=index == 0))
    return b"\n".join(kept)


def _relabelled(line: bytes, label: str, column: int, first: bool) -> bytes:
    bom = UTF8_BOM if first and line.startswith(UTF8_BOM) else b""
    ending = b"\r" if line.endswith(b"\r") else b""
    body = line[len(bom) : len(line) - len(ending)]
    fields = body.decode("utf-8").split("\t")
    fields[column] = label
    return bom + "\t".join(fields).encode("utf-8") + ending


def write_cleaned_copy(
    data_dir: str | Path,
    out_dir: str | Path,
    train_file: str,
    other_files: Sequence[str],
    changes: Mapping[int, str | None],
    column: int,
) -> list[str]:
    """Writes the cleaned train file and copies ``other_files`` that exist into ``out_dir``
    (each file atomically); returns the names written."""
    source, out = Path(data_dir), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--write_cleaned={out_dir} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    cleaned = cleaned_train_bytes((source / train_file).read_bytes(), changes, column)
    atomic_write(out / train_file, lambda tmp: Path(tmp).write_bytes(cleaned))
    written = [train_file]
    for name in other_files:
        if (source / name).is_file():
            atomic_write(out / name, lambda tmp, name=name: shutil.copyfile(source / name, tmp))
            written.append(name)
    return written
