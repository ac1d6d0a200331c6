"""Value parsers for command-line flags (plain Python: importing this loads no TensorFlow)."""

from __future__ import annotations

import argparse


def str2bool(value: str | bool) -> bool:
    """absl-style booleans: --flag, --flag=true, --flag=false (yes/no, 1/0 too)."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "t", "yes", "y"):
        return True
    if lowered in ("0", "false", "f", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {value!r}")


def int_list(text: str) -> list[int]:
    """ "0,5,11" -> [0, 5, 11]."""
    return [int(part) for part in text.split(",") if part.strip()]


def str_list(text: str) -> list[str]:
    """ "a, b,c" -> ["a", "b", "c"]."""
    return [part.strip() for part in text.split(",") if part.strip()]
