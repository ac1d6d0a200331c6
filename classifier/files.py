"""Atomic file writes: a crash or a bad input never leaves a half-written output file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Calls ``write(tmp_path)`` on a temporary file beside ``path``, then renames it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would hide it from others
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)

    atomic_write(path, write)


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process umask (read without changing it where Linux allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_shareable(path: str | Path) -> None:
    """Gives a folder made by tempfile.mkdtemp (0700) and everything in it the modes a plain
    mkdir and open would have given (0777 / 0666 less the umask), so that the user who serves
    a model can read what the user who trained it wrote."""
    mask = current_umask()
    root = Path(path)
    for item in [root, *root.rglob("*")]:
        if item.is_symlink():
            continue
        if item.is_dir():
            os.chmod(item, 0o777 & ~mask)
        else:
            executable = os.stat(item).st_mode & 0o111
            os.chmod(item, (0o777 if executable else 0o666) & ~mask)
