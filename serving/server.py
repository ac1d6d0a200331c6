"""Run a WSGI app on waitress with a graceful shutdown and JSON errors from waitress itself.

On SIGTERM or SIGINT: stop listening (new connections are refused), let every request already
received finish and its response go out (up to ``grace_seconds``), close idle keep-alive
connections, then return so the caller can stop its own threads. A second signal while
draining acts as usual (stops at once). waitress's own ``serve()`` would drop responses still
in its buffers when interrupted.

Some requests never reach the app: waitress answers them while parsing (a bad Content-Length,
broken chunking, a body or headers over its limits, a Transfer-Encoding it does not support).
Those answers come back in the app's JSON error shape, with a 4xx status naming the part of the
request at fault, instead of waitress's plain-text page (and its 501 for Transfer-Encoding).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable

from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.task import ErrorTask

logger = logging.getLogger(__name__)

LOOP_TIMEOUT = 0.2


def waitress_error_reply(code: int, body: str) -> tuple[int, str, bytes]:
    """(status, status line, JSON body) for an error waitress raised while parsing."""
    detail = body.strip() or "malformed request"
    lowered = detail.lower()
    if code == 501 or "transfer-encoding" in lowered:
        status, field = 400, "Transfer-Encoding"
    elif code == 413:
        status, field = 413, "body"
    elif code == 431:
        status, field = 431, "headers"
    elif "content-length" in lowered:
        status, field = 400, "Content-Length"
    elif "chunk" in lowered:
        status, field = 400, "body"
    elif code >= 500:
        status, field = code, "server"
    else:
        status, field = 400, "request"
    reasons = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large"}
    line = f"{status} {reasons.get(status, 'Error')}"
    payload = {"error": f"{field}: {detail}", "field": field}
    return status, line, json.dumps(payload, ensure_ascii=False).encode("utf-8")


class JsonErrorTask(ErrorTask):
    def execute(self):
        error = self.request.error
        _, line, body = waitress_error_reply(error.code, str(error.body))
        self.status = line
        self.response_headers.append(("Content-Type", "application/json; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def serve_forever(
    app: Callable,
    host: str,
    port: int,
    *,
    threads: int = 8,
    max_request_body_size: int = 1 << 30,
    grace_seconds: float = 10.0,
    on_listening: Callable[[str, int], None] | None = None,
    on_draining: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serves until SIGTERM/SIGINT (or ``stop`` is set), then drains and returns."""
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=max_request_body_size,
        ident="zh-textclf",
    )
    if isinstance(server, MultiSocketServer):  # a host name with several addresses
        socket_map, addresses = server.map, list(server.effective_listen)
    else:
        socket_map, addresses = server._map, [(server.effective_host, server.effective_port)]
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = JsonErrorChannel
    stop = stop or threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for listen_host, listen_port in addresses:
            if on_listening is not None:
                on_listening(listen_host, listen_port)
        while not stop.is_set():
            wasyncore.loop(timeout=LOOP_TIMEOUT, map=socket_map, use_poll=True, count=1)
        logger.info("shutting down: no new connections, finishing requests in flight")
        _restore(previous)  # a second signal now stops at once
        if on_draining is not None:
            on_draining()
        _stop_listening(socket_map)
        _drain(socket_map, grace_seconds)
    finally:
        _restore(previous)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(socket_map)


def _restore(handlers: dict) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _stop_listening(socket_map: dict) -> None:
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.accepting = False
            wasyncore.dispatcher.close(dispatcher)  # the listening socket only; keep the trigger


def _busy(channel: HTTPChannel) -> bool:
    """A request received or being received, or response bytes not yet sent."""
    return bool(channel.requests or channel.request is not None or channel.total_outbufs_len)


def _drain(socket_map: dict, grace_seconds: float) -> None:
    deadline = time.monotonic() + grace_seconds
    while True:
        channels = [c for c in list(socket_map.values()) if isinstance(c, HTTPChannel)]
        busy = [c for c in channels if _busy(c)]
        for channel in channels:
            if not _busy(channel):
                channel.will_close = True  # idle keep-alive: closed on the next loop
        if not busy:
            break
        if time.monotonic() >= deadline:
            logger.warning(
                "%d connections still busy after %.0fs; closing", len(busy), grace_seconds
            )
            break
        wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
    # One more turn closes the idle channels marked above.
    wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
