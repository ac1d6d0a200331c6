"""Quiet start-up for every command: TensorFlow's C++ start-up lines (absl's "All log messages
before absl::InitializeLog()", oneDNN, the CUDA probe and its ``failed call to cuInit`` on a
machine without a GPU) and third-party deprecation warnings are not shown unless debugging is
asked for (``--verbose``, ``--verbosity=debug`` or ZH_TEXTCLF_LOG=debug).

TF_CPP_MIN_LOG_LEVEL does not reach those lines: absl writes them straight to file descriptor 2
while TensorFlow loads and when it first looks for devices. So the first ``import tensorflow``
of a command (wherever it happens) runs with descriptor 2 pointed at /dev/null, followed by the
device probe; Python errors raised meanwhile still reach the user (they are printed after the
descriptor is restored). Installed by scripts/__init__.py, before any command module loads.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

LOG_ENV = "ZH_TEXTCLF_LOG"
DEBUG_FLAGS = ("--verbose", "--verbose=true", "--verbose=True", "--verbosity=debug")
QUIET_WARNINGS = (
    r"pkg_resources is deprecated",  # jieba, apache-beam
    r"Deprecated call to `pkg_resources",
)


def debug_requested(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether this command was asked to show everything."""
    if environ.get(LOG_ENV, "").lower() == "debug":
        return True
    for i, arg in enumerate(argv):
        if arg in DEBUG_FLAGS:
            return True
        if arg == "--verbosity" and i + 1 < len(argv) and argv[i + 1] == "debug":
            return True
    return False


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null inside (C++ writes included); restored however it ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual, but loads it (and probes devices) with stderr silenced."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and the real finders do the finding
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            with stderr_silenced():
                load(module)
                module.config.list_physical_devices()  # the CUDA probe happens here

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def quiet_startup(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None):
    """Installs the quiet start-up unless debugging was asked for; idempotent."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    if debug_requested(argv, environ):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own INFO/WARNING lines
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())
