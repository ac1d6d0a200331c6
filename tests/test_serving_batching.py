"""MicroBatcher and ModelHolder with stand-in predictors: grouping, bounds, order, reloads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from serving.batcher import MicroBatcher, ShuttingDown
from serving.model_holder import ModelHolder
from serving.validation import TextBatch
from serving.versions import NoModelError


class EchoPredictor:
    """Returns each text back (and its length); records the size of every call."""

    def __init__(self, name: str = "v", delay: float = 0.0, fail: bool = False) -> None:
        self.name = name
        self.delay = delay
        self.fail = fail
        self.calls: list[int] = []

    def run(self, texts, texts_b=None):
        self.calls.append(len(texts))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model broke")
        joined = [a + "|" + b for a, b in zip(texts, texts_b, strict=True)] if texts_b else texts
        return {
            "label": np.array(joined, dtype=object),
            "score": np.array([len(t) for t in texts], np.float32),
        }


class FixedHolder:
    def __init__(self, predictor) -> None:
        from serving.model_holder import LoadedModel

        self.current = LoadedModel(1, predictor)


def submit_concurrently(batcher: MicroBatcher, batches: list[TextBatch]):
    results: list = [None] * len(batches)
    barrier = threading.Barrier(len(batches))

    def client(i: int) -> None:
        barrier.wait()
        results[i] = batcher.predict(batches[i], timeout=30)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_requests_share_bounded_calls_and_get_their_own_rows():
    predictor = EchoPredictor(delay=0.01)
    batcher = MicroBatcher(FixedHolder(predictor), max_batch_size=8, max_wait_ms=200)
    batcher.start()
    batches = [TextBatch([f"r{i}-{j}" for j in range(1 + i % 3)]) for i in range(12)]
    results = submit_concurrently(batcher, batches)
    batcher.stop()
    for batch, result in zip(batches, results, strict=True):
        assert result.outputs["label"].tolist() == batch.texts
        assert result.model.version == 1
    assert sum(predictor.calls) == sum(len(b) for b in batches)
    assert max(predictor.calls) <= 8
    assert len(predictor.calls) < len(batches)  # requests were grouped


def test_a_request_larger_than_the_batch_runs_alone():
    predictor = EchoPredictor()
    batcher = MicroBatcher(FixedHolder(predictor), max_batch_size=4, max_wait_ms=0)
    batcher.start()
    result = batcher.predict(TextBatch([str(i) for i in range(10)]))
    batcher.stop()
    assert result.outputs["label"].tolist() == [str(i) for i in range(10)]
    assert predictor.calls == [10]


def test_pairs_keep_text_b_and_never_mix_with_single_texts():
    predictor = EchoPredictor()
    batcher = MicroBatcher(FixedHolder(predictor), max_batch_size=16, max_wait_ms=100)
    batcher.start()
    results = submit_concurrently(
        batcher, [TextBatch(["a", "b"], ["x", "y"]), TextBatch(["c"]), TextBatch(["d"], ["z"])]
    )
    batcher.stop()
    assert [r.outputs["label"].tolist() for r in results] == [["a|x", "b|y"], ["c"], ["d|z"]]


def test_model_errors_reach_every_request_of_the_group():
    batcher = MicroBatcher(FixedHolder(EchoPredictor(fail=True)), max_batch_size=8)
    batcher.start()
    with pytest.raises(RuntimeError, match="model broke"):
        batcher.predict(TextBatch(["a"]))
    batcher.stop()


def test_a_stopped_batcher_refuses_work():
    batcher = MicroBatcher(FixedHolder(EchoPredictor()), max_batch_size=8)
    batcher.start()
    batcher.stop()
    with pytest.raises(ShuttingDown):
        batcher.submit(TextBatch(["a"]))


# === ModelHolder ===
def add_version(root: Path, version: int) -> None:
    folder = root / str(version)
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"pb")


def test_holder_serves_the_highest_version_and_follows_changes(tmp_path):
    loaded: list[int] = []

    def loader(found):
        loaded.append(found.version)
        return EchoPredictor(f"v{found.version}")

    add_version(tmp_path, 1)
    add_version(tmp_path, 2)
    holder = ModelHolder(tmp_path, loader, poll_seconds=0)
    assert holder.current.version == 2 and loaded == [2]
    assert holder.refresh() is False
    add_version(tmp_path, 3)
    assert holder.refresh() is True and holder.current.version == 3
    (tmp_path / "3" / "saved_model.pb").unlink()  # version 3 withdrawn: roll back to 2
    assert holder.refresh() is True and holder.current.version == 2
    assert loaded == [2, 3, 2]


def test_holder_keeps_serving_when_a_new_version_fails_to_load(tmp_path):
    attempts: list[int] = []

    def loader(found):
        attempts.append(found.version)
        if found.version == 2:
            raise ValueError("corrupt")
        return EchoPredictor()

    add_version(tmp_path, 1)
    holder = ModelHolder(tmp_path, loader, poll_seconds=0)
    add_version(tmp_path, 2)
    assert holder.refresh() is False and holder.current.version == 1
    assert holder.refresh() is False  # not retried on every poll
    assert attempts == [1, 2]


def test_holder_polls_in_the_background(tmp_path):
    add_version(tmp_path, 1)
    holder = ModelHolder(tmp_path, lambda found: EchoPredictor(), poll_seconds=0.05)
    holder.start()
    add_version(tmp_path, 5)
    deadline = time.monotonic() + 10
    while holder.current.version != 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    holder.stop()
    assert holder.current.version == 5


def test_a_pinned_version_ignores_newer_ones(tmp_path):
    from serving.versions import select_version

    add_version(tmp_path, 1)
    add_version(tmp_path, 2)
    holder = ModelHolder(
        tmp_path, lambda f: EchoPredictor(), pinned_version=select_version(tmp_path, 1)
    )
    add_version(tmp_path, 3)
    assert holder.refresh() is False and holder.current.version == 1


def test_an_empty_export_dir_is_an_error_at_start(tmp_path):
    with pytest.raises(NoModelError, match="export one with scripts/export.sh"):
        ModelHolder(tmp_path, lambda f: EchoPredictor())
