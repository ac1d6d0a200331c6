"""Texts in, predictions out: the file formats predict.sh and the web page's upload share.

Inputs: ``lines`` (one text per line; pair models text_a<TAB>text_b; every line is a text, an
empty one too), ``tsv`` (a header line, then one row per line split at tabs, no quoting, as
train.tsv is read), ``csv`` (a header, RFC 4180 quoting: texts may hold commas, quotes and
newlines) and ``jsonl`` (one JSON object per line). The text, text_b and id columns are
chosen by name; a file that does not fit stops at its first bad row with ``name:line: why``.
Outputs: ``tsv`` (train.sh --do_predict's columns), ``csv`` (the same columns) or ``jsonl``
(one object per text), the id column first when there is one.

Plain Python (no TensorFlow): predict.sh reads files with it before loading a model, and the
HTTP server parses uploads with it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, TextIO

from serving.explaining import explanation_fields
from serving.model_info import ModelInfo
from serving.prediction import Prediction

INPUT_FORMATS = ("auto", "lines", "tsv", "csv", "jsonl")
OUTPUT_FORMATS = ("auto", "tsv", "csv", "jsonl")
EXTENSIONS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
MEDIA_TYPES = {
    "tsv": "text/tab-separated-values",
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
}
DEFAULT_TEXT_COLUMNS = ("text", "text_a")  # the first one a file has
DEFAULT_TEXT_B_COLUMN = "text_b"
CSV_FIELD_LIMIT = 1 << 24  # characters in one CSV field (the csv module's default is 131,072)


class InputTextError(ValueError):
    """Input that cannot be read as texts: ``str()`` is ``name:line: why`` (``name: why`` for
    the file as a whole), the format editors and terminals jump to."""

    def __init__(self, name: str, line: int | None, message: str) -> None:
        super().__init__(f"{name}: {message}" if line is None else f"{name}:{line}: {message}")
        self.name = name
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Columns:
    """Which columns hold the text, the second text of a pair and the id (None: the default
    text columns, ``text_b``, no id)."""

    text: str | None = None
    text_b: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class TextRow:
    """One text (pair models: and its text_b) with its 1-based line and id (None: no id)."""

    line: int
    text: str
    text_b: str | None = None
    id: Any = None


# === Formats ===
def input_format_for(name: str | None, requested: str = "auto") -> str:
    """``requested``, or for "auto" the format of the file's extension (lines for stdin and
    for any other extension, .txt included)."""
    if requested != "auto":
        return requested
    if name is None:
        return "lines"
    return EXTENSIONS.get(PurePath(name).suffix.lower(), "lines")


def output_format_for(name: str | None, requested: str = "auto", default: str = "tsv") -> str:
    """``requested``, or for "auto" the format of the output file's extension (``default``
    for stdout and any other extension)."""
    if requested != "auto":
        return requested
    if name is None:
        return default
    found = EXTENSIONS.get(PurePath(name).suffix.lower(), default)
    return found if found in OUTPUT_FORMATS else default


# === Reading ===
def utf8_lines(stream: Iterable[bytes], name: str) -> Iterator[str]:
    """The lines of a byte stream (split at b"\\n" only), decoded one by one so that a bad byte
    is reported with its line; a UTF-8 BOM before the first line is dropped."""
    for number, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            raise InputTextError(
                name,
                number,
                f"not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                "save the file as UTF-8",
            ) from None


def read_text_rows(
    stream: Iterable[bytes],
    name: str,
    input_format: str,
    is_pair: bool,
    columns: Columns | None = None,
) -> Iterator[TextRow]:
    """The texts of a byte stream in ``input_format`` (not "auto": see input_format_for).

    Raises InputTextError at the first line that does not fit: invalid UTF-8, a header without
    the text column, a row with another number of fields than its header, invalid JSON, a text
    that is not a string."""
    columns = columns or Columns()
    if not is_pair and columns.text_b is not None:
        raise InputTextError(name, None, "text_b_column: this model takes single texts, not pairs")
    lines = utf8_lines(stream, name)
    if input_format == "lines":
        named = [f for f in ("text", "text_b", "id") if getattr(columns, f) is not None]
        if named:
            raise InputTextError(
                name,
                None,
                f"{named[0]}_column: plain lines have no columns (one text per line); "
                "give a tsv, csv or jsonl file",
            )
        return _lines_rows(lines, is_pair)
    if input_format == "tsv":
        return _table_rows(_tsv_records(lines), name, is_pair, columns)
    if input_format == "csv":
        return _table_rows(_csv_records(lines, name), name, is_pair, columns)
    if input_format == "jsonl":
        return _jsonl_rows(lines, name, is_pair, columns)
    raise ValueError(f"unknown input format {input_format!r} (one of {INPUT_FORMATS[1:]})")


def _lines_rows(lines: Iterable[str], is_pair: bool) -> Iterator[TextRow]:
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if is_pair:
            text_a, _, text_b = text.partition("\t")
            yield TextRow(number, text_a, text_b)
        else:
            yield TextRow(number, text)


def _tsv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield number, text.split("\t")


def _csv_records(lines: Iterator[str], name: str) -> Iterator[tuple[int, list[str]]]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.reader(lines, strict=True)
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: report where it began
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InputTextError(name, start, f"not valid CSV ({err})") from None
        if any(field.strip() for field in fields):
            yield start, fields


def _table_rows(
    records: Iterator[tuple[int, list[str]]], name: str, is_pair: bool, columns: Columns
) -> Iterator[TextRow]:
    first = next(records, None)
    if first is None:
        raise InputTextError(name, None, "no header line: the file is empty")
    header_line, header = first
    header = [field.strip() for field in header]
    chosen = _choose_columns(header, name, header_line, is_pair, columns)
    for column in (chosen.text, chosen.text_b, chosen.id):
        if column is not None and header.count(column) > 1:
            raise InputTextError(name, header_line, f"the header names column {column!r} twice")
    index = {field: i for i, field in enumerate(header)}
    for line, fields in records:
        if len(fields) != len(header):
            raise InputTextError(
                name,
                line,
                f"{len(fields)} fields where the header (line {header_line}) has "
                f"{len(header)}; a text holding a tab or a newline needs csv or jsonl",
            )
        yield TextRow(
            line,
            fields[index[chosen.text]],
            fields[index[chosen.text_b]] if chosen.text_b else None,
            fields[index[chosen.id]] if chosen.id else None,
        )


def _choose_columns(
    names: Sequence[str], name: str, line: int, is_pair: bool, columns: Columns
) -> Columns:
    """The columns to read: those named, or the defaults the header holds."""

    def find(wanted: str | None, defaults: tuple[str, ...], option: str) -> str:
        candidates = (wanted,) if wanted is not None else defaults
        for candidate in candidates:
            if candidate in names:
                return candidate
        listed = " or ".join(repr(c) for c in candidates)
        hint = f"choose one with {option}" if wanted is None else f"check {option}"
        have = ", ".join(repr(n) for n in names) or "none"
        raise InputTextError(name, line, f"no column {listed} (columns: {have}); {hint}")

    text = find(columns.text, DEFAULT_TEXT_COLUMNS, "text_column")
    text_b = find(columns.text_b, (DEFAULT_TEXT_B_COLUMN,), "text_b_column") if is_pair else None
    ids = find(columns.id, (), "id_column") if columns.id is not None else None
    return Columns(text, text_b, ids)


def _jsonl_rows(
    lines: Iterable[str], name: str, is_pair: bool, columns: Columns
) -> Iterator[TextRow]:
    chosen = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            raise InputTextError(name, number, "JSON nested too deeply") from None
        except ValueError as err:
            hint = " (a JSON array? write one object per line)" if line.lstrip()[:1] == "[" else ""
            raise InputTextError(name, number, f"not valid JSON ({err}){hint}") from None
        if not isinstance(obj, dict):
            raise InputTextError(
                name, number, f"expected a JSON object, got {_json_type(obj)}; one object per line"
            )
        if chosen is None:  # the first object decides the default keys
            chosen = _choose_columns(list(obj), name, number, is_pair, columns)
        yield TextRow(
            number,
            _json_text(obj, chosen.text, name, number),
            _json_text(obj, chosen.text_b, name, number) if chosen.text_b else None,
            _json_id(obj, chosen.id, name, number) if chosen.id else None,
        )


def _json_text(obj: dict[str, Any], key: str, name: str, line: int) -> str:
    if key not in obj:
        have = ", ".join(repr(k) for k in obj) or "none"
        raise InputTextError(name, line, f"no key {key!r} (keys: {have})")
    value = obj[key]
    if not isinstance(value, str):
        raise InputTextError(name, line, f"{key!r} is {_json_type(value)}, expected a string")
    return value


def _json_id(obj: dict[str, Any], key: str, name: str, line: int) -> Any:
    if key not in obj:
        have = ", ".join(repr(k) for k in obj) or "none"
        raise InputTextError(name, line, f"no key {key!r} (keys: {have})")
    value = obj[key]
    if isinstance(value, dict | list):
        raise InputTextError(
            name, line, f"{key!r} is {_json_type(value)}; an id is a string or a number"
        )
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


# === Writing ===
def label_and_score(prediction: Prediction, multilabel: bool) -> tuple[str, str]:
    """Multiclass: the label and its probability; multilabel: the labels over their
    thresholds and their probabilities, joined by "|" (both empty when none passes). An
    abstained text: the abstain label, and the top probability that fell short."""
    if prediction.abstained or not multilabel:
        return prediction.label, f"{prediction.score:.6f}"
    return (
        "|".join(item.label for item in prediction.decided),
        "|".join(f"{item.score:.6f}" for item in prediction.decided),
    )


def table_header(
    info: ModelInfo, id_column: str | None = None, top_k: int | None = None
) -> list[str]:
    """[id,] text(s), predicted label(s), probability, p(label)... (train.sh --do_predict's),
    then "abstained" where abstention is in force (info.abstention), then with ``top_k``
    top1_label, top1_probability, ... (k clipped to the labels)."""
    header = [id_column] if id_column else []
    header += ["text_a", "text_b"] if info.is_pair else ["text"]
    header.append(info.predicted_column)
    header += ["probability"] + [f"p({name})" for name in info.labels]
    if info.abstention is not None:
        header.append("abstained")
    for rank in range(1, _top_k_width(info, top_k) + 1):
        header += [f"top{rank}_label", f"top{rank}_probability"]
    return header


def table_fields(
    info: ModelInfo,
    text: str,
    text_b: str | None,
    prediction: Prediction,
    top_k: int | None = None,
) -> list[str]:
    """One row's cells under table_header (without the id)."""
    label, score = label_and_score(prediction, info.is_multilabel)
    texts = [text, text_b or ""] if info.is_pair else [text]
    fields = [*texts, label, score, *(f"{p:.6f}" for p in prediction.probabilities.values())]
    if info.abstention is not None:
        fields.append("true" if prediction.abstained else "false")
    if top_k is not None:
        for item in prediction.top_k(top_k):
            fields += [item.label, f"{item.probability:.6f}"]
    return fields


def _top_k_width(info: ModelInfo, top_k: int | None) -> int:
    """How many (label, probability) column pairs ``top_k`` adds: k, at most every label."""
    return 0 if top_k is None else min(top_k, len(info.labels))


def json_object(
    info: ModelInfo,
    row: TextRow,
    prediction: Prediction,
    id_column: str | None = None,
    top_k: int | None = None,
) -> dict[str, Any]:
    """One row as a JSONL object: the id, the text(s), the predicted label (multilabel: the
    list of labels over their thresholds), its probability (a list likewise) and every
    label's probability, rounded as the tables are (6 decimals); "abstained" where
    abstention is in force (an abstained text's predicted label is the abstain label:
    multilabel, a list of it, or empty for an empty label); with ``top_k``, "top_k":
    [{"label", "probability"}, ...] best first."""
    obj: dict[str, Any] = {id_column: row.id} if id_column else {}
    if info.is_pair:
        obj.update(text_a=row.text, text_b=row.text_b or "")
    else:
        obj["text"] = row.text
    column = info.predicted_column
    if info.is_multilabel and prediction.abstained:
        obj[column] = [prediction.label] if prediction.label else []
        obj["probability"] = [round(prediction.score, 6)] if prediction.label else []
    elif info.is_multilabel:
        obj[column] = [item.label for item in prediction.decided]
        obj["probability"] = [round(item.score, 6) for item in prediction.decided]
    else:
        obj[column] = prediction.label
        obj["probability"] = round(prediction.score, 6)
    obj["probabilities"] = {k: round(v, 6) for k, v in prediction.probabilities.items()}
    if info.abstention is not None:
        obj["abstained"] = bool(prediction.abstained)
    if top_k is not None:
        obj["top_k"] = [
            {"label": item.label, "probability": round(item.probability, 6)}
            for item in prediction.top_k(top_k)
        ]
    return obj


class PredictionWriter:
    """Writes predictions to ``out`` in ``output_format`` (tsv, csv or jsonl): the header
    first (tables), then rows as they come; ``top_k`` (None: none) adds each row's k most
    probable labels."""

    def __init__(
        self,
        out: TextIO,
        output_format: str,
        info: ModelInfo,
        id_column: str | None = None,
        top_k: int | None = None,
    ) -> None:
        if output_format not in OUTPUT_FORMATS[1:]:
            raise ValueError(f"unknown output format {output_format!r} (one of tsv, csv, jsonl)")
        if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
        self.out = out
        self.format = output_format
        self.info = info
        self.id_column = id_column
        self.top_k = top_k
        self.rows = 0
        self._table = None
        if output_format != "jsonl":
            delimiter = "\t" if output_format == "tsv" else ","
            self._table = csv.writer(out, delimiter=delimiter, lineterminator="\n")
            self._table.writerow(table_header(info, id_column, top_k))

    def write(
        self,
        rows: Sequence[TextRow],
        predictions: Sequence[Prediction],
        explanations: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        """``explanations`` (jsonl only): each row's Attributions (serving.explaining), whose
        fields join the row's object with the text's most probable label as ``label``."""
        if explanations is not None and self._table is not None:
            raise ValueError("explanations are written as JSON lines (output format jsonl)")
        for i, (row, prediction) in enumerate(zip(rows, predictions, strict=True)):
            if self._table is not None:
                ids = [_cell(row.id)] if self.id_column else []
                self._table.writerow(
                    ids + table_fields(self.info, row.text, row.text_b, prediction, self.top_k)
                )
            else:
                obj = json_object(self.info, row, prediction, self.id_column, self.top_k)
                if explanations is not None:
                    obj.setdefault("text", row.text)  # pairs: text_a's, as "text" too
                    obj["label"] = prediction.label
                    obj.update(explanation_fields(explanations[i]))
                self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.rows += len(rows)
        self.out.flush()


def _cell(value: Any) -> str:
    """An id as a table cell: strings as they are, JSON numbers as JSON writes them."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
