"""The Flask application: /predict (with "explain": true, each prediction's word
attributions), /predict_file (a file of texts in, a file of predictions out), TF Serving's
/v1/models/<name>:predict and this server's :explain in its style, /health, /metadata,
Prometheus /metrics and the web page at /. Thin over the ModelHolder (which version) and the
MicroBatcher (when).

Every error is JSON, ``{"error": "<field>: <message>", "field": "<field>"}``: malformed requests
get a 4xx naming the field, never a 5xx. A method a route does not take gets 405 with the
``Allow`` header (HEAD and OPTIONS are answered for every route, as HTTP prescribes).
"""

from __future__ import annotations

import concurrent.futures
import io
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request, send_file, send_from_directory
from werkzeug.exceptions import HTTPException

from classifier.iteration import chunks
from serving import label_bounds, tf_serving
from serving.abstention import resolve
from serving.batcher import MicroBatcher, ShuttingDown
from serving.explaining import ExplainUnavailable, explanation_fields
from serving.inputs import InputError
from serving.metrics import ServerMetrics
from serving.model_holder import LoadedModel, ModelHolder
from serving.prediction import predictions_from_outputs
from serving.text_io import MEDIA_TYPES, PredictionWriter
from serving.uploads import parse_upload, read_upload_rows
from serving.validation import (
    AbstainRequest,
    BoundsRequest,
    Limits,
    RequestError,
    TextBatch,
    check_explain_size,
    parse_abstain,
    parse_bounds,
    parse_explain,
    parse_predict,
    parse_top_k,
    read_json_body,
)

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
# /v1/models/<name>[/versions/<v>][/metadata | :<verb>]
TF_SERVING_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<rest>/metadata|:[^/]*)?$"
)
HTTP_FIELDS = {400: "body", 404: "path", 405: "method", 413: "body", 415: "Content-Type"}


@dataclass
class ServerState:
    """Shared with the WSGI server: set while draining on shutdown (/health answers 503)."""

    draining: threading.Event = field(default_factory=threading.Event)
    request_timeout: float = 60.0


def create_app(
    holder: ModelHolder,
    batcher: MicroBatcher,
    limits: Limits,
    model_name: str,
    state: ServerState | None = None,
    metrics: ServerMetrics | None = None,
) -> Flask:
    state = state or ServerState()
    metrics = metrics or ServerMetrics()
    if batcher.on_batch is None:
        batcher.on_batch = metrics.observe_batch
    app = Flask(__name__, static_folder=str(WEB_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes
    app.json.ensure_ascii = False  # Chinese labels stay readable in curl output
    app.json.sort_keys = False

    def model_metadata(model: LoadedModel) -> dict[str, Any]:
        return {
            "model_name": model_name,
            "model_version": model.version,
            **model.predictor.info.to_dict(),
            "explain": bool(getattr(model.predictor, "can_explain", False)),
            "limits": limits.to_dict(),
            "batching": batcher.stats(),
        }

    def run_texts(batch) -> tuple[LoadedModel, dict]:
        result = batcher.predict(batch, timeout=state.request_timeout)
        return result.model, result.outputs

    def abstained(model: LoadedModel, outputs: dict, asked: AbstainRequest | None) -> dict:
        """The outputs at the request's own abstention (none asked: as the export made them)."""
        if asked is None:
            return outputs
        predictor = model.predictor
        try:
            setting = resolve(predictor.info.abstention, asked.threshold, asked.label)
        except ValueError as err:
            raise RequestError("abstain_label", str(err)) from None
        return predictor.abstain(outputs, setting)

    def bounded(model: LoadedModel, outputs: dict, asked: BoundsRequest | None) -> dict:
        """The outputs at the request's own label bounds (none asked: the export's)."""
        if asked is None:
            return outputs
        info = model.predictor.info
        try:
            bounds = label_bounds.resolve(
                info.label_bounds, asked.min_labels, asked.max_labels, len(info.labels)
            )
        except label_bounds.BoundsError as err:
            raise RequestError(err.field, str(err)) from None
        return info.bound(outputs, bounds)

    def explained(model: LoadedModel, batch: TextBatch, predictions: list, settings) -> list:
        """Each prediction's attributions (serving.explaining), computed on this request's
        thread: an explanation is ig_steps passes, not a micro-batch's one."""
        try:
            return model.predictor.explain(batch.texts, batch.texts_b, predictions, settings)
        except ExplainUnavailable as err:
            raise RequestError("explain", str(err)) from None

    # === Metrics ===
    @app.before_request
    def started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def measured(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        if "started" in g:
            metrics.latency.labels(route).observe(time.perf_counter() - g.started)
        if response.status_code >= 400 and response.is_json:
            field_name = (response.get_json(silent=True) or {}).get("field", "request")
            metrics.errors.labels(field_name, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), mimetype=metrics.content_type)

    # === Pages and status ===
    @app.get("/")
    def index() -> Response:
        response = send_from_directory(WEB_DIR, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/health")
    def health():
        model = holder.current
        status = {"model_name": model_name, "model_version": model.version}
        if state.draining.is_set():
            return {"status": "shutting_down", **status}, 503
        return {"status": "ok", **status}

    @app.get("/metadata")
    def metadata():
        return model_metadata(holder.current)

    # === Prediction ===
    @app.post("/predict")
    def predict():
        body = read_json_body(request, limits)
        info = holder.current.predictor.info
        batch = parse_predict(body, info.is_pair, limits)
        top_k = parse_top_k(body)
        asked = parse_abstain(body)
        bounds = parse_bounds(body)
        explain = parse_explain(body, info.labels)
        if explain is not None:
            check_explain_size(len(batch), limits, "pairs" if info.is_pair else "texts")
        model, outputs = run_texts(batch)
        outputs = bounded(model, abstained(model, outputs, asked), bounds)
        predictions = predictions_from_outputs(outputs, model.predictor.info)
        answers = [p.to_dict(top_k) for p in predictions]
        if explain is not None:
            for answer, attributions in zip(
                answers, explained(model, batch, predictions, explain), strict=True
            ):
                answer.update(explanation_fields(attributions))
        return {
            "model_name": model_name,
            "model_version": model.version,
            "predictions": answers,
        }

    @app.post("/predict_file")
    def predict_file() -> Response:
        """The upload's rows through the batcher a batch at a time (other requests are served
        in between), all on one model version; the predictions come back as a download."""
        upload = parse_upload(request, limits)
        model = holder.current
        info = model.predictor.info
        rows = read_upload_rows(upload, info.is_pair, limits)
        out = io.StringIO()
        writer = PredictionWriter(out, upload.output_format, info, upload.columns.id, upload.top_k)
        for chunk in chunks(rows, batcher.max_batch_size):
            texts_b = [row.text_b or "" for row in chunk] if info.is_pair else None
            ran, outputs = run_texts(TextBatch([row.text for row in chunk], texts_b))
            if ran.version != model.version:
                message = (
                    f"version {ran.version} replaced version {model.version} while the file "
                    "was predicted; send it again"
                )
                raise RequestError("file", message, 409)
            writer.write(chunk, predictions_from_outputs(outputs, info))
        response = send_file(
            io.BytesIO(out.getvalue().encode("utf-8")),
            mimetype=MEDIA_TYPES[upload.output_format],
            as_attachment=True,
            download_name=upload.download_name,
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Model-Version"] = str(model.version)
        response.headers["X-Predicted-Rows"] = str(writer.rows)
        return response

    @app.route("/v1/models/<path:target>", methods=["GET", "POST"])
    def tf_serving_api(target: str):
        match = TF_SERVING_PATH.match(target)
        if match is None:
            raise RequestError("path", f"unknown path /v1/models/{target}", 404)
        model = holder.current
        if match["name"] != model_name:
            raise RequestError(
                "model_name", f"no model {match['name']!r}; this server serves {model_name!r}", 404
            )
        if match["version"] is not None and match["version"] != str(model.version):
            raise RequestError(
                "version",
                f"version {match['version']} is not loaded (serving {model.version})",
                404,
            )
        rest = match["rest"]
        if request.method == "GET":
            if rest is None:
                return tf_serving_status(model)
            if rest == "/metadata":
                return {
                    "model_spec": {
                        "name": model_name,
                        "signature_name": "",
                        "version": str(model.version),
                    },
                    "metadata": model_metadata(model),
                }
            raise RequestError("method", f"use POST for {rest}", 405, allow="POST, OPTIONS")
        if rest == ":explain":
            return tf_serving_explain(model)
        if rest != ":predict":
            raise RequestError(
                "path", f"{rest or 'no verb'}: only :predict and :explain are served", 404
            )
        return tf_serving_predict(model)

    def tf_serving_status(model: LoadedModel) -> dict[str, Any]:
        state_name = "UNLOADING" if state.draining.is_set() else "AVAILABLE"
        return {
            "model_version_status": [
                {
                    "version": str(model.version),
                    "state": state_name,
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }

    def tf_serving_predict(model: LoadedModel) -> dict[str, Any]:
        body = read_json_body(request, limits, lenient_content_type=True)
        parsed = tf_serving.parse_request(body, model.predictor.info, limits)
        if parsed.ids is not None:
            ids = parsed.ids
            outputs = model.predictor.run_ids(ids.input_ids, ids.input_mask, ids.segment_ids)
        else:
            model, outputs = run_texts(parsed.texts)
        outputs = bounded(model, abstained(model, outputs, parsed.abstain), parsed.bounds)
        labels = model.predictor.info.labels
        return tf_serving.format_response(outputs, parsed.columnar, parsed.top_k, labels)

    def tf_serving_explain(model: LoadedModel) -> dict[str, Any]:
        """:predict's request (raw texts, row or columnar format) with the explanation
        options; {"explanations": [...]}: per text, :predict's outputs for it (label, score,
        labels, probabilities) and its attributions (explained_label, words, tokens)."""
        body = read_json_body(request, limits, lenient_content_type=True)
        info = model.predictor.info
        parsed = tf_serving.parse_request(body, info, limits, explain=True)
        if parsed.texts is None:
            raise RequestError("signature_name", "explanations take raw texts (serving_default)")
        check_explain_size(len(parsed.texts), limits, "inputs" if parsed.columnar else "instances")
        model, outputs = run_texts(parsed.texts)
        outputs = bounded(model, abstained(model, outputs, parsed.abstain), parsed.bounds)
        predictions = predictions_from_outputs(outputs, model.predictor.info)
        attributions = explained(model, parsed.texts, predictions, parsed.explain)
        return {
            "model_name": model_name,
            "model_version": model.version,
            "explanations": [
                {**p.to_dict(parsed.top_k), **explanation_fields(a)}
                for p, a in zip(predictions, attributions, strict=True)
            ],
        }

    # === Errors: always JSON ===
    @app.errorhandler(RequestError)
    def request_error(err: RequestError):
        response = jsonify(err.to_dict())
        response.status_code = err.status
        if err.allow:
            response.headers["Allow"] = err.allow
        return response

    @app.errorhandler(InputError)
    def input_error(err: InputError):  # a reload changed the model under a validated request
        return jsonify(RequestError("texts", str(err), 409).to_dict()), 409

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        name = HTTP_FIELDS.get(err.code or 500, "request")
        response = jsonify(RequestError(name, err.description or err.name).to_dict())
        response.status_code = err.code or 500
        for key, value in err.get_headers():  # 405: Allow lists the route's methods
            if key.lower() == "allow":
                response.headers["Allow"] = value
        return response

    @app.errorhandler(ShuttingDown)
    def shutting_down(err: ShuttingDown):
        return jsonify(RequestError("server", str(err), 503).to_dict()), 503

    @app.errorhandler(concurrent.futures.TimeoutError)
    def timed_out(err: Exception):
        message = f"no result within {state.request_timeout:g}s"
        return jsonify(RequestError("server", message, 503).to_dict()), 503

    @app.errorhandler(Exception)
    def internal_error(err: Exception):
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(
            RequestError("server", f"internal error ({type(err).__name__})").to_dict()
        ), 500

    return app
