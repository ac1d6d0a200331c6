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


class SameFileError(ValueError):
    """An output path that is one of the command's inputs."""


Named = tuple[str, "str | os.PathLike[str] | None"]


def refuse_writing_over_inputs(outputs: list[Named], inputs: list[Named]) -> None:
    """Refuses, before anything is written, an output (file or folder) that is the same file or
    folder as an input, links followed (``--output_file=X --input_file=X`` would replace the
    texts with their predictions). Each item is (flag, path); None paths are skipped."""
    for out_flag, out in outputs:
        if out is None:
            continue
        for in_flag, source in inputs:
            if source is None or not _same_path(out, source):
                continue
            kind = "folder" if os.path.isdir(source) else "file"
            raise SameFileError(
                f"{out_flag}={out} is the same {kind} as {in_flag}={source}: writing there "
                f"would destroy the input; choose another {out_flag}"
            )


def _same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet (or cannot be read): compare where they point
        return Path(a).resolve() == Path(b).resolve()
