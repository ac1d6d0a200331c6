"""Finished folds on disk, so that a killed k-fold fine-tuning resumes at the first unfinished
fold when its command runs again.

The folder holds ``plan.json`` (a fingerprint of everything that decides the probabilities:
the data, the folds, the detector and its settings) and one ``fold-<k>.npz`` per finished fold
(the held-out rows and their probabilities). Folds saved under another fingerprint are
discarded, so changing a setting never mixes two runs' probabilities.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from classifier.files import atomic_write, read_json, write_json

logger = logging.getLogger(__name__)

PLAN_FILE = "plan.json"


def fingerprint(settings: dict[str, Any], fold_of: np.ndarray) -> str:
    """A digest of JSON-ready ``settings`` and the fold of every row."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode())
    digest.update(np.asarray(fold_of, np.int64).tobytes())
    return digest.hexdigest()


class FoldStore:
    """The per-fold probabilities of one plan in ``folder``."""

    def __init__(self, folder: str | Path, plan_fingerprint: str, settings: dict[str, Any]):
        self.folder = Path(folder)
        self.fingerprint = plan_fingerprint
        self.settings = settings

    def open(self) -> FoldStore:
        """Creates the folder, or checks what it holds: folds of another plan are removed."""
        if self.folder.exists() and not self.folder.is_dir():
            raise NotADirectoryError(f"--work_dir {self.folder} is a file, not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        plan = self.folder / PLAN_FILE
        saved = read_json(plan).get("fingerprint") if plan.is_file() else None
        if saved != self.fingerprint:
            stale = sorted(self.folder.glob("fold-*.npz"))
            if stale:
                logger.warning(
                    "%s holds %d folds of other data or settings: starting afresh",
                    self.folder,
                    len(stale),
                )
            for path in stale:
                path.unlink()
            write_json(plan, {"fingerprint": self.fingerprint, "settings": self.settings})
        return self

    def fold_file(self, fold: int) -> Path:
        return self.folder / f"fold-{fold}.npz"

    def load(self, fold: int, rows: np.ndarray) -> np.ndarray | None:
        """The saved probabilities of ``fold``, or None when it has not finished."""
        path = self.fold_file(fold)
        if not path.is_file():
            return None
        try:
            with np.load(path) as saved:
                if not np.array_equal(saved["rows"], rows):
                    return None
                return saved["probabilities"]
        except (OSError, ValueError, KeyError):  # damaged: the fold runs again
            return None

    def save(self, fold: int, rows: np.ndarray, probabilities: np.ndarray) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, rows=rows, probabilities=probabilities)

        atomic_write(self.fold_file(fold), write)
