"""Atomic, numbered SavedModel versions: DIR/<int>/ as TF Serving expects.

A version is written into a hidden temporary folder beside the versions and renamed into place
only once complete (files fsynced first), so a server polling DIR never sees a half-written
version: a crash leaves at most a ``.tmp-export-*`` folder, which no reader takes for a version
(its name is not an integer). The next export into the same folder removes such leftovers:
a temporary folder names the host and process that write it, and one whose process is gone
(or, written on another host, one untouched for a day) is removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from classifier.files import make_shareable

TMP_PREFIX = ".tmp-export-"
FOREIGN_LEFTOVER_SECONDS = 24 * 3600  # another host's temporary folder: removed after a day

logger = logging.getLogger(__name__)


def _tmp_prefix() -> str:
    return f"{TMP_PREFIX}{socket.gethostname()}-{os.getpid()}-"


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_leftovers(export_dir: str | Path, started: float) -> list[Path]:
    """Removes the temporary folders of exports into ``export_dir`` that were killed: on this
    host, those whose process is no longer running; from elsewhere (or unnamed), those older
    than this export that nobody touched for a day. Returns what was removed."""
    root = Path(export_dir)
    removed = []
    host = socket.gethostname()
    for folder in root.glob(f"{TMP_PREFIX}*"):
        try:
            age = started - folder.stat().st_mtime
        except OSError:
            continue
        fields = folder.name[len(TMP_PREFIX) :].rsplit("-", 2)
        if len(fields) == 3 and fields[0] == host and fields[1].isdigit():
            stale = int(fields[1]) != os.getpid() and not _is_running(int(fields[1]))
        else:
            stale = age > FOREIGN_LEFTOVER_SECONDS
        if stale and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        logger.info("removed %d leftover folders of killed exports in %s", len(removed), root)
    return removed


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
    remove_leftovers(root, time.time())
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(), dir=root))
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
