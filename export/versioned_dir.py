"""Atomic, numbered SavedModel versions: DIR/<int>/ as TF Serving expects.

A version is written into a hidden temporary folder beside the versions and renamed into place
only once complete (files fsynced first), so a server polling DIR never sees a half-written
version: a crash leaves at most a ``.tmp-export-*`` folder, which no reader takes for a version
(its name is not an integer).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from classifier.files import make_shareable

TMP_PREFIX = ".tmp-export-"


def existing_versions(export_dir: str | Path) -> list[int]:
    """Integer-named subfolders of ``export_dir`` (complete versions), ascending."""
    root = Path(export_dir)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(export_dir: str | Path) -> int:
    versions = existing_versions(export_dir)
    return versions[-1] + 1 if versions else 1


def write_version(
    export_dir: str | Path, write: Callable[[Path], None], version: int | None = None
) -> tuple[int, Path]:
    """Calls ``write(tmp_dir)``, then renames tmp_dir to export_dir/<version>.

    ``version`` None takes the next free integer (re-chosen if another exporter took it while
    this one was writing); an explicit version that exists already is an error.
    """
    root = Path(export_dir)
    root.mkdir(parents=True, exist_ok=True)
    if version is not None:
        if version < 0:
            raise ValueError(f"version must be a non-negative integer, got {version}")
        if (root / str(version)).exists():
            raise FileExistsError(f"{root / str(version)} exists; versions are never overwritten")
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=root))
    try:
        write(tmp)
        make_shareable(tmp)  # mkdtemp made it 0700: the serving user must read it
        _fsync_tree(tmp)
        while True:
            chosen = version if version is not None else next_version(root)
            target = root / str(chosen)
            if target.exists():
                if version is not None:
                    raise FileExistsError(f"{target} appeared while exporting")
                continue
            try:
                os.rename(tmp, target)  # atomic on one file system; fails on a non-empty target
            except OSError:
                if version is not None or not target.exists():
                    raise
                continue
            _fsync_dir(root)
            return chosen, target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_tree(folder: Path) -> None:
    """Flushes every file and folder under ``folder`` so the rename publishes durable bytes."""
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
