"""pytorch_model.bin: a pickle, so read only on the user's explicit request and only with torch.

Unpickling can run code; safetensors cannot. The loader refuses a .bin unless the caller passes
allow_pickle=True (train.sh --allow_pytorch_pickle), and even then unpickles with torch's
weights_only loader, which admits tensors and plain containers only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from classifier.checkpoints.tf1_checkpoint import DamagedCheckpointError

CONVERT_HINT = (
    "Convert it once to safetensors, e.g.\n"
    "  scripts/convert_checkpoint.sh --input_dir {folder} --output_dir {folder}_safetensors "
    "--to hf --allow_pytorch_pickle\n"
    "or, with transformers: AutoModel.from_pretrained('{folder}')"
    ".save_pretrained('{folder}_safetensors', safe_serialization=True) and copy vocab.txt;\n"
    "or pass --allow_pytorch_pickle to train.sh if you trust the file."
)


class PickleNotAllowedError(ValueError):
    """A pytorch_model.bin met without the user's opt-in (or without torch)."""


def read_pytorch_bin(path: str | Path, allow_pickle: bool) -> dict[str, np.ndarray]:
    """All tensors of pytorch_model.bin (or its .index.json shards) as float32/int numpy arrays."""
    path = Path(path)
    if not allow_pickle:
        raise PickleNotAllowedError(
            f"{path} is a PyTorch pickle, which can run arbitrary code when loaded, so it is not "
            f"read by default. {CONVERT_HINT.format(folder=path.parent)}"
        )
    try:
        import torch
    except ImportError:
        raise PickleNotAllowedError(
            f"{path} needs PyTorch to be read, and torch is not installed (pip install torch, "
            "CPU build is enough), or convert the file to safetensors where torch is available."
        ) from None
    if path.name.endswith(".index.json"):
        weight_map = json.loads(path.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    else:
        shards = [path.name]
    tensors: dict[str, np.ndarray] = {}
    for shard in shards:
        try:
            state = torch.load(path.parent / shard, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
            raise DamagedCheckpointError(
                f"{path.parent / shard} cannot be read as a PyTorch state dict "
                f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); the "
                "file is truncated or damaged, download or copy it again"
            ) from None
        for name, value in state.items():
            if value.is_floating_point():
                value = value.float()
            tensors[name] = value.numpy()
    return tensors
