"""What the CPU offers for bfloat16, read from /proc/cpuinfo (plain Python: no TensorFlow).

Training's --bf16 warns on a CPU that would only emulate bfloat16; ``--dtype=auto`` (export.sh,
predict.sh, serve.sh) picks bfloat16 only where the CPU has AMX, the matrix units that make it
pay at batch 1 (benchmarks/RESULTS.md, "The ONNX export").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The first processor's feature flags (empty where /proc/cpuinfo is missing: not Linux)."""
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def has_amx_bf16() -> bool:
    """AMX with bfloat16 tiles (Intel Sapphire Rapids and later)."""
    return "amx_bf16" in cpu_flags()


def has_native_bf16() -> bool:
    """Any bfloat16 arithmetic in hardware: AMX or AVX512-BF16."""
    return has_amx_bf16() or "avx512_bf16" in cpu_flags()
