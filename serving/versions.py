"""Which version to serve: the highest complete DIR/<int>/ (TF Serving's layout).

Exports are renamed into place whole (export.versioned_dir), so an integer-named folder with a
saved_model.pb (a SavedModel) or a model.onnx (an ONNX export, export.sh --format=onnx) is
complete; temporary folders (``.tmp-export-*``) are never integers and never picked. The two
formats may share an export_dir: the highest version is served, whatever its format
(``version_format`` tells them apart). ``export_dir`` may also be one version folder itself,
served as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAVED_MODEL_FILE = "saved_model.pb"
ONNX_MODEL_FILE = "model.onnx"
SAVED_MODEL = "saved_model"
ONNX = "onnx"


@dataclass(frozen=True, order=True)
class ModelVersion:
    version: int
    path: Path


class NoModelError(FileNotFoundError):
    """An export_dir that holds no servable version."""


def version_format(path: str | Path) -> str | None:
    """ "saved_model", "onnx" or None (not a version folder). A folder holding both files is
    read as a SavedModel."""
    path = Path(path)
    if (path / SAVED_MODEL_FILE).is_file():
        return SAVED_MODEL
    if (path / ONNX_MODEL_FILE).is_file():
        return ONNX
    return None


def is_version_folder(path: Path) -> bool:
    return version_format(path) is not None


def list_versions(export_dir: str | Path) -> list[ModelVersion]:
    """Complete versions under ``export_dir``, ascending; a version folder lists only itself."""
    root = Path(export_dir)
    if is_version_folder(root):
        return [ModelVersion(int(root.name) if root.name.isdigit() else 0, root)]
    if not root.is_dir():
        return []
    found = [
        ModelVersion(int(p.name), p)
        for p in root.iterdir()
        if p.name.isdigit() and p.is_dir() and is_version_folder(p)
    ]
    return sorted(found)


def select_version(export_dir: str | Path, version: int | None = None) -> ModelVersion:
    """The given version, or the highest complete one when ``version`` is None."""
    versions = list_versions(export_dir)
    if not versions:
        raise NoModelError(
            f"{export_dir} holds no SavedModel version nor ONNX one (expected {export_dir}/<int>/"
            f"{SAVED_MODEL_FILE} or {ONNX_MODEL_FILE}); export one with scripts/export.sh"
        )
    if version is None:
        return versions[-1]
    for found in versions:
        if found.version == version:
            return found
    known = ", ".join(str(v.version) for v in versions)
    raise NoModelError(f"{export_dir} has no version {version} (versions: {known})")


def latest_version(export_dir: str | Path) -> ModelVersion:
    return select_version(export_dir)
