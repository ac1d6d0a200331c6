"""Value parsers for command-line flags (plain Python: importing this loads no TensorFlow)."""

from __future__ import annotations

import argparse
import math


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


def number(
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
):
    """An argparse ``type`` for a finite ``kind`` (int or float) within [low, high] (an end
    is open with ``low_open`` / ``high_open``; None: unbounded). NaN and infinity are refused,
    so ``--learning_rate=inf`` stops at the command line, naming the flag, before anything runs.
    """
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    what = ("an integer" if kind is int else "a finite number") + (
        f" {' and '.join(bounds)}" if bounds else ""
    )

    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    parse.accepts = what  # what the flag docs show
    parse.bounds = " and ".join(bounds)  # what --help shows
    return parse


positive_int = number(int, 1)
non_negative_int = number(int, 0)
positive_float = number(float, 0, low_open=True)
non_negative_float = number(float, 0)
probability = number(float, 0, 1)  # [0, 1]


def pos_weight_value(text: str) -> str | float:
    """--pos_weight: "balanced" or one positive number."""
    if text.strip().lower() == "balanced":
        return "balanced"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'balanced' or a positive number, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def layer_list(text: str) -> tuple[int, ...]:
    """ "3,7,11" -> (3, 7, 11) (teacher layers, 0-based)."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer numbers such as 3,7,11, got {text!r}"
        ) from None


layer_list.accepts = "comma-separated layer numbers"  # type: ignore[attr-defined]
