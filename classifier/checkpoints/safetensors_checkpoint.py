"""Reading and writing Hugging Face safetensors files with numpy only (no torch).

model.safetensors, or model.safetensors.index.json with its shards. Half-precision tensors are
read as float32; bfloat16, which numpy lacks, is widened bit-exactly from its raw bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from classifier.checkpoints.tf1_checkpoint import DamagedCheckpointError

INDEX_SUFFIX = ".index.json"


class SafetensorsCheckpoint(Mapping):
    """Lazy name -> float32/int numpy array view of one safetensors file or a sharded index."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.name.endswith(INDEX_SUFFIX):
            try:
                index = json.loads(self.path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise DamagedCheckpointError(
                    f"{self.path}: not a readable shard index ({err}); it is truncated or "
                    "damaged, download or copy it again"
                ) from None
            try:
                weight_map = index["weight_map"]
            except (KeyError, TypeError):
                raise FileNotFoundError(f"{self.path}: no weight_map in this index") from None
            self._file_of = {name: self.path.parent / shard for name, shard in weight_map.items()}
        else:
            self._file_of = {name: self.path for name in _header(self.path)}
        for shard in set(self._file_of.values()):
            if not shard.is_file():
                raise FileNotFoundError(f"{self.path}: shard {shard} is missing")

    def __getitem__(self, name: str) -> np.ndarray:
        shard = self._file_of[name]
        try:
            info = _header(shard)[name]
            if info["dtype"] == "BF16":
                return _read_bfloat16(shard, info)
            with safe_open(str(shard), framework="numpy") as f:
                value = f.get_tensor(name)
        except KeyError:
            raise
        except Exception as err:  # safetensors raises its own error types
            raise DamagedCheckpointError(
                f"{shard}: tensor {name} cannot be read ({type(err).__name__}: {err}); the file "
                "is truncated or damaged, download or copy it again"
            ) from None
        return value.astype(np.float32) if value.dtype == np.float16 else value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._file_of))

    def __len__(self) -> int:
        return len(self._file_of)


def _header(path: Path) -> dict[str, dict]:
    with open(path, "rb") as f:
        try:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        except (struct.error, ValueError) as err:
            raise DamagedCheckpointError(
                f"{path}: not a readable safetensors file ({err}); it is truncated or damaged, "
                "download or copy it again"
            ) from None
    if not isinstance(header, dict) or not all(isinstance(v, dict) for v in header.values()):
        raise DamagedCheckpointError(
            f"{path}: its safetensors header is not a table of tensors; the file is damaged"
        )
    header.pop("__metadata__", None)
    return header


def _read_bfloat16(path: Path, info: dict) -> np.ndarray:
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        start, end = info["data_offsets"]
        f.seek(8 + size + start)
        raw = np.frombuffer(f.read(end - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])


def write_safetensors(path: str | Path, tensors: Mapping[str, np.ndarray]) -> Path:
    """Writes ``tensors`` as transformers' save_pretrained does (metadata format=pt)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    save_file(arrays, str(path), metadata={"format": "pt"})
    return path


def write_sharded_safetensors(
    folder: str | Path, tensors: Mapping[str, np.ndarray], num_shards: int
) -> Path:
    """model-0000k-of-0000n.safetensors plus model.safetensors.index.json, as large models ship."""
    folder = Path(folder)
    names = sorted(tensors)
    weight_map, total = {}, 0
    for k in range(num_shards):
        shard = f"model-{k + 1:05d}-of-{num_shards:05d}.safetensors"
        part = {name: tensors[name] for name in names[k::num_shards]}
        write_safetensors(folder / shard, part)
        weight_map.update(dict.fromkeys(part, shard))
        total += sum(np.asarray(v).nbytes for v in part.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    path = folder / f"model.safetensors{INDEX_SUFFIX}"
    path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
