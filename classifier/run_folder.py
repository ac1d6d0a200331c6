"""Whether an output folder starts a new run, resumes an unfinished one, or must be refused.

A run writes its configuration (``run.json``: everything that decides its result) before it
trains, and marks itself finished at the end. Re-running the same command on a folder holding
an unfinished run of the same configuration resumes it; an unfinished run of another
configuration is refused with the settings that differ; a finished run, or a folder holding
anything else, needs ``--overwrite`` (which removes only what such a run writes).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.files import write_json

RUN_FILE = "run.json"
# A trained classifier's spec, written last (classifier.trained_model): a folder with it is whole.
SPEC_FILE = "classifier_config.json"
FRESH = "fresh"
RESUME = "resume"


class RunFolderError(FileExistsError):
    """An output folder that cannot be used as asked: says why and what to do."""


@dataclass(frozen=True)
class RunFolder:
    path: Path
    mode: str  # FRESH or RESUME


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in keys
        if old.get(key) != new.get(key)
    ]


def open_run_folder(
    path: str | Path,
    config: dict[str, Any],
    overwrite: bool,
    artifacts: Iterable[str],
    flag: str = "--output_dir",
) -> RunFolder:
    """Decides FRESH or RESUME for ``path`` and ``config`` (JSON-ready); see the module doc.

    With ``overwrite`` the ``artifacts`` (file and folder names a run writes) are removed and
    the run starts afresh; nothing else in the folder is touched.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{flag} {out} exists and is not a directory")
    config = json.loads(json.dumps(config))  # compare as it will read back
    record = out / RUN_FILE
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        if not record.is_file():
            raise RunFolderError(
                f"{flag} {out} is not empty and holds no run to resume; pass --overwrite to "
                "replace its contents or choose another folder"
            )
        saved = json.loads(record.read_text(encoding="utf-8"))
        if saved.get("finished"):
            raise RunFolderError(
                f"{flag} {out} holds a finished run; pass --overwrite to start again"
            )
        differences = _differences(saved.get("config", {}), config)
        if differences:
            raise RunFolderError(
                f"{flag} {out} holds an unfinished run of another configuration ("
                + "; ".join(differences[:12])
                + "); rerun it with its own settings to resume, or pass --overwrite"
            )
        remove_stale_temporaries(out)
        return RunFolder(out, RESUME)
    if out.is_dir() and overwrite:
        remove_artifacts(out, (*artifacts, RUN_FILE))
    make_output_folder(out, flag)
    write_json(record, {"config": config, "finished": False})
    return RunFolder(out, FRESH)


def make_output_folder(out: Path, flag: str = "--output_dir") -> None:
    """Creates ``out`` (and its parents), or a RunFolderError that says why it cannot be."""
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{flag} {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or str(err)
        raise RunFolderError(
            f"{flag} {out} cannot be created or written ({reason}"
            + (f": {err.filename}" if err.filename and str(err.filename) != str(out) else "")
            + "); choose a folder you can write to"
        ) from None


def remove_artifacts(folder: Path, names: Iterable[str]) -> None:
    """Deletes what a run writes (files and folders named ``names``) and nothing else, so a
    mistyped --output_dir never costs the user unrelated files."""
    for name in names:
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def remove_stale_temporaries(folder: Path) -> None:
    """Deletes the temporary files (``.NAME.*.tmp``, classifier.files.atomic_write) that a
    killed run left half-written; the files they were to replace are untouched."""
    for stale in folder.rglob(".*.tmp"):
        if stale.is_file():
            stale.unlink()


def holds_trained_classifier(path: str | Path) -> bool:
    """Whether ``path`` is a run folder with a trained classifier (train.sh's --output_dir,
    distill.sh's, FineTuner's), told without loading TensorFlow."""
    return (Path(path) / SPEC_FILE).is_file()


def record_training_data(path: str | Path, source: dict[str, Any]) -> None:
    """Keeps where the training rows were read (``source``: data_dir, train_file, reading
    settings) in run.json beside the configuration, not in it (the same data under another
    path resumes alike), so that scripts/explain.sh --index reads them again."""
    if not source:
        return
    record = Path(path) / RUN_FILE
    data = json.loads(record.read_text(encoding="utf-8"))
    data["training_data"] = source
    write_json(record, data)


def recorded_training_data(path: str | Path) -> dict[str, Any]:
    """What record_training_data kept ({} for a run that kept nothing)."""
    try:
        data = json.loads((Path(path) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("training_data") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def mark_finished(path: str | Path) -> None:
    record = Path(path) / RUN_FILE
    data = json.loads(record.read_text(encoding="utf-8"))
    data["finished"] = True
    write_json(record, data)
