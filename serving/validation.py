"""HTTP request checking: every malformed request becomes a RequestError naming its field.

Errors are answered as ``{"error": "<field>: <message>", "field": "<field>"}`` with a 4xx
status (the "error" string is what TF Serving's REST API returns, so its clients read it too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Request

from serving.explaining import (
    BASELINES,
    DEFAULT_BASELINE,
    DEFAULT_IG_STEPS,
    MAX_IG_STEPS,
    ExplainSettings,
)

JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


@dataclass(frozen=True)
class Limits:
    """Request limits (serve.sh flags --max_texts, --max_text_chars, --max_body_bytes,
    --max_file_rows, --max_explain_texts)."""

    max_texts: int = 64
    max_text_chars: int = 10_000
    max_body_bytes: int = 1 << 20
    max_file_rows: int = 10_000
    max_explain_texts: int = 8  # an explanation costs ig_steps forward and backward passes

    def to_dict(self) -> dict[str, int]:
        return {
            "max_texts": self.max_texts,
            "max_text_chars": self.max_text_chars,
            "max_body_bytes": self.max_body_bytes,
            "max_file_rows": self.max_file_rows,
            "max_explain_texts": self.max_explain_texts,
        }


class RequestError(Exception):
    """A bad request: the field it names, why, its status (and for 405 the allowed methods)."""

    def __init__(
        self, field: str, message: str, status: int = 400, allow: str | None = None
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status
        self.allow = allow

    def to_dict(self) -> dict[str, Any]:
        return {"error": f"{self.field}: {self.message}", "field": self.field}


@dataclass(frozen=True)
class TextBatch:
    """Validated texts of one request (texts_b for pair models)."""

    texts: list[str]
    texts_b: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)


def json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


# === The body ===
def read_json_body(request: Request, limits: Limits, lenient_content_type: bool = False) -> Any:
    """The parsed JSON body. ``lenient_content_type`` also takes no Content-Type and curl -d's
    form type, as TF Serving does (it reads every body as JSON)."""
    mimetype = request.mimetype
    accepted = mimetype == "application/json" or (
        lenient_content_type and mimetype in ("", "application/x-www-form-urlencoded")
    )
    if not accepted:
        raise RequestError(
            "Content-Type",
            f"expected application/json, got {request.content_type or 'none'}",
            415,
        )
    length = request.content_length
    if length is not None and length > limits.max_body_bytes:
        raise RequestError("body", _too_large(length, limits), 413)
    data = request.get_data(cache=False)
    if len(data) > limits.max_body_bytes:
        raise RequestError("body", _too_large(len(data), limits), 413)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError("body", f"not valid UTF-8 at byte {err.start}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise RequestError("body", "JSON nested too deeply") from None
    except ValueError as err:
        raise RequestError("body", f"invalid JSON ({err})") from None


def _too_large(size: int, limits: Limits) -> str:
    return f"{size} bytes is over the limit of {limits.max_body_bytes} bytes"


# === Fields ===
def require_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(field, f"expected a JSON object, got {json_type(value)}")
    return value


def reject_unknown(obj: dict[str, Any], known: tuple[str, ...], prefix: str = "") -> None:
    for key in obj:
        if key not in known:
            expected = ", ".join(repr(k) for k in known)
            raise RequestError(f"{prefix}{key}", f"unknown field (expected {expected})")


def require_list(obj: dict[str, Any], key: str, limits: Limits, field: str | None = None) -> list:
    field = field or key
    if key not in obj:
        raise RequestError(field, "required field is missing")
    return check_list(obj[key], field, limits)


def check_list(value: Any, field: str, limits: Limits) -> list:
    if not isinstance(value, list):
        raise RequestError(field, f"expected an array, got {json_type(value)}")
    if not value:
        raise RequestError(field, "must not be empty")
    if len(value) > limits.max_texts:
        raise RequestError(field, f"{len(value)} items is over the limit of {limits.max_texts}")
    return value


def check_text(value: Any, field: str, limits: Limits) -> str:
    if not isinstance(value, str):
        raise RequestError(field, f"expected a string, got {json_type(value)}")
    if len(value) > limits.max_text_chars:
        raise RequestError(
            field, f"{len(value)} characters is over the limit of {limits.max_text_chars}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        message = f"not valid Unicode (lone surrogate at character {err.start})"
        raise RequestError(field, message) from None
    return value


TOP_K = "top_k"


def parse_top_k(obj: dict[str, Any]) -> int | None:
    """The optional "top_k" of a request body: an integer >= 1 (a boolean, a float such as
    1.5 or 3.0, a string or null is refused); None when absent. A k over the number of
    labels is clipped later, not refused, as predict.sh --top_k is."""
    if TOP_K not in obj:
        return None
    return check_top_k(obj[TOP_K], TOP_K)


def check_top_k(value: Any, field: str) -> int:
    if type(value) is not int:
        raise RequestError(field, f"expected an integer >= 1, got {json_type(value)}")
    if value < 1:
        raise RequestError(field, f"must be an integer >= 1, got {value}")
    return value


ABSTAIN_THRESHOLD = "abstain_threshold"
ABSTAIN_LABEL = "abstain_label"
ABSTAIN_FIELDS = (ABSTAIN_THRESHOLD, ABSTAIN_LABEL)


@dataclass(frozen=True)
class AbstainRequest:
    """A request's own abstention (serving.abstention.resolve puts it over the export's)."""

    threshold: float | None = None
    label: str | None = None


def parse_abstain(obj: dict[str, Any]) -> AbstainRequest | None:
    """The optional "abstain_threshold" (a number in [0, 1]; 0 switches abstention off) and
    "abstain_label" (a string of at most 200 characters) of a request body; None when
    neither is there."""
    if ABSTAIN_THRESHOLD not in obj and ABSTAIN_LABEL not in obj:
        return None
    threshold = obj.get(ABSTAIN_THRESHOLD)
    if ABSTAIN_THRESHOLD in obj:
        if type(threshold) not in (int, float):
            raise RequestError(
                ABSTAIN_THRESHOLD, f"expected a number in [0, 1], got {json_type(threshold)}"
            )
        if not 0 <= threshold <= 1:  # NaN fails this too
            raise RequestError(ABSTAIN_THRESHOLD, f"must be a number in [0, 1], got {threshold}")
    label = obj.get(ABSTAIN_LABEL)
    if ABSTAIN_LABEL in obj:
        if not isinstance(label, str):
            raise RequestError(ABSTAIN_LABEL, f"expected a string, got {json_type(label)}")
        if len(label) > 200:
            raise RequestError(ABSTAIN_LABEL, f"{len(label)} characters is over the limit of 200")
        check_text(label, ABSTAIN_LABEL, Limits())
    return AbstainRequest(None if threshold is None else float(threshold), label)


MIN_LABELS = "min_labels"
MAX_LABELS = "max_labels"
BOUNDS_FIELDS = (MIN_LABELS, MAX_LABELS)


@dataclass(frozen=True)
class BoundsRequest:
    """A request's own multilabel bounds (serving.label_bounds.resolve puts them over the
    export's)."""

    min_labels: int | None = None
    max_labels: int | None = None


def parse_bounds(obj: dict[str, Any]) -> BoundsRequest | None:
    """The optional "min_labels" and "max_labels" of a request body: non-negative integers
    (a boolean, a float, a string or null is refused); None when neither is there."""
    if MIN_LABELS not in obj and MAX_LABELS not in obj:
        return None
    values = {}
    for field in BOUNDS_FIELDS:
        if field not in obj:
            continue
        value = obj[field]
        if type(value) is not int:
            raise RequestError(field, f"expected an integer >= 0, got {json_type(value)}")
        if value < 0:
            raise RequestError(field, f"must be an integer >= 0, got {value}")
        values[field] = value
    return BoundsRequest(values.get(MIN_LABELS), values.get(MAX_LABELS))


EXPLAIN = "explain"
IG_STEPS = "ig_steps"
IG_BASELINE = "ig_baseline"
EXPLAIN_LABEL = "explain_label"
EXPLAIN_OPTIONS = (IG_STEPS, IG_BASELINE, EXPLAIN_LABEL)
EXPLAIN_FIELDS = (EXPLAIN, *EXPLAIN_OPTIONS)


def parse_explain(
    obj: dict[str, Any], labels: tuple[str, ...], always: bool = False
) -> ExplainSettings | None:
    """A request's explanation settings: "explain" (a boolean; ``always``: the route
    explains anyway), "ig_steps" (an integer from 1 to 1000), "ig_baseline" ("pad" or
    "mask") and "explain_label" (one of the model's ``labels``); None when not explaining
    (the options without "explain": true are refused, naming the option)."""
    asked = obj.get(EXPLAIN, False)
    if EXPLAIN in obj and type(asked) is not bool:
        raise RequestError(EXPLAIN, f"expected true or false, got {json_type(asked)}")
    if not (asked or always):
        for option in EXPLAIN_OPTIONS:
            if option in obj:
                raise RequestError(option, 'goes with "explain": true')
        return None
    steps = obj.get(IG_STEPS, DEFAULT_IG_STEPS)
    if type(steps) is not int or not 1 <= steps <= MAX_IG_STEPS:
        got = steps if type(steps) is int else json_type(steps)
        raise RequestError(IG_STEPS, f"expected an integer from 1 to {MAX_IG_STEPS}, got {got}")
    baseline = obj.get(IG_BASELINE, DEFAULT_BASELINE)
    if baseline not in BASELINES:
        got = repr(baseline) if isinstance(baseline, str) else json_type(baseline)
        raise RequestError(IG_BASELINE, f"expected one of {list(BASELINES)}, got {got}")
    label = obj.get(EXPLAIN_LABEL)
    if EXPLAIN_LABEL in obj and (not isinstance(label, str) or label not in labels):
        got = repr(label) if isinstance(label, str) else json_type(label)
        raise RequestError(EXPLAIN_LABEL, f"expected one of the model's labels, got {got}")
    return ExplainSettings(steps, baseline, label)


def check_explain_size(count: int, limits: Limits, field: str) -> None:
    if count > limits.max_explain_texts:
        raise RequestError(
            field,
            f"{count} texts to explain is over the limit of {limits.max_explain_texts} per "
            "request (serve.sh --max_explain_texts)",
            413,
        )


# === POST /predict ===
def check_not_empty(value: str, field: str) -> str:
    """/predict's texts must hold something to classify: an empty or whitespace-only text is
    a mistake there (TF Serving's route keeps the export's defined "no text" prediction)."""
    if not value.strip():
        what = "whitespace only" if value else "empty"
        raise RequestError(field, f"the text is {what}: there is nothing to classify")
    return value


def parse_predict(body: Any, is_pair: bool, limits: Limits) -> TextBatch:
    """{"texts": [str, ...]} for single-text models, {"pairs": [[a, b], ...]} for pair models
    (text_b may be empty: the pair is read as one text); an optional "top_k" is
    parse_top_k's, "abstain_threshold" and "abstain_label" parse_abstain's, "min_labels" and
    "max_labels" parse_bounds'."""
    obj = require_object(body, "body")
    reject_unknown(obj, ("texts", "pairs", TOP_K, *ABSTAIN_FIELDS, *BOUNDS_FIELDS, *EXPLAIN_FIELDS))
    if not is_pair:
        if "pairs" in obj:
            raise RequestError("pairs", 'this model takes single texts: send "texts": [...]')
        items = require_list(obj, "texts", limits)
        return TextBatch(
            [
                check_not_empty(check_text(v, f"texts[{i}]", limits), f"texts[{i}]")
                for i, v in enumerate(items)
            ]
        )
    if "texts" in obj:
        raise RequestError("texts", 'this model classifies pairs: send "pairs": [[a, b], ...]')
    items = require_list(obj, "pairs", limits)
    texts, texts_b = [], []
    for i, pair in enumerate(items):
        if not isinstance(pair, list) or len(pair) != 2:
            got = f"{len(pair)} items" if isinstance(pair, list) else json_type(pair)
            raise RequestError(f"pairs[{i}]", f"expected [text_a, text_b], got {got}")
        texts.append(
            check_not_empty(check_text(pair[0], f"pairs[{i}][0]", limits), f"pairs[{i}][0]")
        )
        texts_b.append(check_text(pair[1], f"pairs[{i}][1]", limits))
    return TextBatch(texts, texts_b)
