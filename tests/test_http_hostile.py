"""The server holds under hostile or broken clients (serving/server.py): connections that
trickle their headers do not starve /health and are timed out with a 408, connections past the
limit are refused at once with a 503, Content-Length with Transfer-Encoding is refused, and a
body over the limit sent whole by urllib gets its 413 JSON instead of a connection reset.

Every connection goes to 127.0.0.1, bounded in count and time."""

from __future__ import annotations

import json
import resource
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.support.serving import ServerProcess, http_call

pytestmark = pytest.mark.slow  # real server processes

TRICKLING = 500
HEADER_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def guarded_server(serving_models, tmp_path_factory):
    log = tmp_path_factory.mktemp("guarded") / "serve.log"
    server = ServerProcess(
        serving_models["multiclass"].export_dir,
        log,
        f"--header_timeout={HEADER_TIMEOUT}",  # the default --connection_limit (1000) holds
        "--poll_seconds=0",
    )
    yield server
    server.stop()


def address(server) -> tuple[str, int]:
    url = urlsplit(server.url)
    return url.hostname, url.port


def timed_health(server) -> float:
    started = time.perf_counter()
    reply = http_call(server, "GET", "/health")
    assert reply.status == 200
    return time.perf_counter() - started


def read_reply(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return reply


def test_health_answers_while_hundreds_of_connections_trickle_their_headers(guarded_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < TRICKLING + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, TRICKLING + 200), hard))
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    sockets = [
        socket.create_connection(address(guarded_server), timeout=5) for _ in range(TRICKLING)
    ]
    try:
        latencies = []
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < HEADER_TIMEOUT - 1.0:  # one byte each, round robin
            for sock in sockets:
                sock.send(request[sent : sent + 1])
            sent += 1
            latencies.append(timed_health(guarded_server))
        assert len(latencies) >= 2 and max(latencies) < 1.0, latencies
        # Past --header_timeout every trickling connection is answered 408 and closed.
        time.sleep(1.5)
        replies = [read_reply(sock, timeout=5.0) for sock in sockets[:20]]
        for reply in replies:
            head, _, body = reply.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.0 408") or head.startswith(b"HTTP/1.1 408"), reply
            assert json.loads(body)["field"] == "headers"
        assert timed_health(guarded_server) < 1.0
    finally:
        for sock in sockets:
            sock.close()


def test_content_length_with_transfer_encoding_is_refused(guarded_server):
    with socket.create_connection(address(guarded_server), timeout=30) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        reply = read_reply(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0]
    assert json.loads(body)["field"] == "Transfer-Encoding"


def test_a_body_over_the_limit_sent_whole_gets_its_413(guarded_server):
    body = json.dumps({"texts": ["很长的文本" * 100] * 2500}).encode("utf-8")  # ~6 MB
    assert len(body) > 4 << 20
    request = urllib.request.Request(
        guarded_server.url + "/predict", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 413
    assert json.loads(caught.value.read())["field"] == "body"
    assert timed_health(guarded_server) < 1.0


def test_connections_past_the_limit_are_refused_at_once(serving_models, tmp_path):
    server = ServerProcess(
        serving_models["multiclass"].export_dir,
        tmp_path / "serve.log",
        "--connection_limit=3",
        "--poll_seconds=0",
    )
    try:
        held = [socket.create_connection(address(server), timeout=5) for _ in range(3)]
        time.sleep(0.5)  # accepted: three open connections
        started = time.perf_counter()
        reply = http_call(server, "GET", "/health")
        assert time.perf_counter() - started < 1.0
        assert reply.status == 503 and reply.json()["field"] == "server"
        for sock in held:
            sock.close()
        time.sleep(0.5)
        assert http_call(server, "GET", "/health").status == 200
        assert "--connection_limit" in server.log_path.read_text(encoding="utf-8")
    finally:
        server.stop()
