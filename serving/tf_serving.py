"""TF Serving's REST predict API (POST /v1/models/<name>:predict) over our signatures.

Row format: {"instances": [...]} -> {"predictions": [{output: value, ...}, ...]}; columnar
format: {"inputs": ...} -> {"outputs": {output: [...]}}; "signature_name" picks
serving_default (raw text; an instance is a string, {"text": ...} or, for pair models,
{"text": ..., "text_b": ...}) or predict_ids (google-research/bert's input_ids, input_mask,
segment_ids). Responses carry exactly the exported signature's outputs, so a client reads the
same JSON from this server and from TF Serving loading the same SavedModel.

One extension of this server's, not TF Serving's: an optional "top_k" (integer >= 1) adds
"top_k" ([{"label", "probability"}, ...], best first) to each prediction (columnar: an output
"top_k" with one such list per row). Likewise "abstain_threshold" (a number in [0, 1]) and
"abstain_label" answer at the request's own abstention (serving.abstention); the outputs then
hold "abstained" (as those of an export made with an abstain threshold always do). And
"min_labels" / "max_labels" (non-negative integers; multilabel models) answer at the request's
own label bounds (serving.label_bounds). Without them the response is exactly TF Serving's.
And a verb TF Serving does not have, :explain: the same request (raw texts) plus
"ig_steps", "ig_baseline" and "explain_label", answered with each text's word attributions
(serving.explaining).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.explaining import ExplainSettings
from serving.model_info import ModelInfo
from serving.prediction import top_k_labels
from serving.validation import (
    ABSTAIN_FIELDS,
    BOUNDS_FIELDS,
    EXPLAIN_OPTIONS,
    TOP_K,
    AbstainRequest,
    BoundsRequest,
    Limits,
    RequestError,
    TextBatch,
    check_list,
    check_text,
    json_type,
    parse_abstain,
    parse_bounds,
    parse_explain,
    parse_top_k,
    reject_unknown,
    require_object,
)

SERVING_DEFAULT = "serving_default"
PREDICT_IDS = "predict_ids"
SIGNATURES = (SERVING_DEFAULT, PREDICT_IDS)
ID_INPUTS = ("input_ids", "input_mask", "segment_ids")


@dataclass(frozen=True)
class IdBatch:
    """predict_ids inputs, padded to the longest row: int32 [batch, length] each."""

    input_ids: np.ndarray
    input_mask: np.ndarray
    segment_ids: np.ndarray


@dataclass(frozen=True)
class TFServingRequest:
    signature_name: str
    columnar: bool
    texts: TextBatch | None = None
    ids: IdBatch | None = None
    top_k: int | None = None
    abstain: AbstainRequest | None = None
    bounds: BoundsRequest | None = None
    explain: ExplainSettings | None = None


def parse_request(
    body: Any, info: ModelInfo, limits: Limits, explain: bool = False
) -> TFServingRequest:
    """A :predict request (``explain``: an :explain request, which also takes the
    explanation options of serving.validation.parse_explain)."""
    obj = require_object(body, "body")
    known = ("signature_name", "instances", "inputs", TOP_K, *ABSTAIN_FIELDS, *BOUNDS_FIELDS)
    if explain:
        known += EXPLAIN_OPTIONS
    reject_unknown(obj, known)
    settings = parse_explain(obj, info.labels, always=True) if explain else None
    top_k = parse_top_k(obj)
    abstain = parse_abstain(obj)
    bounds = parse_bounds(obj)
    signature = obj.get("signature_name", SERVING_DEFAULT)
    if signature not in SIGNATURES:
        shown = signature if isinstance(signature, str) else json_type(signature)
        raise RequestError("signature_name", f"{shown!r} is not one of {list(SIGNATURES)}")
    if "instances" in obj and "inputs" in obj:
        raise RequestError(
            "inputs", 'send "instances" (row format) or "inputs" (columnar), not both'
        )
    if "instances" not in obj and "inputs" not in obj:
        raise RequestError("instances", 'required field is missing (or send "inputs")')
    columnar = "inputs" in obj
    names = info.input_names if signature == SERVING_DEFAULT else ID_INPUTS
    columns = (
        _columns(obj["inputs"], names, limits)
        if columnar
        else _rows(check_list(obj["instances"], "instances", limits), names)
    )
    if signature == SERVING_DEFAULT:
        texts = {
            name: [check_text(v, f, limits) for v, f in items] for name, items in columns.items()
        }
        return TFServingRequest(
            signature,
            columnar,
            texts=TextBatch(texts["text"], texts.get("text_b")),
            top_k=top_k,
            abstain=abstain,
            bounds=bounds,
            explain=settings,
        )
    ids = _id_batch(columns, info)
    return TFServingRequest(
        signature, columnar, ids=ids, top_k=top_k, abstain=abstain, bounds=bounds
    )


Column = list[tuple[Any, str]]  # (value, field name for errors)


def _rows(instances: list, names: tuple[str, ...]) -> dict[str, Column]:
    """Row format -> one column per input; a bare value is allowed for a single input."""
    columns: dict[str, Column] = {name: [] for name in names}
    for i, instance in enumerate(instances):
        field = f"instances[{i}]"
        if len(names) == 1 and not isinstance(instance, dict):
            columns[names[0]].append((instance, field))
            continue
        if not isinstance(instance, dict):
            raise RequestError(
                field, f"expected an object with {list(names)}, got {json_type(instance)}"
            )
        reject_unknown(instance, names, prefix=f"{field}.")
        for name in names:
            if name not in instance:
                raise RequestError(f"{field}.{name}", "required field is missing")
            columns[name].append((instance[name], f"{field}.{name}"))
    return columns


def _columns(inputs: Any, names: tuple[str, ...], limits: Limits) -> dict[str, Column]:
    """Columnar format: {"name": [...], ...}, or a bare list for a single input."""
    if len(names) == 1 and isinstance(inputs, list):
        inputs = {names[0]: inputs}
    if not isinstance(inputs, dict):
        raise RequestError(
            "inputs", f"expected an object with {list(names)}, got {json_type(inputs)}"
        )
    reject_unknown(inputs, names, prefix="inputs.")
    columns: dict[str, Column] = {}
    for name in names:
        if name not in inputs:
            raise RequestError(f"inputs.{name}", "required field is missing")
        values = check_list(inputs[name], f"inputs.{name}", limits)
        columns[name] = [(v, f"inputs.{name}[{i}]") for i, v in enumerate(values)]
    sizes = {len(column) for column in columns.values()}
    if len(sizes) > 1:
        raise RequestError(
            f"inputs.{names[-1]}", f"all inputs need the same batch size, got {sorted(sizes)}"
        )
    return columns


def _id_batch(columns: dict[str, Column], info: ModelInfo) -> IdBatch:
    """Checks every id against the model's vocab / segment sizes, then pads to the longest row."""
    bounds = {
        "input_ids": int(info.metadata.get("vocab_size", 2**31 - 1)),
        "input_mask": 2,
        "segment_ids": int(info.metadata.get("type_vocab_size", 2)),
    }
    rows = list(zip(*(columns[name] for name in ID_INPUTS), strict=True))
    width = 0
    for row in rows:
        lengths = set()
        for name, (value, field) in zip(ID_INPUTS, row, strict=True):
            if not isinstance(value, list) or not value:
                raise RequestError(
                    field, f"expected a non-empty array of integers, got {json_type(value)}"
                )
            if len(value) > info.max_seq_length:
                raise RequestError(
                    field, f"{len(value)} ids is over max_seq_length {info.max_seq_length}"
                )
            for j, item in enumerate(value):
                if type(item) is not int or not 0 <= item < bounds[name]:
                    raise RequestError(
                        f"{field}[{j}]", f"expected an integer in [0, {bounds[name]}), got {item!r}"
                    )
            lengths.add(len(value))
        if len(lengths) > 1:
            raise RequestError(
                row[0][1],
                f"input_ids, input_mask and segment_ids lengths differ: {sorted(lengths)}",
            )
        width = max(width, lengths.pop())
    arrays = {name: np.zeros((len(rows), width), np.int32) for name in ID_INPUTS}
    for r, row in enumerate(rows):
        for name, (value, _) in zip(ID_INPUTS, row, strict=True):
            arrays[name][r, : len(value)] = value
    return IdBatch(**arrays)


OUTPUT_ORDER = ("label", "score", "labels", "predicted", "abstained", "probabilities", "logits")


def format_response(
    outputs: dict[str, np.ndarray],
    columnar: bool,
    top_k: int | None = None,
    labels: tuple[str, ...] = (),
) -> dict[str, Any]:
    """TF Serving's response: {"predictions": [{...}, ...]} or {"outputs": {...}}, outputs in
    a fixed order (label and score first) for readable replies; ``top_k`` (with the model's
    ``labels``) adds "top_k" last."""
    names = sorted(outputs, key=lambda n: (OUTPUT_ORDER.index(n) if n in OUTPUT_ORDER else 99, n))
    lists = {name: outputs[name].tolist() for name in names}
    if top_k is not None:
        lists[TOP_K] = [
            [item.to_dict() for item in top_k_labels(row, labels, top_k)]
            for row in outputs["probabilities"]
        ]
    if columnar:
        return {"outputs": lists}
    count = len(next(iter(lists.values()))) if lists else 0
    return {"predictions": [{name: lists[name][i] for name in lists} for i in range(count)]}
