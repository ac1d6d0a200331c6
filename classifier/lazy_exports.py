"""A package's public names resolved on first use (PEP 562), so importing the package, or a
light module inside it, does not load TensorFlow: a command's --help stays instant."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports_on_first_use(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
