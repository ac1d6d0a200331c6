"""Server lifecycle on a real process: a newer version is served without a restart, and
SIGTERM lets the request in flight finish before the process exits 0."""

from __future__ import annotations

import shutil
import signal
import threading
import time

import numpy as np
import pytest

from export import export_trained_model
from serving import Predictor
from tests.support.samples import SERVING_TEXTS
from tests.support.serving import ServerProcess, http_call, write_serving_output_dir

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long


@pytest.fixture(scope="module")
def lifecycle_server(serving_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("lifecycle")
    export_dir = root / "news"
    shutil.copytree(serving_models["multiclass"].version_dir, export_dir / "1")
    server = ServerProcess(
        export_dir,
        root / "serve.log",
        "--poll_seconds",
        "0.5",
        "--max_batch_wait_ms",
        "1500",  # a request waits 1.5 s for company: long enough to be "in flight"
        "--grace_seconds",
        "30",
    )
    server.export_dir = export_dir
    server.root = root
    yield server
    server.stop()


def test_a_new_version_is_served_without_restart(lifecycle_server):
    server = lifecycle_server
    assert http_call(server, "GET", "/health").json()["model_version"] == 1
    errors: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:  # the service goes on while version 2 loads
        while not stop.is_set():
            reply = http_call(server, "POST", "/predict", {"texts": SERVING_TEXTS[:2]})
            if reply.status != 200:
                errors.append(f"{reply.status} {reply.body[:200]!r}")

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        output_dir = write_serving_output_dir(
            server.root / "retrained",
            head_kind="multiclass",
            is_pair=False,
            labels=("体育", "财经", "科技", "娱乐"),
            seed=3,
        )
        result = export_trained_model(output_dir, server.export_dir)
        assert result.version == 2
        deadline = time.monotonic() + 180
        while http_call(server, "GET", "/health").json()["model_version"] != 2:
            assert time.monotonic() < deadline, server.log_path.read_text()[-3000:]
            time.sleep(0.5)
    finally:
        stop.set()
        asker.join()
    assert errors == []
    reply = http_call(server, "POST", "/predict", {"texts": SERVING_TEXTS}).json()
    assert reply["model_version"] == 2
    expected = Predictor(result.path, version=2).predict(SERVING_TEXTS)
    got = [list(p["probabilities"].values()) for p in reply["predictions"]]
    np.testing.assert_allclose(got, [list(p.probabilities.values()) for p in expected], atol=1e-5)
    assert "now serving version 2 (was 1)" in server.log_path.read_text()


def test_sigterm_finishes_the_request_in_flight_then_exits_0(lifecycle_server):
    server = lifecycle_server
    replies: list = []
    client = threading.Thread(
        target=lambda: replies.append(
            http_call(server, "POST", "/predict", {"texts": ["股市大涨"]})
        )
    )
    client.start()
    time.sleep(0.5)  # the request is now waiting in the micro-batcher
    server.proc.send_signal(signal.SIGTERM)
    client.join(timeout=60)
    assert len(replies) == 1 and replies[0].status == 200, replies
    assert replies[0].json()["predictions"][0]["label"]
    assert server.proc.wait(timeout=60) == 0
    log = server.log_path.read_text()
    assert "finishing requests in flight" in log and "shut down gracefully" in log
    with pytest.raises(OSError):
        http_call(server, "GET", "/health")  # nothing listens any more
