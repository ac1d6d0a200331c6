"""Every annotation format by name: read any into AnnotatedText, write AnnotatedText as any.

    doccano       JSONL, one {"text", "label"} object per line (curation.annotation_doccano)
    label_studio  JSON list of tasks, text-classification template (curation.annotation_label_studio)
    tsv           the project's label<TAB>text rows, or a sibling tool's table (curation.annotation_tsv)
    text          a plain text file, one unlabelled text per line (read only)

A TSV output holds labelled rows only (a training file): ``split_labelled`` separates the
rows nobody labelled, which the caller counts or writes to a text file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from curation.annotation_doccano import doccano_text, read_doccano
from curation.annotation_label_studio import ControlNames, label_studio_text, read_label_studio
from curation.annotation_record import TASKS, AnnotatedText
from curation.annotation_tsv import TsvLayout, read_text_file, read_tsv_file, text_lines, tsv_text

READ_FORMATS = ("doccano", "label_studio", "tsv", "text")
WRITE_FORMATS = ("tsv", "doccano", "label_studio")


@dataclass(frozen=True)
class FormatOptions:
    """What the formats need to know beyond the records: the task (multiclass: one label per
    text), the TSV table's layout, Label Studio's control names, and whether a text's tabs and
    line breaks become spaces in a TSV file (else such a text is refused)."""

    task: str = "multiclass"
    layout: TsvLayout = TsvLayout()
    controls: ControlNames = ControlNames()
    flatten_text: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")


def read_annotations(
    name: str, path: str | os.PathLike[str], options: FormatOptions = FormatOptions()
) -> list[AnnotatedText]:
    """The records of ``path`` in format ``name`` (READ_FORMATS); an AnnotationError naming the
    record for the first one that cannot be converted."""
    if name == "doccano":
        return read_doccano(path, options.task)
    if name == "label_studio":
        return read_label_studio(path, options.task, options.controls)
    if name == "tsv":
        return read_tsv_file(path, options.task, options.layout)
    if name == "text":
        return read_text_file(path)
    raise ValueError(f"unknown format {name!r} (formats: {', '.join(READ_FORMATS)})")


def format_annotations(
    name: str, records: Sequence[AnnotatedText], options: FormatOptions = FormatOptions()
) -> str:
    """The file's text for ``records`` in format ``name`` (WRITE_FORMATS); tsv: labelled
    records only."""
    if name == "tsv":
        return tsv_text(records, options.flatten_text)
    if name == "doccano":
        return doccano_text(records)
    if name == "label_studio":
        return label_studio_text(records, options.controls)
    raise ValueError(f"unknown format {name!r} (formats: {', '.join(WRITE_FORMATS)})")


def format_unlabelled(records: Sequence[AnnotatedText], options: FormatOptions) -> str:
    """Texts without labels, one per line (what --from=text and predict.sh read)."""
    return text_lines(records, options.flatten_text)


def split_labelled(
    records: Sequence[AnnotatedText],
) -> tuple[list[AnnotatedText], list[AnnotatedText]]:
    """(the records with labels, those without), each in input order."""
    labelled = [record for record in records if record.labels]
    return labelled, [record for record in records if not record.labels]
