"""POST /predict_file: a file of texts in (a multipart form), a file of predictions out.

The formats and columns are serving.text_io's, as predict.sh reads and writes them. A file
that does not fit is a 400 naming its line (``field`` "file"); the form's other fields are
named like predict.sh's flags without the dashes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePath

from flask import Request

from serving.text_io import (
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    Columns,
    InputTextError,
    TextRow,
    input_format_for,
    read_text_rows,
)
from serving.validation import TOP_K, Limits, RequestError, reject_unknown

FILE_FIELD = "file"
FORM_FIELDS = ("input_format", "output_format", "text_column", "text_b_column", "id_column", TOP_K)
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class Upload:
    """An uploaded file and how to read it (formats resolved: never "auto")."""

    name: str
    data: bytes
    input_format: str
    output_format: str
    columns: Columns
    top_k: int | None = None

    @property
    def download_name(self) -> str:
        """reviews.csv -> reviews.predictions.csv (the output format's extension)."""
        stem = PurePath(self.name).stem or "texts"
        return f"{stem}.predictions.{self.output_format}"


def parse_upload(request: Request, limits: Limits) -> Upload:
    """The form of a POST /predict_file: ``file`` and the optional format and column fields."""
    if request.mimetype != "multipart/form-data":
        raise RequestError(
            "Content-Type",
            f"expected multipart/form-data (a form with a {FILE_FIELD!r} field), got "
            f"{request.content_type or 'none'}",
            415,
        )
    length = request.content_length
    if length is not None and length > limits.max_body_bytes:
        raise RequestError(
            "body", f"{length} bytes is over the limit of {limits.max_body_bytes} bytes", 413
        )
    reject_unknown({**request.form, **request.files}, (FILE_FIELD, *FORM_FIELDS))
    upload = request.files.get(FILE_FIELD)
    if upload is None:
        raise RequestError(FILE_FIELD, "required field is missing: attach the file of texts")
    name = _display_name(upload.filename)
    form = {key: request.form.get(key, "").strip() or None for key in FORM_FIELDS}
    input_format = _choice(form["input_format"], INPUT_FORMATS, "input_format")
    output_format = _choice(form["output_format"], OUTPUT_FORMATS, "output_format")
    input_format = input_format_for(name, input_format)
    if output_format == "auto":  # the format it came in (plain lines come back as TSV)
        output_format = input_format if input_format in OUTPUT_FORMATS else "tsv"
    columns = Columns(form["text_column"], form["text_b_column"], form["id_column"])
    top_k = _form_top_k(form[TOP_K])
    return Upload(name, upload.read(), input_format, output_format, columns, top_k)


def read_upload_rows(upload: Upload, is_pair: bool, limits: Limits) -> list[TextRow]:
    """Every row of the file, or a RequestError naming the line that does not fit (a text
    over --max_text_chars included) or the row over --max_file_rows."""
    rows = []
    try:
        for row in read_text_rows(
            io.BytesIO(upload.data), upload.name, upload.input_format, is_pair, upload.columns
        ):
            if len(rows) == limits.max_file_rows:
                raise RequestError(
                    FILE_FIELD,
                    f"{upload.name}:{row.line}: more than {limits.max_file_rows} texts; "
                    "predict.sh takes files of any size",
                    413,
                )
            for text in (row.text, row.text_b or ""):
                if len(text) > limits.max_text_chars:
                    raise RequestError(
                        FILE_FIELD,
                        f"{upload.name}:{row.line}: {len(text)} characters is over the limit "
                        f"of {limits.max_text_chars}",
                    )
            rows.append(row)
    except InputTextError as err:
        raise RequestError(FILE_FIELD, str(err)) from None
    if not rows:
        raise RequestError(FILE_FIELD, f"{upload.name}: no texts in the file")
    return rows


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value is None:
        return "auto"
    if value not in allowed:
        raise RequestError(field, f"{value!r} is not one of {list(allowed)}")
    return value


def _form_top_k(value: str | None) -> int | None:
    """A form's top_k: decimal digits naming an integer >= 1 (forms carry strings only; nine
    digits at most, far over any label count, so int() never meets a huge string)."""
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise RequestError(TOP_K, f"expected an integer >= 1, got {value[:40]!r}")
    return int(value)


def _display_name(filename: str | None) -> str:
    """The upload's file name without folders or control characters (it appears in error
    messages and in the name of the file sent back)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = UNSAFE_NAME.sub("_", name).strip()[:120]
    return name or "upload"
