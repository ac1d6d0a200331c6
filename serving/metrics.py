"""Prometheus metrics of the HTTP server (GET /metrics, the text exposition format).

Requests by route and status, errors by field, request latency, and the sizes of the batches
the model actually ran (after micro-batching). Each app gets its own registry, so several apps
in one process (the tests) never clash over metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "zh_textclf_http_requests",
            "HTTP requests answered, by route and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "zh_textclf_http_errors",
            "Error responses, by the request field they name",
            ["field", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zh_textclf_http_request_seconds",
            "Time from request received to response ready, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "zh_textclf_model_batch_texts",
            "Texts per model call (micro-batches of several requests)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "zh_textclf_model_batch_seconds",
            "Time of one model call",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_batch(self, texts: int, seconds: float) -> None:
        self.batch_size.observe(texts)
        self.batch_seconds.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
