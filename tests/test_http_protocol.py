"""HTTP as the protocol prescribes: errors raised inside waitress come back as the app's JSON
shape with a 4xx, methods a route does not take get 405 with Allow, HEAD and OPTIONS work, and
GET /metrics exposes Prometheus metrics."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.support.samples import SERVING_TEXTS
from tests.support.serving import http_call

pytestmark = pytest.mark.slow  # a real server process


def raw_request(server, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are (malformed framing included); returns status, headers, body."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    "framing, field",
    [
        (b"Content-Length: twelve\r\n\r\n{}", "Content-Length"),
        (b"Transfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding"),
        (b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "body"),
    ],
)
def test_framing_errors_from_the_wsgi_server_are_json_4xx(http_server, framing, field):
    status, headers, body = raw_request(
        http_server, b"POST /predict HTTP/1.1\r\nHost: test\r\n" + framing
    )
    assert 400 <= status < 500
    assert headers["Content-Type"].startswith("application/json")
    reply = json.loads(body)
    assert reply["field"] == field and reply["error"].startswith(f"{field}: ")


def test_wrong_methods_get_405_with_allow_and_head_options_work(http_server):
    reply = http_call(http_server, "GET", "/predict")
    assert reply.status == 405 and "POST" in reply.headers["Allow"]
    assert reply.json()["field"] == "method"
    reply = http_call(http_server, "DELETE", "/health")
    assert reply.status == 405 and "GET" in reply.headers["Allow"]
    reply = http_call(http_server, "OPTIONS", "/predict")
    assert reply.status == 200 and "POST" in reply.headers["Allow"]
    reply = http_call(http_server, "HEAD", "/health")
    assert reply.status == 200 and reply.body == b""
    assert http_call(http_server, "GET", "/no/such/page").status == 404


def test_metrics_count_requests_errors_latency_and_batches(http_server):
    assert (
        http_call(http_server, "POST", "/predict", body={"texts": SERVING_TEXTS[:3]}).status == 200
    )
    http_call(http_server, "POST", "/predict", body={"texts": "not a list"})
    reply = http_call(http_server, "GET", "/metrics")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
    text = reply.body.decode("utf-8")
    assert 'zh_textclf_http_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'zh_textclf_http_errors_total{field="texts",status="400"}' in text
    assert 'zh_textclf_http_request_seconds_count{route="/predict"}' in text
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("zh_textclf_model_batch_texts_count")
    )
    assert count >= 1
