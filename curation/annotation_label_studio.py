"""Label Studio's JSON (its text-classification template), to AnnotatedText and back.

The template: ``<Text name="text" value="$text"/>`` and ``<Choices name="sentiment"
toName="text">``. An export is a list of tasks, each with ``data.text`` and ``annotations``
whose ``result`` holds items of type ``choices`` (``value.choices``: the label names; items of
other controls are ignored). A task's labels are those of its latest annotation that was not
cancelled (``was_cancelled``), the latest by ``updated_at`` (else ``created_at``) when every
candidate has one, else the last in the list; a task with none is unlabelled.

An import file is the same list: ``data.text``, the record's metadata under ``data.meta``, its
labels as one annotation (so that they come back), and a model's pre-annotation as
``predictions: [{model_version, score, result}]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.annotation_record import (
    AnnotatedText,
    AnnotationError,
    check_labels,
    check_text,
    json_type,
)

DEFAULT_FROM_NAME = "sentiment"  # the Choices control of Label Studio's template
DEFAULT_TO_NAME = "text"  # the Text object it labels
TEXT_KEY = "text"
META_KEY = "meta"
ANNOTATION_KEYS = ("annotations", "completions")  # completions: Label Studio before 1.0


@dataclass(frozen=True)
class ControlNames:
    """The template's control names. Reading: ``from_name`` None takes the choices of any one
    control (an annotation with choices from two controls then needs it named)."""

    from_name: str | None = None
    to_name: str = DEFAULT_TO_NAME


def read_label_studio(
    path: str | os.PathLike[str], task: str, names: ControlNames = ControlNames()
) -> list[AnnotatedText]:
    """The tasks of a Label Studio JSON export; errors name the task (index and id)."""
    tasks = _load(path)
    return [
        _record(item, task, names, _where(path, index, item)) for index, item in enumerate(tasks)
    ]


def label_studio_text(records: Iterable[AnnotatedText], names: ControlNames) -> str:
    """A Label Studio import file of ``records`` (see the module)."""
    tasks = [_task(record, names) for record in records]
    return json.dumps(tasks, ensure_ascii=False, indent=2) + "\n"


# === Reading ===
def _load(path: str | os.PathLike[str]) -> list[Any]:
    name = os.fspath(path)
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise AnnotationError(
            name, f"not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start})"
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnnotationError(
            f"{name}:{err.lineno}", f"not valid JSON ({err.msg} at column {err.colno})"
        ) from None
    if not isinstance(value, list):
        raise AnnotationError(
            name,
            f"{json_type(value)}, not a list of tasks (Label Studio's JSON export)",
        )
    return value


def _where(path: str | os.PathLike[str], index: int, item: Any) -> str:
    ident = f" (id {item['id']})" if isinstance(item, dict) and "id" in item else ""
    return f"{os.fspath(path)}: tasks[{index}]{ident}"


def _record(item: Any, task: str, names: ControlNames, where: str) -> AnnotatedText:
    if not isinstance(item, dict):
        raise AnnotationError(where, f"{json_type(item)}, not a task object")
    data = item.get("data")
    if not isinstance(data, dict):
        raise AnnotationError(
            where,
            'no "data" object (a task is {"data": {"text": ...}, "annotations": [...]}: '
            "export the project as JSON, not JSON-MIN or CSV)",
        )
    if TEXT_KEY not in data:
        keys = ", ".join(map(repr, data)) or "none"
        raise AnnotationError(where, f'data has no "{TEXT_KEY}" (keys: {keys})')
    try:
        text = check_text(data[TEXT_KEY])
    except ValueError as err:
        raise AnnotationError(where, f"data.{TEXT_KEY}: {err}") from None
    labels = _labels(item, task, names, where)
    return AnnotatedText(text, labels, _meta(data), where)


def _meta(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the task carried besides its text: data.meta's fields, then data's other keys."""
    meta = data.get(META_KEY)
    found = dict(meta) if isinstance(meta, dict) else {}
    for key, value in data.items():
        if key != TEXT_KEY and not (key == META_KEY and isinstance(value, dict)):
            found.setdefault(key, value)
    return found


def _labels(item: dict[str, Any], task: str, names: ControlNames, where: str) -> tuple[str, ...]:
    key = next((key for key in ANNOTATION_KEYS if key in item), ANNOTATION_KEYS[0])
    annotations = item.get(key)
    if annotations is None:
        return ()
    if not isinstance(annotations, list):
        raise AnnotationError(where, f'"{key}" is {json_type(annotations)}, not a list')
    latest = _latest(annotations, key, where)
    if latest is None:
        return ()
    index, annotation = latest
    place = f"{where}: {key}[{index}]"
    choices = _choices(annotation, names, place)
    try:
        return check_labels(choices, task)
    except ValueError as err:
        raise AnnotationError(place, str(err)) from None


def _latest(annotations: Sequence[Any], key: str, where: str) -> tuple[int, dict] | None:
    """(index, annotation) of the latest one not cancelled; None when there is none."""
    kept = []
    for index, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            raise AnnotationError(
                f"{where}: {key}[{index}]",
                f"{json_type(annotation)}, not an annotation object",
            )
        if not annotation.get("was_cancelled"):
            kept.append((index, annotation))
    if not kept:
        return None
    stamps = [_timestamp(annotation) for _, annotation in kept]
    if any(stamp is None for stamp in stamps):
        return kept[-1]
    order = max(range(len(kept)), key=lambda i: (stamps[i], i))
    return kept[order]


def _timestamp(annotation: Mapping[str, Any]) -> datetime | None:
    value = annotation.get("updated_at") or annotation.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _choices(annotation: Mapping[str, Any], names: ControlNames, place: str) -> list[Any]:
    """The label names of an annotation's choices items (of ``names.from_name`` when set)."""
    result = annotation.get("result")
    if result is None:
        return []
    if not isinstance(result, list):
        raise AnnotationError(place, f'"result" is {json_type(result)}, not a list')
    labels: list[Any] = []
    controls: list[str] = []
    for position, entry in enumerate(result):
        where = f"{place}.result[{position}]"
        if not isinstance(entry, dict):
            raise AnnotationError(where, f"{json_type(entry)}, not a result object")
        if entry.get("type") != "choices":
            continue
        control = entry.get("from_name")
        if names.from_name is not None and control != names.from_name:
            continue
        value = entry.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list):
            raise AnnotationError(where, "value.choices is not a list of label names")
        for choice in choices:
            if not isinstance(choice, str):
                raise AnnotationError(where, f"value.choices holds {choice!r}, not a label name")
        if control not in controls:
            controls.append(control)
        labels.extend(choices)
    if len(controls) > 1:
        shown = ", ".join(repr(control) for control in controls)
        raise AnnotationError(
            place, f"choices from {len(controls)} controls ({shown}): --from_name picks one"
        )
    return labels


# === Writing ===
def _task(record: AnnotatedText, names: ControlNames) -> dict[str, Any]:
    data: dict[str, Any] = {TEXT_KEY: record.text}
    if record.meta:
        data[META_KEY] = dict(record.meta)
    task: dict[str, Any] = {"data": data}
    if record.labels:
        task["annotations"] = [{"result": _result(record.labels, names)}]
    suggestion = record.suggestion
    if suggestion is not None:
        task["predictions"] = [
            {
                "model_version": suggestion.model_version,
                "score": suggestion.score,
                "result": _result(suggestion.labels, names),
            }
        ]
    return task


def _result(labels: Sequence[str], names: ControlNames) -> list[dict[str, Any]]:
    """One choices item naming ``labels`` (none when there are no labels)."""
    if not labels:
        return []
    return [
        {
            "from_name": names.from_name or DEFAULT_FROM_NAME,
            "to_name": names.to_name,
            "type": "choices",
            "value": {"choices": list(labels)},
        }
    ]
