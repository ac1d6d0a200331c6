"""MicroBatcher: concurrent requests grouped into one model call.

Each request's texts wait at most ``max_wait_ms`` for others to join; a group never exceeds
``max_batch_size`` texts (a larger request runs alone and the Predictor cuts it into batches).
One worker thread runs the model, so concurrent requests share a call instead of competing
for the cores, and every group runs on one model version.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from serving.model_holder import LoadedModel, ModelHolder
from serving.validation import TextBatch

logger = logging.getLogger(__name__)


class ShuttingDown(RuntimeError):
    """The batcher stopped before this request ran."""


@dataclass(frozen=True)
class BatchResult:
    outputs: dict[str, np.ndarray]  # serving_default outputs, rows of this request only
    model: LoadedModel


@dataclass
class _Job:
    batch: TextBatch
    future: Future = field(default_factory=Future)


_STOP = object()


class MicroBatcher:
    def __init__(
        self,
        holder: ModelHolder,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        """``on_batch(texts, seconds)`` is called after every model call (metrics)."""
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.holder = holder
        self.max_batch_size = max_batch_size
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="micro-batcher", daemon=True)
        self._stopped = False
        self.batches_run = 0
        self.requests_run = 0
        self.on_batch = on_batch

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Runs what is queued, then ends the worker; later submits raise ShuttingDown."""
        self._stopped = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def submit(self, batch: TextBatch) -> Future:
        """A future of BatchResult for ``batch``."""
        if self._stopped:
            raise ShuttingDown("the server is shutting down")
        job = _Job(batch)
        self._queue.put(job)
        return job.future

    def stats(self) -> dict[str, float]:
        """Settings and counters, reported by GET /metadata."""
        return {
            "max_batch_size": self.max_batch_size,
            "max_wait_ms": self.max_wait * 1000.0,
            "batches_run": self.batches_run,
            "requests_run": self.requests_run,
        }

    def predict(self, batch: TextBatch, timeout: float | None = 60.0) -> BatchResult:
        return self.submit(batch).result(timeout)

    def _work(self) -> None:
        carry = None
        while True:
            first = carry if carry is not None else self._queue.get()
            carry = None
            if first is _STOP:
                break
            group, size = [first], len(first.batch)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch_size:
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if (
                    job is _STOP
                    or size + len(job.batch) > self.max_batch_size
                    or _kind(job) != _kind(first)
                ):
                    carry = job
                    break
                group.append(job)
                size += len(job.batch)
            self._run(group)
        self._fail_queued()

    def _run(self, group: list[_Job]) -> None:
        model = self.holder.current
        texts = [t for job in group for t in job.batch.texts]
        pair = group[0].batch.texts_b is not None
        texts_b = [t for job in group for t in (job.batch.texts_b or [])] if pair else None
        started = time.monotonic()
        try:
            outputs = model.predictor.run(texts, texts_b)
        except Exception as err:
            for job in group:
                job.future.set_exception(err)
            return
        if self.on_batch is not None:
            self.on_batch(len(texts), time.monotonic() - started)
        self.batches_run += 1
        self.requests_run += len(group)
        start = 0
        for job in group:
            end = start + len(job.batch)
            rows = {name: value[start:end] for name, value in outputs.items()}
            job.future.set_result(BatchResult(rows, model))
            start = end

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP:
                job.future.set_exception(ShuttingDown("the server is shutting down"))


def _kind(job: _Job) -> bool:
    """Pair and single-text requests never share a call (a reload may change the model)."""
    return job.batch.texts_b is not None
