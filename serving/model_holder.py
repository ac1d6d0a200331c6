"""ModelHolder: the version being served, swapped for a newer one without a restart.

A thread polls export_dir; when the highest complete version differs from the one served
(a new export, or the served one deleted for a rollback), it loads and warms the new version
in the background and then swaps one reference, so requests never wait for a load and a
request always runs on one consistent version. A version that fails to load is logged and
skipped; the current one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from serving.memory import release_freed_memory
from serving.versions import ModelVersion, NoModelError, latest_version

if TYPE_CHECKING:  # the runtimes load TensorFlow or ONNX Runtime: the loader picks one
    from serving.onnx_predictor import OnnxPredictor
    from serving.predictor import Predictor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: int
    predictor: Predictor | OnnxPredictor


# serving.loader.load_version: each version in its format's runtime (a reload may switch).
Loader = Callable[[ModelVersion], "Predictor | OnnxPredictor"]


class ModelHolder:
    def __init__(
        self,
        export_dir: str | Path,
        loader: Loader,
        poll_seconds: float = 5.0,
        pinned_version: ModelVersion | None = None,
    ) -> None:
        self.export_dir = Path(export_dir)
        self.poll_seconds = poll_seconds
        self._loader = loader
        self._pinned = pinned_version
        self._failed: set[tuple[int, Path]] = set()
        # Polls left that release memory: a request in flight may hold the old model a while.
        self._releases_due = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        found = pinned_version or latest_version(self.export_dir)
        self._current = LoadedModel(found.version, loader(found))

    @property
    def current(self) -> LoadedModel:
        return self._current

    def refresh(self) -> bool:
        """Loads the highest complete version if it is not the one served; True if swapped."""
        if self._pinned is not None:
            return False
        try:
            found = latest_version(self.export_dir)
        except NoModelError:
            logger.warning(
                "%s holds no version now; still serving version %d",
                self.export_dir,
                self._current.version,
            )
            return False
        key = (found.version, found.path)
        if found.version == self._current.version or key in self._failed:
            return False
        try:
            predictor = self._loader(found)
        except Exception:
            self._failed.add(key)
            logger.exception(
                "version %d failed to load; still serving version %d",
                found.version,
                self._current.version,
            )
            return False
        previous = self._current.version
        self._current = LoadedModel(found.version, predictor)
        logger.info("now serving version %d (was %d)", found.version, previous)
        release_freed_memory()  # the old model, unless a request still holds it
        self._releases_due = 3
        return True

    def start(self) -> None:
        if self._pinned is not None or self.poll_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if not self.refresh() and self._releases_due:
                    self._releases_due -= 1
                    release_freed_memory()
            except Exception:  # the poller must outlive any surprise
                logger.exception("polling %s failed", self.export_dir)
