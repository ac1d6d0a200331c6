"""doccano's text-classification JSONL, to AnnotatedText and back.

An export holds one object per line: ``{"id": 7, "text": "...", "label": ["正面"]}``. Older
doccano wrote ``"labels"``; hand-made files often hold one label as a string. Every other key
(doccano's ``id``, ``Comments``, a sibling tool's ``line``) is kept as metadata. An import file
is the same shape; with a model's pre-annotations ``label`` holds the predicted labels (doccano
shows them as the annotation to correct), the row's own labels move to ``given_label``, and
``prediction_score`` and ``model_version`` say where the labels came from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curation.annotation_record import (
    AnnotatedText,
    AnnotationError,
    check_labels,
    check_text,
    json_type,
)

LABEL_KEYS = ("label", "labels")  # the first one a record has
UTF8_BOM = b"\xef\xbb\xbf"


def read_doccano(path: str | os.PathLike[str], task: str) -> list[AnnotatedText]:
    """The records of a doccano JSONL file; errors name its line."""
    records = []
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{os.fspath(path)}:{number}"
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            if not raw.strip():
                continue
            value = _parse(raw, where)
            try:
                records.append(_record(value, task, where))
            except ValueError as err:
                raise AnnotationError(where, str(err)) from None
    return records


def doccano_text(records: Iterable[AnnotatedText]) -> str:
    """The JSONL lines of ``records`` (text, label, then their metadata; see the module)."""
    return "".join(json.dumps(_object(record), ensure_ascii=False) + "\n" for record in records)


def _parse(raw: bytes, where: str) -> dict[str, Any]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AnnotationError(where, f"not valid UTF-8 (byte 0x{raw[err.start]:02x})") from None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        raise AnnotationError(where, f"not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(value, dict):
        raise AnnotationError(where, f'{json_type(value)}, not an object with "text" and "label"')
    return value


def _record(value: dict[str, Any], task: str, where: str) -> AnnotatedText:
    if "text" not in value:
        keys = ", ".join(map(repr, value)) or "none"
        raise ValueError(f'no "text" key (keys: {keys})')
    text = check_text(value["text"])
    key = next((key for key in LABEL_KEYS if key in value), None)
    labels = check_labels(_label_names(value.get(key) if key else None, key), task)
    meta = {name: item for name, item in value.items() if name not in ("text", *LABEL_KEYS)}
    return AnnotatedText(text, labels, meta, where)


def _label_names(value: Any, key: str | None) -> list[Any]:
    """A label field's names: a list of them, one name as a string, or nothing (null, "")."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError(f'"{key}" is {json_type(value)}, not a list of label names')
    for item in value:
        if isinstance(item, list):
            raise ValueError(
                f'"{key}" holds {item!r}, a span of a sequence-labelling export, not a label '
                "name: export the project as text classification"
            )
        if not isinstance(item, str):
            raise ValueError(f'"{key}" holds {item!r}, not a label name (a string)')
    return value


def _object(record: AnnotatedText) -> dict[str, Any]:
    value: dict[str, Any] = {"text": record.text}
    suggestion = record.suggestion
    if suggestion is None:
        value["label"] = list(record.labels)
    else:
        value["label"] = list(suggestion.labels)
        if record.labels:
            value["given_label"] = list(record.labels)
        value["prediction_score"] = suggestion.score
        value["model_version"] = suggestion.model_version
    for name, item in record.meta.items():
        value.setdefault(name, item)
    return value
