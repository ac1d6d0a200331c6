"""Finding the config, vocab and weights inside a downloaded checkpoint folder.

Real downloads name their files differently (bert_config.json, albert_config.json,
albert_config_tiny.json, macbert_base_config.json, config.json; vocab.txt, vocab_chinese.txt;
bert_model.ckpt.*, albert_model.ckpt.*, model.ckpt-best.*, chinese_macbert_base.ckpt.*,
model.safetensors, pytorch_model.bin). A release unpacked into a single subfolder (Google's
albert_base_zh.tar.gz holds albert_base/) is looked into. Explicit paths from the command line
always win over what is found. A --model_dir that is no folder but a Hugging Face model id
(owner/name) or a preset's name is the model's snapshot in the Hugging Face cache (hub_cache).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from classifier.checkpoints.hub_cache import HubModelError, resolve_model_dir

TF1 = "tf1"
HF_SAFETENSORS = "hf_safetensors"
HF_PYTORCH_BIN = "hf_pytorch_bin"

_PREFERRED_PREFIXES = ("bert_model.ckpt", "albert_model.ckpt", "model.ckpt-best", "model.ckpt")
# JSON files that Hugging Face folders ship beside config.json and that describe no model.
_NOT_MODEL_CONFIGS = ("tokenizer_config.json", "generation_config.json", "preprocessor_config.json")


class ModelFilesError(FileNotFoundError):
    """A model folder or path that does not hold what a backbone needs."""


@dataclass(frozen=True)
class ModelFiles:
    config_file: Path
    vocab_file: Path | None  # vocab.txt (or tokenizer.json); None where none was required
    checkpoint: Path  # a TF1 prefix (no suffix) or a weights file
    weights_format: str  # TF1 | HF_SAFETENSORS | HF_PYTORCH_BIN

    @property
    def config_is_hf(self) -> bool:
        return self.config_file.name == "config.json"


def find_model_files(
    model_dir: str | Path | None = None,
    *,
    config_file: str | Path | None = None,
    vocab_file: str | Path | None = None,
    init_checkpoint: str | Path | None = None,
    require_vocab: bool = True,
    model_dir_flag: str = "--model_dir",
) -> ModelFiles:
    """Resolves the three inputs of a backbone from a folder and/or explicit paths.

    ``model_dir`` may also name a Hugging Face model or a preset (see hub_cache); errors name
    it as ``model_dir_flag``. A backbone needs no vocab: with ``require_vocab`` False a folder
    without one still loads (vocab_file None)."""
    folder = None
    if model_dir:
        try:
            folder = _release_folder(resolve_model_dir(model_dir, model_dir_flag))
        except HubModelError as err:
            raise ModelFilesError(str(err)) from None
    checkpoint, weights_format = _find_checkpoint(folder, init_checkpoint)
    search = [folder] if folder else []
    if checkpoint.parent not in search:
        search.append(checkpoint.parent)
    config = Path(config_file) if config_file else _find_config(search)
    vocab = Path(vocab_file) if vocab_file else _find_vocab(search, require_vocab)
    for label, path in (("config", config), ("vocab", vocab)):
        if path is not None and not path.is_file():
            raise ModelFilesError(f"{label} file {path} does not exist")
    return ModelFiles(config, vocab, checkpoint, weights_format)


def _release_folder(folder: Path) -> Path:
    """``folder``, or its only subfolder when ``folder`` itself holds no model files."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if any(p.is_file() for p in entries):
        return folder
    subfolders = [p for p in entries if p.is_dir()]
    return subfolders[0] if len(subfolders) == 1 else folder


def _find_config(folders: list[Path]) -> Path:
    for folder in folders:
        for name in ("bert_config.json", "albert_config.json", "config.json"):
            if (folder / name).is_file():
                return folder / name
        found = [
            p for p in sorted(folder.glob("*config*.json")) if p.name not in _NOT_MODEL_CONFIGS
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ModelFilesError(
                f"{folder}: several config files ({', '.join(p.name for p in found)}); "
                "choose one with --bert_config_file"
            )
    raise ModelFilesError(
        f"no model config (bert_config.json, albert_config*.json or config.json) in "
        f"{', '.join(map(str, folders))}; pass --bert_config_file"
    )


def _find_vocab(folders: list[Path], required: bool = True) -> Path | None:
    for folder in folders:
        for name in ("vocab.txt", "vocab_chinese.txt"):
            if (folder / name).is_file():
                return folder / name
        found = sorted(folder.glob("*vocab*.txt"))
        if len(found) == 1:
            return found[0]
    for folder in folders:  # Hugging Face folders may ship only the tokenizers file
        if (folder / "tokenizer.json").is_file():
            return folder / "tokenizer.json"
    if not required:
        return None
    raise ModelFilesError(
        f"no vocab.txt (or tokenizer.json) in {', '.join(map(str, folders))}; pass --vocab_file"
    )


def _find_checkpoint(folder: Path | None, init_checkpoint: str | Path | None) -> tuple[Path, str]:
    if init_checkpoint:
        path = Path(init_checkpoint)
        if path.is_dir():
            return _checkpoint_in(path)
        if path.is_file() and path.name.endswith((".safetensors", ".safetensors.index.json")):
            return path, HF_SAFETENSORS
        if path.is_file() and path.name.endswith((".bin", ".pt", ".pth", ".bin.index.json")):
            return path, HF_PYTORCH_BIN
        if path.name.endswith(".index") and path.is_file():
            return path.with_name(path.name[: -len(".index")]), TF1
        if Path(f"{path}.index").is_file():
            return path, TF1
        raise ModelFilesError(
            f"--init_checkpoint {path}: expected a TF1 prefix with {path}.index beside it, a "
            ".safetensors file, or a folder holding one"
        )
    if folder is None:
        raise ModelFilesError("give --model_dir or --init_checkpoint")
    return _checkpoint_in(folder)


def _checkpoint_in(folder: Path) -> tuple[Path, str]:
    prefixes = sorted(p.with_name(p.name[: -len(".index")]) for p in folder.glob("*.index"))
    if prefixes:
        return _pick_prefix(folder, prefixes), TF1
    if (folder / "model.safetensors").is_file():
        return folder / "model.safetensors", HF_SAFETENSORS
    if (folder / "model.safetensors.index.json").is_file():
        return folder / "model.safetensors.index.json", HF_SAFETENSORS
    for name in ("pytorch_model.bin", "pytorch_model.bin.index.json"):
        if (folder / name).is_file():
            return folder / name, HF_PYTORCH_BIN
    present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
    for name in ("tf_model.h5", "flax_model.msgpack"):
        if (folder / name).is_file():
            raise ModelFilesError(
                f"{folder}: {name} (Hugging Face's TensorFlow 2 / Flax weights) is not supported; "
                "use the model.safetensors or pytorch_model.bin from the same Hub repository "
                "(with --allow_pytorch_pickle), or the TF1 checkpoint of the release"
            )
    raise ModelFilesError(
        f"{folder}: no checkpoint found (looked for *.ckpt*.index, model.safetensors, "
        f"pytorch_model.bin); the folder holds: {present}"
    )


def _pick_prefix(folder: Path, prefixes: list[Path]) -> Path:
    if len(prefixes) == 1:
        return prefixes[0]
    state = folder / "checkpoint"
    if state.is_file():
        match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', state.read_text(), re.M)
        if match:
            named = Path(match.group(1))
            return named if named.is_absolute() else folder / named
    by_name = {p.name: p for p in prefixes}
    for name in _PREFERRED_PREFIXES:
        if name in by_name:
            return by_name[name]

    def step(p: Path) -> int:
        match = re.search(r"-(\d+)$", p.name)
        return int(match.group(1)) if match else -1

    return max(prefixes, key=step)
