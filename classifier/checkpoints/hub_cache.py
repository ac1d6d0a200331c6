"""``--model_dir=owner/name`` (or a preset's name): the checkpoint from the Hugging Face cache.

Models fetched once with transformers or ``hf download`` live in the hub cache
(``$HF_HUB_CACHE``, default ``$HF_HOME/hub``, ``~/.cache/huggingface/hub``) as
``models--owner--name/refs/<branch>`` (a commit hash) and ``models--owner--name/snapshots/
<hash>/`` (the files, symlinks into ``blobs/``). That layout is read here directly, so naming a
cached model needs no network and no huggingface_hub; only a model missing from the cache is
downloaded, through huggingface_hub when it is installed and HF_HUB_OFFLINE is not set. A folder
that exists always wins over a name.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from classifier.presets import PRESETS, Preset

logger = logging.getLogger(__name__)

# owner/name as the Hub validates it (ASCII letters, digits, "_", "-", "."; no "--" or ".."),
# and the @revision that may follow: a branch, a tag or a 40-hex commit.
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9_][\w.-]*$", re.ASCII)
_REVISION = re.compile(r"^\w[\w./-]*$", re.ASCII)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's reading of HF_HUB_OFFLINE

# What the loader reads (model_files), in download order: configs, vocab and the sharding
# indexes first, with safetensors or a TF1 checkpoint; pytorch_model.bin only when the repository
# has neither. tf_model.h5 and flax_model.msgpack are never fetched: the loader refuses them.
_SMALL_FILES = ("*.json", "vocab*.txt")
_DOWNLOAD_STAGES = (
    _SMALL_FILES + ("model*.safetensors", "*.ckpt*", "checkpoint"),
    _SMALL_FILES + ("pytorch_model*.bin",),
)
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class HubModelError(FileNotFoundError):
    """A --model_dir that is neither a folder nor a model to be found in the cache or the Hub."""


@dataclass(frozen=True)
class HubModel:
    """A model named on the command line: the Hub repositories to look for, first the one to
    download (later ones are older ids whose cache folders are accepted too)."""

    repo_ids: tuple[str, ...]
    revision: str = "main"
    preset: str | None = None


def hub_cache_dir() -> Path:
    """The hub cache folder, read from the environment as huggingface_hub reads it (at call
    time: huggingface_hub fixes its constants when first imported)."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface"
        )
        cache = os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(cache)))


def hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in _TRUE


def parse_model_name(value: str) -> HubModel | Preset | None:
    """``owner/name[@revision]`` as a HubModel; a preset's name (with an optional @revision) as
    a HubModel of its Hub repository, or the Preset itself when it has none; None for anything
    else."""
    name, at, revision = value.partition("@")
    if (at and not _REVISION.match(revision)) or ".." in value:
        return None
    revision = revision or "main"
    for preset in PRESETS:
        if name in preset.names:
            if not preset.hf_repo:
                return preset
            return HubModel((preset.hf_repo, *preset.hf_aliases), revision, preset.name)
    if not _REPO_ID.match(name) or "--" in name:
        return None
    return HubModel((name,), revision)


def repo_folder(cache: Path, repo_id: str) -> Path:
    return cache / f"models--{repo_id.replace('/', '--')}"


def cached_snapshot(cache: Path, repo_id: str, revision: str = "main") -> Path | None:
    """The snapshot folder of ``repo_id`` at ``revision`` (a branch or tag through refs/, or a
    commit hash), or None when the cache does not hold it."""
    folder = repo_folder(cache, repo_id)
    commit = revision
    if not _COMMIT.match(revision):
        ref = folder / "refs" / revision
        if not ref.is_file():
            return None
        commit = ref.read_text(encoding="utf-8").strip()
    snapshot = folder / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def has_weights(folder: Path) -> bool:
    """Whether ``folder`` holds weights the loader reads (a link whose blob is gone does not
    count)."""
    return any((folder / name).is_file() for name in _WEIGHT_FILES) or any(
        p.is_file() for p in folder.glob("*.index")
    )


def resolve_model_dir(value: str | os.PathLike[str], flag: str = "--model_dir") -> Path:
    """The folder to load: ``value`` itself when it is a directory, else the cached (or freshly
    downloaded) snapshot of the Hub model or preset it names. HubModelError otherwise."""
    path = Path(value)
    if path.is_dir():
        return path
    text = str(value)
    named = parse_model_name(text)
    if named is None:
        raise HubModelError(
            f"{flag} {text} is not a directory, a Hugging Face model id (owner/name"
            "[@revision]) or a preset name (docs/model_zoo.md)"
        )
    if isinstance(named, Preset):
        raise HubModelError(
            f"{flag} {text}: preset {named.name} is not on the Hugging Face Hub; download its "
            f"release (docs/model_zoo.md) and pass the folder ({named.folder}/)"
        )
    label = text if named.preset is None else f"{text} ({named.repo_ids[0]})"
    cache = hub_cache_dir()
    partial = None
    for repo_id in named.repo_ids:
        snapshot = cached_snapshot(cache, repo_id, named.revision)
        if snapshot is not None and has_weights(snapshot):
            logger.info("%s %s: Hugging Face cache %s", flag, label, snapshot)
            return snapshot
        partial = partial or snapshot
    where = partial or repo_folder(cache, named.repo_ids[0])
    missing = "holds no weights" if partial else "is not in the Hugging Face cache"
    if hub_offline():
        raise HubModelError(
            f"{flag} {label}: not a folder, and the model {missing} at {where}; get it with "
            f"`hf download {_with_revision(named)}` (or set HF_HUB_OFFLINE=0 to let this command "
            "download it)"
        )
    snapshot = _download(
        named, cache, f"{flag} {label}: not a folder, and the model {missing} at {where}"
    )
    logger.info("%s %s: downloaded from the Hugging Face Hub into %s", flag, label, snapshot)
    return snapshot


def _with_revision(named: HubModel) -> str:
    repo = named.repo_ids[0]
    return repo if named.revision == "main" else f"{repo} --revision {named.revision}"


def _download(named: HubModel, cache: Path, context: str) -> Path:
    """Fetches only the files the loader reads into ``cache``, safetensors in preference to a
    pytorch_model.bin (never both)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise HubModelError(
            f"{context}; downloading it needs huggingface_hub: pip install huggingface_hub "
            "(or fetch it elsewhere and copy the cache)"
        ) from None
    snapshot = None
    for patterns in _DOWNLOAD_STAGES:
        try:
            snapshot = Path(
                snapshot_download(
                    named.repo_ids[0],
                    revision=named.revision,
                    cache_dir=cache,
                    allow_patterns=list(patterns),
                )
            )
        except Exception as err:  # not found, gated, no network...: one line for the user
            raise HubModelError(f"{context}, and downloading it failed: {_one_line(err)}") from None
        if has_weights(snapshot):
            return snapshot
    present = ", ".join(sorted(p.name for p in _entries(snapshot))) or "nothing"
    raise HubModelError(
        f"{context}, and {named.repo_ids[0]} on the Hub has no weights this loader reads "
        f"(model.safetensors, pytorch_model.bin or a TF1 checkpoint); downloaded: {present}"
    )


def _entries(folder: Path | None) -> Iterable[Path]:
    return folder.iterdir() if folder is not None and folder.is_dir() else ()


def _one_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")
