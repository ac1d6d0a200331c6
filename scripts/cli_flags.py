"""Flag parsing shared by the command-line entry points (absl-style booleans included)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from classifier.flag_types import str2bool


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    """``--flag``, ``--flag=true`` and ``--flag=false`` all work, as with absl flags."""
    parser.add_argument(
        f"--{name}", type=str2bool, nargs="?", const=True, default=default, help=help
    )


def env_default(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("absl", "tensorflow", "h5py", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
