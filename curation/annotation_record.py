"""One text on its way to or from an annotation tool, and the rules its labels must follow.

Every reader (doccano, Label Studio, the project's TSV) produces ``AnnotatedText`` and every
writer takes it, so any format converts to any other through this one shape. The label rules
are the TSV files': processors/ splits a row at tabs, a file at line breaks and a multilabel
field at ``|``, so a label holding any of them could not come back as itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from processors import DataProcessor
from processors.text_content import has_content

LABEL_SEPARATOR = DataProcessor.label_separator  # "|", as processors/ splits multilabel fields
TASKS = ("multiclass", "multilabel")
FORBIDDEN_IN_LABELS = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}


class AnnotationError(ValueError):
    """A record that cannot be converted: ``str()`` is ``where: why``, ``where`` naming the
    file and the record (``in.jsonl:3``, ``export.json: tasks[2] (id 17)``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Suggestion:
    """A model's pre-annotation of one text: its predicted labels (best first; none when it
    abstained or no multilabel threshold was reached), the top probability and the model."""

    labels: tuple[str, ...]
    score: float
    model_version: str


@dataclass(frozen=True)
class AnnotatedText:
    """A text, its labels (empty: nobody labelled it), whatever else the record carried
    (``meta``: a sibling tool's ``line`` or ``rank``, a doccano ``id``), and where it was read,
    for error messages."""

    text: str
    labels: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""
    suggestion: Suggestion | None = None


def check_label(label: object) -> str:
    """``label`` if a TSV row can carry it and give it back unchanged; ValueError otherwise,
    naming the label."""
    if not isinstance(label, str):
        raise ValueError(
            f"label {label!r} is {json_type(label)}, not a string (a label is its name)"
        )
    for char, name in FORBIDDEN_IN_LABELS.items():
        if char in label:
            raise ValueError(f"label {label!r} holds {name}, which a TSV row cannot carry")
    if LABEL_SEPARATOR in label:
        raise ValueError(
            f"label {label!r} holds {LABEL_SEPARATOR!r}, the separator of multilabel TSV "
            "fields: it would come back as several labels"
        )
    _check_encodable(label, f"label {label!r}")
    if not label.strip():
        raise ValueError("empty label")
    if label != label.strip():
        raise ValueError(f"label {label!r} starts or ends with spaces, which the TSV reader strips")
    return label


def check_labels(labels: Iterable[object], task: str) -> tuple[str, ...]:
    """The labels of one record, checked (check_label), in their order: no label twice, at
    most one for a multiclass task."""
    checked: list[str] = []
    for label in labels:
        name = check_label(label)
        if name in checked:
            raise ValueError(f"label {name!r} appears twice")
        checked.append(name)
    if task == "multiclass" and len(checked) > 1:
        shown = ", ".join(repr(label) for label in checked)
        raise ValueError(
            f"{len(checked)} labels ({shown}) for a multiclass task (--task=multilabel keeps "
            "them all)"
        )
    return tuple(checked)


def check_text(text: object) -> str:
    """``text`` when it is a string with something for a model to read; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"the text is {json_type(text)}, not a string")
    _check_encodable(text, "the text")
    if not has_content(text):
        raise ValueError(
            "the text is empty (nothing but whitespace or control characters, which the "
            "tokenizer removes)"
        )
    return text


def _check_encodable(value: str, name: str) -> None:
    """JSON's escapes can carry half of a surrogate pair, which no UTF-8 file can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{name} holds an unpaired surrogate ({value[err.start]!r}), not a character"
        ) from None


JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number"}


def json_type(value: object) -> str:
    """What JSON calls ``value``'s type ("an object", "an array", ...), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    name = JSON_TYPES.get(type(value), type(value).__name__)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def meta_value(value: str) -> int | float | str:
    """A table cell as JSON keeps it: a number when its text is exactly that number's (so
    ``line`` and ``rank`` stay numbers and ``007`` stays text), else the string."""
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if str(number) == value and math.isfinite(number):
            return number
    return value
