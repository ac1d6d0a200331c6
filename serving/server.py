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

Hostile or broken clients cannot hold the service (ConnectionLimits):
- a request whose headers (or body) take longer than ``header_timeout`` (``body_timeout``) to
  arrive gets a JSON 408 and is closed, so connections that trickle their headers a byte at a
  time do not accumulate (a slowloris attack); idle keep-alive connections close after
  ``channel_timeout``;
- past ``connection_limit`` open connections a new one gets an immediate JSON 503 and is
  closed, instead of waiting unaccepted in the kernel's queue;
- Content-Length together with Transfer-Encoding is refused (RFC 9112: a request-smuggling
  vector behind a proxy);
- after an error answered before the body was read (413 for a body over the limit), the
  connection keeps reading and discarding what the client still sends, up to a bound, before
  it closes (a lingering close, as nginx does): clients that send the whole body before
  reading (Python's urllib, requests) then see the 413 instead of a connection reset.
"""

from __future__ import annotations

import json
import logging
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.task import ErrorTask
from waitress.utilities import Error

logger = logging.getLogger(__name__)

LOOP_TIMEOUT = 0.2
SWEEP_SECONDS = 0.25  # how often partial requests and lingering closes are checked
LINGER_SECONDS = 30.0  # a lingering close waits at most this long for the client to finish,
LINGER_IDLE_SECONDS = 2.0  # this long for each next byte,
LINGER_BYTES = 64 << 20  # and discards at most this much
# waitress's own connection limit is set out of reach: GuardedServer enforces ours.
WAITRESS_CONNECTION_LIMIT = 1 << 30


@dataclass(frozen=True)
class ConnectionLimits:
    """serve.sh's --connection_limit, --channel_timeout, --header_timeout, --body_timeout."""

    connection_limit: int = 1000
    channel_timeout: float = 60.0
    header_timeout: float = 10.0
    body_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.connection_limit < 1:
            raise ValueError("--connection_limit must be at least 1")
        for name in ("channel_timeout", "header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name} must be positive")


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


def waitress_error_reply(code: int, body: str) -> tuple[int, str, bytes]:
    """(status, status line, JSON body) for an error waitress raised while parsing."""
    detail = body.strip() or "malformed request"
    lowered = detail.lower()
    if code == 408:
        status, field = 408, "body" if lowered.startswith("body") else "headers"
    elif code == 501 or "transfer-encoding" in lowered:
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
    reasons = {
        400: "Bad Request",
        408: "Request Timeout",
        413: "Content Too Large",
        431: "Request Header Fields Too Large",
        503: "Service Unavailable",
    }
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
        self.channel.linger_after_close = True


class StrictRequestParser(HTTPRequestParser):
    """waitress's parser, refusing Content-Length together with Transfer-Encoding."""

    def parse_header(self, header_plus: bytes) -> None:
        names = {
            line.split(b":", 1)[0].strip().lower()
            for line in header_plus.split(b"\n")[1:]
            if b":" in line
        }
        if b"content-length" in names and b"transfer-encoding" in names:
            raise ParsingError(
                "Transfer-Encoding together with Content-Length is refused (RFC 9112 6.1)"
            )
        super().parse_header(header_plus)


class GuardedChannel(HTTPChannel):
    """waitress's channel with JSON errors, strict framing, read deadlines for a request's
    headers and body, and a lingering close after an error reply."""

    error_task_class = JsonErrorTask
    parser_class = StrictRequestParser
    request_started: float | None = None  # monotonic time the partial request began
    body_started: float | None = None  # ... and its headers ended
    linger_after_close = False  # set by an error reply: the client may still be sending
    linger_deadline: float | None = None  # set while lingering
    linger_idle_deadline = 0.0
    linger_left = 0

    def received(self, data):
        now = time.monotonic()
        if self.request is None:
            self.request_started, self.body_started = now, None
        result = super().received(data)
        if self.request is None:
            self.request_started = self.body_started = None
        elif self.request.headers_finished and self.body_started is None:
            self.body_started = now
        return result

    def time_out(self, limits: ConnectionLimits, now: float) -> None:
        """Answers a partial request past its header or body deadline with a 408."""
        if self.request_started is None or self.request is None or self.request.completed:
            return
        if self.will_close or self.close_when_flushed or self.linger_after_close:
            return  # closing after an error: what is left of the request is not one
        if self.body_started is None:
            if now - self.request_started <= limits.header_timeout:
                return
            message = f"headers not received within {limits.header_timeout:g} s"
        elif now - self.body_started <= limits.body_timeout:
            return
        else:
            message = f"body not received within {limits.body_timeout:g} s"
        with self.requests_lock:
            request = self.request
            if not request.headers_finished:
                request.parse_header(b"GET / HTTP/1.0\r\n")
            request.error = RequestTimeout(message)
            request.completed = True
            self.request = None
            self.request_started = self.body_started = None
            self.requests.append(request)
            if len(self.requests) == 1:
                self.server.add_task(self)

    # === Lingering close ===
    @property
    def lingering(self) -> bool:
        return self.linger_deadline is not None

    def readable(self):
        return True if self.lingering else super().readable()

    def writable(self):
        return False if self.lingering else super().writable()

    def handle_read(self):
        if not self.lingering:
            return super().handle_read()
        try:
            data = self.socket.recv(self.adj.recv_bytes)
        except OSError:
            data = b""
        self.linger_left -= len(data)
        if not data or self.linger_left <= 0:
            self.close_now()
        else:
            self.linger_idle_deadline = time.monotonic() + LINGER_IDLE_SECONDS

    def handle_close(self):
        if self.linger_after_close and not self.lingering and self.connected:
            try:  # the reply is out; tell the client we send nothing more
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                return self.close_now()
            now = time.monotonic()
            self.linger_deadline = now + LINGER_SECONDS
            self.linger_idle_deadline = now + LINGER_IDLE_SECONDS
            self.linger_left = LINGER_BYTES
            self.will_close = self.close_when_flushed = False
            return None
        return self.close_now()

    def close_now(self) -> None:
        self.linger_deadline = None
        self.linger_after_close = False
        super().handle_close()

    def sweep(self, limits: ConnectionLimits, now: float) -> None:
        if self.lingering:
            if now >= self.linger_deadline or now >= self.linger_idle_deadline:
                self.close_now()
        else:
            self.time_out(limits, now)


REFUSED = (
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    "Connection: close\r\nRetry-After: 1\r\nContent-Length: {length}\r\n\r\n{body}"
)


class ConnectionGuard:
    """Replaces the accept of a waitress server: past ``limit`` open connections a new one gets
    an immediate JSON 503 and is closed (waitress would stop accepting, leaving clients queued
    in the kernel until a slot frees)."""

    def __init__(self, server: BaseWSGIServer, limit: int) -> None:
        self.server, self.limit = server, limit
        self.accept = server.handle_accept
        self.overflowing = False
        server.handle_accept = self.handle_accept  # type: ignore[method-assign]

    def handle_accept(self) -> None:
        if len(self.server.active_channels) < self.limit:
            if self.overflowing:
                logger.info("open connections below the limit (%d) again", self.limit)
                self.overflowing = False
            return self.accept()
        try:
            accepted = self.server.accept()
        except OSError:
            return None
        if accepted is None:
            return None
        conn = accepted[0]
        if not self.overflowing:
            logger.warning(
                "%d connections open (--connection_limit): refusing new ones with 503",
                self.limit,
            )
            self.overflowing = True
        body = json.dumps(
            {"error": f"server: over {self.limit} open connections", "field": "server"}
        )
        try:
            conn.setblocking(False)
            conn.send(REFUSED.format(length=len(body), body=body).encode("utf-8"))
        except OSError:
            pass
        finally:
            conn.close()
        return None


def raise_open_file_limit(connections: int) -> None:
    """Lifts the soft limit on open files toward the hard one so ``connections`` sockets fit
    (each needs one descriptor, plus what TensorFlow holds); warns when they cannot."""
    needed = connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
        if target < needed:
            logger.warning(
                "the open-file limit (%d) is below --connection_limit + 256 (%d): lower "
                "--connection_limit or raise ulimit -n",
                target,
                needed,
            )


def serve_forever(
    app: Callable,
    host: str,
    port: int,
    *,
    threads: int = 8,
    max_request_body_size: int = 1 << 30,
    limits: ConnectionLimits | None = None,
    grace_seconds: float = 10.0,
    on_listening: Callable[[str, int], None] | None = None,
    on_draining: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serves until SIGTERM/SIGINT (or ``stop`` is set), then drains and returns."""
    limits = limits or ConnectionLimits()
    raise_open_file_limit(limits.connection_limit)
    socket_map: dict = {}  # waitress's map of the listening sockets and their channels
    server = create_server(
        app,
        map=socket_map,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=max_request_body_size,
        connection_limit=WAITRESS_CONNECTION_LIMIT,
        channel_timeout=max(1, round(limits.channel_timeout)),
        cleanup_interval=max(1, min(30, round(limits.channel_timeout / 2))),
        ident="zh-textclf",
    )
    if isinstance(server, MultiSocketServer):  # a host name with several addresses
        addresses = list(server.effective_listen)
    else:
        addresses = [(server.effective_host, server.effective_port)]
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = GuardedChannel
            ConnectionGuard(dispatcher, limits.connection_limit)
    stop = stop or threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for listen_host, listen_port in addresses:
            if on_listening is not None:
                on_listening(listen_host, listen_port)
        next_sweep = 0.0
        while not stop.is_set():
            wasyncore.loop(timeout=LOOP_TIMEOUT, map=socket_map, use_poll=True, count=1)
            now = time.monotonic()
            if now >= next_sweep:
                _sweep(socket_map, limits, now)
                next_sweep = now + SWEEP_SECONDS
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


def _sweep(socket_map: dict, limits: ConnectionLimits, now: float) -> None:
    for channel in list(socket_map.values()):
        if isinstance(channel, GuardedChannel):
            channel.sweep(limits, now)


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
